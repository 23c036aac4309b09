/**
 * The two halves of the forwarder (issue 14, part 2). The control plane (forwarder.ts) follows the
 * model, owns ejections, health, metrics and the engine's expiry; a ServingPlane is what serves
 * traffic under it: in this thread (`LocalPlane`, `vipwasm forward --workers 1`) or in worker
 * threads (workers/worker-pool.ts), each running a `DataPlane` of its own.
 */
import type { Registry } from 'prom-client';
import type { EngineApi } from '../engine/api.js';
import type { ServiceModel } from '../engine/model.js';
import { ServiceChangeTracker } from '../model/change-tracker.js';
import type { DataPathContext } from './context.js';
import type { PlannedListener } from './listen-plan.js';
import { ServiceListeners } from './listeners.js';
import type { BindFailure } from './listeners.js';

/** What the control plane drives: the engine's model, the listeners, draining. */
export interface ServingPlane {
  /**
   * Makes `served` (ejections applied) the model every new decision uses. Rejects (SnapshotError)
   * when the engine refuses it; the previous model keeps serving.
   */
  serve(served: ServiceModel): Promise<void>;
  /** Binds and unbinds listeners to match the plan and ends UDP sessions to removed endpoints. */
  reconcile(listeners: readonly PlannedListener[]): Promise<BindFailure[]>;
  /** Listener keys bound (`tcp/ip:port`). */
  listenerKeys(): string[];
  /** Open TCP connections plus UDP sessions (last known, for worker threads). */
  readonly openConnections: number;
  /** Stops accepting, lets open connections finish for up to `graceMs`, then cuts the rest. */
  drain(graceMs: number): Promise<{ aborted: number }>;
  /** Releases every listener and connection. */
  close(): Promise<void>;
  /**
   * The /metrics text when this plane's traffic is counted elsewhere (worker threads): `own` is
   * the control plane's registry. Absent: `own` is rendered as is.
   */
  renderMetrics?(own: Registry): Promise<string>;
}

/**
 * The data path of one thread: the service listeners and their connections, over the engine in
 * `ctx`. It never loads the engine: whoever owns the plane does.
 */
export class DataPlane {
  readonly listeners: ServiceListeners;

  constructor(readonly ctx: DataPathContext) {
    this.listeners = new ServiceListeners(ctx);
  }

  get openConnections(): number {
    return this.listeners.connections.size + this.listeners.udpSessions();
  }

  async reconcile(planned: readonly PlannedListener[]): Promise<BindFailure[]> {
    const failures = await this.listeners.reconcile(planned);
    const staleUdp = this.listeners.revalidateUdp();
    if (staleUdp > 0) this.ctx.log.debug({ sessions: staleUdp }, 'UDP sessions to removed endpoints ended');
    return failures;
  }

  async drain(graceMs: number): Promise<{ aborted: number }> {
    this.listeners.stopAccepting();
    const deadline = performance.now() + graceMs;
    while (this.listeners.connections.size > 0 && performance.now() < deadline) {
      await new Promise((r) => setTimeout(r, Math.min(50, Math.max(1, deadline - performance.now()))));
    }
    const aborted = this.listeners.connections.size;
    this.listeners.abortAll();
    return { aborted };
  }

  close(): void {
    this.listeners.stopAccepting();
    this.listeners.abortAll();
    this.ctx.connectDeadlines.clear();
  }
}

/**
 * The single-threaded plane: the control plane's own engine decides for a DataPlane in the same
 * thread. The engine is handed only what changed (applyChanges): a delta rebuilds only the changed
 * service ports; when the engine refuses, the next call starts over with a full load, so the
 * tracker never runs ahead of what the engine holds.
 */
export class LocalPlane implements ServingPlane {
  private readonly data: DataPlane;
  private served = new ServiceChangeTracker();

  constructor(
    private readonly engine: EngineApi,
    ctx: DataPathContext,
  ) {
    this.data = new DataPlane(ctx);
  }

  async serve(served: ServiceModel): Promise<void> {
    try {
      this.engine.applyChanges(this.served.update(served));
    } catch (err) {
      this.served = new ServiceChangeTracker();
      throw err;
    }
  }

  reconcile(listeners: readonly PlannedListener[]): Promise<BindFailure[]> {
    return this.data.reconcile(listeners);
  }

  listenerKeys(): string[] {
    return this.data.listeners.keys();
  }

  get openConnections(): number {
    return this.data.openConnections;
  }

  drain(graceMs: number): Promise<{ aborted: number }> {
    return this.data.drain(graceMs);
  }

  async close(): Promise<void> {
    this.data.close();
  }
}
