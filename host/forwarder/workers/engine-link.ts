/**
 * Every engine access of `vipwasm forward --workers N`, in one place (issue 14, part 2).
 *
 * One engine state for all workers, as IPVS has one connection table for all CPUs: main holds
 * the leader engine (loads, applies changes, expires) over a shared Wasm memory, and each worker
 * attaches to it (host/engine/shared.ts) and decides connections on the shared flows, ClientIP
 * affinity and lc/wlc/sed/nq counters, under the engine's lock (engine/lock.ts). The leader's
 * `planChanges` gives the model of the next generation (in the engine's service-port order)
 * before it is applied; the pool posts that to the workers (worker-pool.ts), and each decision
 * reads the model of the generation it was made in.
 */
import type { EngineApi, EngineOptions } from '../../engine/api.js';
import type { Engine } from '../../engine/engine.js';
import type { ServiceModel } from '../../engine/model.js';
import { attachSharedEngine, loadSharedEngine, releaseWorkerLock as releaseLock, type SharedEngineHandle } from '../../engine/shared.js';
import type { FlowRegistry } from './flow-registry.js';
import { RecordingEngine } from './recording-engine.js';

/** Whether the workers share the leader's engine state (host/engine/shared.ts). */
export const SHARED_ENGINE = true;

/**
 * What a worker needs to reach the leader's engine; structured-cloneable (it goes in workerData).
 * `epoch` is main's `performance.timeOrigin`: every thread's engine clock counts from it, so the
 * times of one shared flow table agree whichever thread wrote them.
 */
export interface EngineHandle {
  readonly shared: SharedEngineHandle;
  readonly epoch: number;
}

/** Milliseconds on the engine's clock in this thread (main: its own performance.now()). */
export function engineClock(epoch: number): () => number {
  const offset = performance.timeOrigin - epoch;
  return () => offset + performance.now();
}

/** Main thread: the leader engine and the handle workers attach with. */
export async function loadLeaderEngine(options: EngineOptions): Promise<{ engine: Engine; handle: EngineHandle }> {
  const { engine, handle } = await loadSharedEngine(options);
  return { engine, handle: { shared: handle, epoch: performance.timeOrigin } };
}

/** A worker's side of the engine. */
export interface WorkerEngine {
  /** What the data path calls: the engine, with the flows it opens recorded in `registry`. */
  readonly engine: EngineApi;
  /** The model the leader serves as `generation` (posted before the leader applies it). */
  useModel(generation: number, model: ServiceModel): void;
  /** The leader serves `generation` now: older models can go. */
  dropModelsBefore(generation: number): void;
  close(): void;
}

/** In a worker: attach to the leader's engine as worker `workerId` (1..255); main expires, so no timer here. */
export async function attachWorkerEngine(handle: EngineHandle, workerId: number, registry: FlowRegistry): Promise<WorkerEngine> {
  const follower = await attachSharedEngine(handle.shared, workerId);
  return {
    engine: new RecordingEngine(follower, registry),
    useModel: (generation, model) => follower.useModel(generation, model),
    dropModelsBefore: (generation) => follower.dropModelsBefore(generation),
    close() {
      // The state is the leader's: nothing of it is this worker's to free.
    },
  };
}

/** Main thread, after worker `workerId` died: frees the shared engine's lock if that worker held it. */
export function releaseWorkerLock(leader: Engine, workerId: number): boolean {
  return releaseLock(leader, workerId);
}
