/**
 * Every engine access of `vipwasm forward --workers N`, in one place (issue 14, part 2).
 *
 * The design: one engine state for all workers, as IPVS has one connection table for all CPUs.
 * Main holds the leader engine (loads, applies changes, expires); each worker attaches a follower
 * to the leader's shared Wasm memory (host/engine/shared.ts: `loadSharedEngine`,
 * `attachSharedEngine`, `releaseWorkerLock`) and decides connections on the shared flows, ClientIP
 * affinity and lc/wlc/sed/nq counters.
 *
 * Until the shared engine lands, this module gives each worker an engine of its own, fed the same
 * model in the same order as the leader (so every worker decides with the same Service ports and
 * schedulers, but flows, affinity and counters are per worker, and the leader's stay empty).
 * Switching is this module alone (test/forwarder/workers-shared-state.test.ts is what then must
 * pass): `SHARED_ENGINE = true`; `EngineHandle` carries the `SharedEngineHandle`;
 * `loadLeaderEngine` calls `loadSharedEngine(options)`; `attachWorkerEngine` calls
 * `attachSharedEngine(handle.shared, workerId)`, wraps the follower in RecordingEngine, and maps
 * `useModel` / `dropModelsBefore` onto the follower's (no expiry timer: main expires);
 * `releaseWorkerLock` calls the shared one.
 *
 * Note for that switch: `applyChanges` leaves the leader's service ports in the engine's order
 * (a delta swap-removes; docs/snapshot.md), which the model posted to workers before the apply
 * does not have; decisions index into the model, so the follower must index the model the leader
 * serves in the leader's order (or the handshake must carry that order).
 */
import type { EngineApi, EngineOptions } from '../../engine/api.js';
import type { ServiceModel } from '../../engine/model.js';
import { loadEngine } from '../../engine/node.js';
import { ServiceChangeTracker } from '../../model/change-tracker.js';
import type { FlowRegistry } from './flow-registry.js';
import { RecordingEngine } from './recording-engine.js';

/** Whether the workers share the leader's engine state (host/engine/shared.ts). */
export const SHARED_ENGINE = false;

/**
 * What a worker needs to reach the leader's engine; structured-cloneable (it goes in workerData).
 * `epoch` is main's `performance.timeOrigin`: every thread's engine clock counts from it, so the
 * times of one shared flow table agree whichever thread wrote them.
 */
export interface EngineHandle {
  readonly options: EngineOptions;
  readonly epoch: number;
}

/** Milliseconds on the engine's clock in this thread (main: its own performance.now()). */
export function engineClock(epoch: number): () => number {
  const offset = performance.timeOrigin - epoch;
  return () => offset + performance.now();
}

/** Main thread: the leader engine and the handle workers attach with. */
export async function loadLeaderEngine(options: EngineOptions): Promise<{ engine: EngineApi; handle: EngineHandle }> {
  const engine = await loadEngine(options);
  return { engine, handle: { options, epoch: performance.timeOrigin } };
}

/** A worker's side of the engine. */
export interface WorkerEngine {
  /** What the data path calls: the engine, with the flows it opens recorded in `registry`. */
  readonly engine: EngineApi;
  /** The model the leader serves as `generation` (posted before the leader applies it). Throws when refused. */
  useModel(generation: number, model: ServiceModel): void;
  /** The leader serves `generation` now: older models can go. */
  dropModelsBefore(generation: number): void;
  close(): void;
}

/** In a worker: attach to the leader's engine as worker `workerId` (1..255). */
export async function attachWorkerEngine(handle: EngineHandle, workerId: number, registry: FlowRegistry, expireIntervalMs = 1000): Promise<WorkerEngine> {
  if (!Number.isInteger(workerId) || workerId < 1 || workerId > 255) throw new Error(`worker id ${workerId} is not 1..255`);
  const own = await loadEngine(handle.options);
  const now = engineClock(handle.epoch);
  let tracker = new ServiceChangeTracker();
  // An engine of its own has to expire its own tables (the shared one is expired by main only).
  const expiry = setInterval(() => own.expire(now()), expireIntervalMs);
  expiry.unref();
  return {
    engine: new RecordingEngine(own, registry),
    useModel(_generation, model) {
      try {
        own.applyChanges(tracker.update(model));
      } catch (err) {
        tracker = new ServiceChangeTracker();
        throw err;
      }
    },
    dropModelsBefore() {
      // One model at a time in an engine of its own.
    },
    close() {
      clearInterval(expiry);
    },
  };
}

/** Main thread, after worker `workerId` died: frees the shared engine's lock if that worker held it. */
export function releaseWorkerLock(_handle: EngineHandle, _workerId: number): void {
  // No shared engine, no shared lock yet.
}
