/**
 * The common shape of every object source (files, API server): a current set of Kubernetes
 * objects, source-level problems, and change notifications. Consumers build a ModelResult from
 * `objects` (see ./model-feed.ts, which also tracks what changed).
 */
import type { Diagnostic, KubeObject } from '../model/index.js';

export interface SourceSnapshot {
  /** The last good objects: a broken file or a lost connection never empties them. */
  readonly objects: readonly KubeObject[];
  /** Current source-level problems (parse errors, disconnects); cleared when they recover. */
  readonly diagnostics: readonly Diagnostic[];
  /** Increments whenever `objects` changes. */
  readonly revision: number;
  /** Everything read cleanly (all files parse; API server synced and connected). */
  readonly healthy: boolean;
}

export type SourceListener = (snapshot: SourceSnapshot) => void;

export interface Source {
  /** Load or sync once; resolves with the first complete snapshot. Rejects only on fatal setup errors. */
  start(): Promise<SourceSnapshot>;
  /** Called after start() whenever objects or diagnostics change. Returns an unsubscribe function. */
  subscribe(listener: SourceListener): () => void;
  readonly current: SourceSnapshot;
  /** Stop watching; idempotent. */
  close(): Promise<void>;
}

/** Listener bookkeeping shared by the sources. */
export class SourceListeners {
  private readonly listeners = new Set<SourceListener>();
  add(l: SourceListener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }
  emit(s: SourceSnapshot): void {
    for (const l of [...this.listeners]) l(s);
  }
}

export const EMPTY_SNAPSHOT: SourceSnapshot = { objects: [], diagnostics: [], revision: 0, healthy: false };
