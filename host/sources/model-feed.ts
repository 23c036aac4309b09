/**
 * A Source turned into a stream of ModelResults: every new snapshot is rebuilt into a model and
 * passed through a ServiceChangeTracker, so consumers (forwarder, `rules --watch`) get the model
 * plus the list of changed service ports, and no-op updates are dropped. An edit that makes an
 * accepted object invalid is refused as the API server would refuse it (./refused-updates.ts).
 */
import {
  type Diagnostic, type ModelOptions, type ModelResult, type ServiceChanges, ServiceChangeTracker, isEmpty,
} from '../model/index.js';
import { createHash } from 'node:crypto';
import { RefusedUpdates } from './refused-updates.js';
import type { Source, SourceSnapshot } from './source.js';

export interface ModelUpdate {
  readonly result: ModelResult;
  readonly changes: ServiceChanges;
  /** Problems of the source itself (parse errors, API outages); the model keeps the last good objects. */
  readonly sourceDiagnostics: readonly Diagnostic[];
  readonly snapshot: SourceSnapshot;
}

export type LatestModel = Omit<ModelUpdate, 'changes'>;

export class ModelFeed {
  private readonly tracker = new ServiceChangeTracker();
  /** An edit that makes an accepted object invalid is refused, as the API server refuses it. */
  private readonly refusals: RefusedUpdates;
  private readonly listeners = new Map<(u: ModelUpdate) => void, ((err: Error) => void) | undefined>();
  private unsubscribe: (() => void) | undefined;
  private lastRevision = -1;
  private lastDiagnostics = '';
  /**
   * What consumers see besides the model (the `get` views and every diagnostic), as a digest: the
   * JSON itself is tens of MB at 10k Services, and only equality matters.
   */
  private lastViews = '';
  /**
   * The last update without its `changes`, whose `previous` model would otherwise stay alive
   * (a second model's worth of memory) until the next update.
   */
  latest: LatestModel | undefined;

  constructor(
    readonly source: Source,
    options: ModelOptions,
  ) {
    this.refusals = new RefusedUpdates(options);
  }

  async start(): Promise<ModelUpdate> {
    const first = await this.source.start();
    const update = this.build(first)!;
    this.unsubscribe = this.source.subscribe((s) => {
      let u: ModelUpdate | undefined;
      try {
        u = this.build(s);
      } catch (err) {
        // The last good update stays `latest`; consumers keep serving it.
        for (const onError of [...this.listeners.values()]) onError?.(err as Error);
        return;
      }
      if (u) for (const l of [...this.listeners.keys()]) l(u);
    });
    return update;
  }

  /**
   * Called for each update whose model changed or whose source problems changed (`changes` is
   * empty for the latter); `onError` when a snapshot could not be built into a model.
   */
  subscribe(listener: (u: ModelUpdate) => void, onError?: (err: Error) => void): () => void {
    this.listeners.set(listener, onError);
    return () => this.listeners.delete(listener);
  }

  private build(snapshot: SourceSnapshot): ModelUpdate | undefined {
    const diagKey = JSON.stringify(snapshot.diagnostics);
    if (snapshot.revision === this.lastRevision && diagKey === this.lastDiagnostics) return undefined;
    const objectsChanged = snapshot.revision !== this.lastRevision;
    this.lastRevision = snapshot.revision;
    this.lastDiagnostics = diagKey;
    const result = objectsChanged || !this.latest ? this.refusals.build(snapshot.objects) : this.latest.result;
    const changes = this.tracker.update(result);
    const views = createHash('sha256').update(JSON.stringify([result.services, result.discovery, result.diagnostics, snapshot.diagnostics])).digest('base64');
    // A no-op: objects changed in ways nothing downstream sees (an ignored kind, a Pod label no
    // selector uses, a reformatted file), or the same problems again.
    if (this.latest && isEmpty(changes) && views === this.lastViews) return undefined;
    this.lastViews = views;
    this.latest = { result, sourceDiagnostics: snapshot.diagnostics, snapshot };
    return { ...this.latest, changes };
  }

  async close(): Promise<void> {
    this.unsubscribe?.();
    await this.source.close();
  }
}
