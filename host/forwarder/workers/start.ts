/**
 * The engine and serving plane for a worker count: one worker runs today's single-threaded
 * forwarder (no threads at all); more start a WorkerPool over the leader engine.
 */
import type { EngineApi, EngineOptions } from '../../engine/api.js';
import { loadEngine } from '../../engine/node.js';
import type { DataPathContext } from '../context.js';
import type { ServingPlane } from '../data-plane.js';
import { loadLeaderEngine } from './engine-link.js';
import { WorkerPool } from './worker-pool.js';
import type { WorkerPoolOptions } from './worker-pool.js';

export interface ForwarderEngine {
  readonly engine: EngineApi;
  /** For ForwarderOptions.plane; undefined with one worker. */
  readonly plane?: (ctx: DataPathContext) => ServingPlane;
  /** The pool once the forwarder built it (null with one worker). */
  pool(): WorkerPool | null;
}

export async function startForwarderEngine(
  engineOptions: EngineOptions,
  workers: number,
  pool: Omit<WorkerPoolOptions, 'workers' | 'handle'>,
): Promise<ForwarderEngine> {
  if (workers <= 1) return { engine: await loadEngine(engineOptions), pool: () => null };
  const { engine, handle } = await loadLeaderEngine(engineOptions);
  let built: WorkerPool | null = null;
  return {
    engine,
    plane: (ctx) => (built = new WorkerPool(engine, ctx, { ...pool, workers, handle })),
    pool: () => built,
  };
}
