/**
 * The messages between main (the control plane) and its worker threads (the data plane). Every
 * request carries a `seq` its reply echoes; worker-initiated messages have none.
 */
import type { Registry } from 'prom-client';
import type { ServiceModel } from '../../engine/model.js';
import type { DataPathOptions } from '../context.js';
import type { PlannedListener } from '../listen-plan.js';
import type { BindFailure } from '../listeners.js';
import type { EngineHandle } from './engine-link.js';

/** workerData of every worker. */
export interface WorkerSetup {
  readonly workerId: number;
  readonly handle: EngineHandle;
  /** The worker's FlowRegistry (flow-registry.ts). */
  readonly flows: SharedArrayBuffer;
  readonly dataPath: DataPathOptions;
  /** --eject-duration: a worker skips a backend it saw fail on its own retries this long. */
  readonly ejectMs: number;
  readonly logLevel: string;
}

export type ToWorker =
  /** Decide with this model from `generation` on (reply: ack, or error when the engine refuses it). */
  | { readonly type: 'model'; readonly seq: number; readonly generation: number; readonly model: ServiceModel }
  /** The leader serves `generation` now: drop older models. No reply. */
  | { readonly type: 'serving'; readonly generation: number }
  /** Bind exactly these listeners (reply: bind failures and bound keys). */
  | { readonly type: 'listeners'; readonly seq: number; readonly listeners: readonly PlannedListener[] }
  /** Reply with the data path's metrics (prom-client JSON) and open connections. */
  | { readonly type: 'metrics'; readonly seq: number }
  /** Stop accepting, let connections finish for `graceMs`, cut the rest (reply: how many were cut). */
  | { readonly type: 'drain'; readonly seq: number; readonly graceMs: number }
  /** Close everything and exit. */
  | { readonly type: 'close' }
  /** Tests only: exit at once with code 1, as a crash would. */
  | { readonly type: 'crash' }
  /** Tests only: block the event loop for `ms`, as a stuck worker would. */
  | { readonly type: 'hang'; readonly ms: number };

/** prom-client's `getMetricsAsJSON()` (plain objects: structured-cloneable). */
export type WorkerMetrics = Awaited<ReturnType<Registry['getMetricsAsJSON']>>;

export type FromWorker =
  /** Attached to the engine; ready for its first model. */
  | { readonly type: 'ready' }
  /** A backend refused or timed out on this worker: main owns ejections. */
  | { readonly type: 'backendFailed'; readonly key: string }
  | { readonly type: 'reply'; readonly seq: number; readonly error?: string; readonly body?: WorkerReply };

export type WorkerReply =
  | { readonly kind: 'listeners'; readonly bindFailures: BindFailure[]; readonly keys: string[]; readonly open: number }
  | { readonly kind: 'metrics'; readonly metrics: WorkerMetrics; readonly open: number }
  | { readonly kind: 'drained'; readonly aborted: number }
  | { readonly kind: 'ack' };
