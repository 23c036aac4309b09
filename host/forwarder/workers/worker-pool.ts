/**
 * The worker threads of `vipwasm forward --workers N`, as the control plane's ServingPlane
 * (issue 14, part 2). Main keeps everything that must happen once: the model, the leader engine
 * (loads, expiry), ejections, health and metrics; N workers accept on the same addresses
 * (SO_REUSEPORT) and decide on the engine state they share with the leader (engine-link.ts).
 *
 * The generation handshake, per model to serve: post `{model, generation}` (generation = the
 * leader's + 1) to every live worker and wait for each ack (a worker silent for `ackTimeoutMs` is
 * terminated and replaced); only then apply it to the leader, then post `{serving: generation}`.
 * So no worker ever sees the leader's state on a generation it has no model for. A refused apply
 * leaves the previous generation serving; the next attempt reposts under the same number.
 *
 * A worker that exits unexpectedly: its engine lock is released, every flow in its FlowRegistry is
 * closed on the leader (lc/wlc/sed/nq counts stay exact), it is logged and counted, and a new
 * worker with the same id starts on the current model and listeners. Other workers' connections
 * are untouched.
 */
import type { Engine, PlannedChanges } from '../../engine/engine.js';
import { AggregatorRegistry, Counter, Gauge } from 'prom-client';
import type { Registry } from 'prom-client';
import type { EngineApi } from '../../engine/api.js';
import type { ServiceModel } from '../../engine/model.js';
import { ServiceChangeTracker } from '../../model/change-tracker.js';
import type { DataPathContext } from '../context.js';
import type { ServingPlane } from '../data-plane.js';
import type { PlannedListener } from '../listen-plan.js';
import type { BindFailure } from '../listeners.js';
import { lockCounters } from '../../engine/shared.js';
import { releaseWorkerLock } from './engine-link.js';
import type { EngineHandle } from './engine-link.js';
import { closeDeadWorkerFlows } from './dead-worker-flows.js';
import { DEFAULT_FLOW_REGISTRY_CAPACITY, FlowRegistry } from './flow-registry.js';
import type { FromWorker, WorkerMetrics, WorkerReply } from './messages.js';
import { WorkerSlot } from './worker-slot.js';

export interface WorkerPoolOptions {
  /** Worker threads (1..255). */
  readonly workers: number;
  readonly handle: EngineHandle;
  /** --eject-duration (ms). */
  readonly ejectMs: number;
  /** How long a worker may take to ack a model or answer a request. Default 5000. */
  readonly ackTimeoutMs?: number;
  /** Flows recorded per worker for release after its death. Default DEFAULT_FLOW_REGISTRY_CAPACITY. */
  readonly flowRegistryCapacity?: number;
}

export class WorkerPool implements ServingPlane {
  private readonly slots = new Map<number, WorkerSlot>();
  /** Workers that hold the current model and listeners. */
  private readonly live = new Set<number>();
  private leaderChanges = new ServiceChangeTracker();
  private served: { generation: number; model: ServiceModel } | null = null;
  private listeners: readonly PlannedListener[] = [];
  private boundKeys: string[] = [];
  private closing = false;
  /** Handshakes, listener changes and replacements, one at a time. */
  private ops: Promise<unknown> = Promise.resolve();
  private readonly started: Promise<void>;
  private readonly restarts: Counter;
  private readonly ackTimeoutMs: number;
  private failuresInARow = 0;

  constructor(
    private readonly leader: Engine,
    private readonly ctx: DataPathContext,
    private readonly o: WorkerPoolOptions,
  ) {
    if (!Number.isInteger(o.workers) || o.workers < 1 || o.workers > 255) throw new Error(`--workers: ${o.workers} is not 1..255`);
    this.ackTimeoutMs = o.ackTimeoutMs ?? 5000;
    const registers = [ctx.metrics.registry];
    const live = this.live;
    new Gauge({ name: 'vipwasm_forwarder_workers', help: 'Live forwarder worker threads', registers, collect() { this.set(live.size); } });
    // The shared engine's one lock (engine/lock.ts): how often it was taken, and found held.
    const lock = (): { acquisitions: number; contended: number } => lockCounters(leader);
    new Counter({ name: 'vipwasm_engine_lock_acquisitions_total', help: 'Calls into the shared engine (each takes its lock)', registers, collect() { this.reset(); this.inc(lock().acquisitions); } });
    new Counter({ name: 'vipwasm_engine_lock_contended_total', help: 'Calls into the shared engine that found its lock held', registers, collect() { this.reset(); this.inc(lock().contended); } });
    this.restarts = new Counter({ name: 'vipwasm_forwarder_worker_restarts_total', help: 'Worker threads restarted after exiting unexpectedly', registers });
    const slots = Array.from({ length: o.workers }, (_, i) => this.spawn(i + 1));
    this.started = Promise.all(slots.map(async (s) => {
      await s.ready;
      this.live.add(s.id);
    })).then(() => undefined);
    this.started.catch(() => undefined);
  }

  /** Live worker ids. */
  liveWorkers(): number[] {
    return [...this.live].sort((a, b) => a - b);
  }

  /** Resolves once every worker first started is ready. */
  whenStarted(): Promise<void> {
    return this.started;
  }

  get openConnections(): number {
    let n = 0;
    for (const id of this.live) n += this.slots.get(id)?.open ?? 0;
    return n;
  }

  listenerKeys(): string[] {
    return this.boundKeys;
  }

  serve(served: ServiceModel): Promise<void> {
    return this.queue(async () => {
      // A worker that failed to start is being replaced (exited()); with none running, nothing serves.
      await this.started.catch(() => undefined);
      if (this.live.size === 0) throw new Error('no worker thread is running (see the log for why they exited)');
      const generation = this.leader.stats().generation + 1;
      // The plan names the model generation `generation` will serve, in the engine's order (a delta
      // moves a removed port's last one into its index): the workers must index that one.
      let plan: PlannedChanges;
      try {
        plan = this.leader.planChanges(this.leaderChanges.update(served));
        await this.askLive({ type: 'model', generation, model: plan.model });
        plan.apply();
      } catch (err) {
        this.leaderChanges = new ServiceChangeTracker();
        throw err;
      }
      this.served = { generation, model: plan.model };
      for (const id of this.live) this.slots.get(id)!.post({ type: 'serving', generation });
    });
  }

  reconcile(listeners: readonly PlannedListener[]): Promise<BindFailure[]> {
    return this.queue(async () => {
      this.listeners = listeners;
      const replies = await this.askLive({ type: 'listeners', listeners });
      const first = replies.find((r) => r.kind === 'listeners');
      if (first?.kind !== 'listeners') return [];
      this.boundKeys = first.keys;
      return first.bindFailures;
    });
  }

  drain(graceMs: number): Promise<{ aborted: number }> {
    return this.queue(async () => {
      const replies = await this.askLive({ type: 'drain', graceMs }, graceMs + this.ackTimeoutMs);
      return { aborted: replies.reduce((n, r) => n + (r.kind === 'drained' ? r.aborted : 0), 0) };
    });
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(
      [...this.slots.values()].map(async (s) => {
        s.stopping = true;
        s.post({ type: 'close' });
        const timer = setTimeout(() => void s.worker.terminate(), 2000);
        await s.exited;
        clearTimeout(timer);
      }),
    );
    this.live.clear();
  }

  /**
   * /metrics: main's registry (engine gauges from the leader, kube-proxy's sync metrics, process
   * metrics) merged with every live worker's data-path metrics, summed as one process would count
   * them (listeners: max, each worker binds the same), plus connections per worker.
   */
  async renderMetrics(own: Registry): Promise<string> {
    const parts: WorkerMetrics[] = [await own.getMetricsAsJSON()];
    const perWorker: { labels: { worker: string }; value: number }[] = [];
    const ids = [...this.live];
    // A stuck worker must not hold /metrics for long: its counts are left out of this scrape.
    const replies = await Promise.allSettled(ids.map((id) => this.slots.get(id)!.request({ type: 'metrics' }, Math.min(this.ackTimeoutMs, 2000))));
    replies.forEach((r, i) => {
      if (r.status !== 'fulfilled' || r.value.kind !== 'metrics') return;
      this.slots.get(ids[i]!)!.open = r.value.open;
      parts.push(r.value.metrics);
      const conns = r.value.metrics.find((m) => m.name === 'vipwasm_forwarder_connections_total');
      perWorker.push({ labels: { worker: String(ids[i]) }, value: conns?.values.reduce((n, v) => n + v.value, 0) ?? 0 });
    });
    parts.push([{ name: 'vipwasm_forwarder_worker_connections_total', help: 'Connections (TCP) or sessions (UDP) forwarded, by worker thread', type: 'counter', aggregator: 'sum', values: perWorker }] as unknown as WorkerMetrics);
    return AggregatorRegistry.aggregate(parts).metrics();
  }

  /** Tests only: makes worker `id` exit at once with code 1, as a crash would. */
  crashForTest(id: number): void {
    this.slots.get(id)?.post({ type: 'crash' });
  }

  /** Tests only: blocks worker `id`'s event loop for `ms`, as a stuck worker would. */
  hangForTest(id: number, ms: number): void {
    this.slots.get(id)?.post({ type: 'hang', ms });
  }

  private queue<T>(op: () => Promise<T>): Promise<T> {
    const run = this.ops.then(op);
    this.ops = run.catch(() => undefined);
    return run;
  }

  /** Asks every live worker; a worker that does not answer in time is terminated (and replaced). */
  private async askLive(m: Parameters<WorkerSlot['request']>[0], timeoutMs = this.ackTimeoutMs): Promise<WorkerReply[]> {
    const ids = [...this.live];
    const replies = await Promise.allSettled(ids.map((id) => this.slots.get(id)!.request(m, timeoutMs)));
    const out: WorkerReply[] = [];
    replies.forEach((r, i) => {
      const slot = this.slots.get(ids[i]!)!;
      if (r.status === 'fulfilled') {
        out.push(r.value);
        if (r.value.kind === 'listeners') slot.open = r.value.open;
        return;
      }
      const why = (r.reason as Error).message;
      if (/did not answer/.test(why)) {
        this.ctx.log.error({ worker: slot.id, err: why }, 'worker unresponsive; restarting it');
        void slot.worker.terminate();
      } else if (!/exited/.test(why)) throw r.reason;
    });
    return out;
  }

  private spawn(id: number): WorkerSlot {
    const flows = FlowRegistry.create(this.o.flowRegistryCapacity ?? DEFAULT_FLOW_REGISTRY_CAPACITY);
    const slot = new WorkerSlot(
      id,
      flows,
      { handle: this.o.handle, dataPath: { ...this.ctx.options, reusePort: true }, ejectMs: this.o.ejectMs, logLevel: this.ctx.log.level },
      (_s, m: FromWorker) => {
        if (m.type === 'backendFailed') this.ctx.backendFailed(m.key);
      },
    );
    this.slots.set(id, slot);
    void slot.exited.then((code) => this.exited(slot, code));
    return slot;
  }

  /** A worker ended: expected on close; otherwise release what it held and replace it. */
  private exited(slot: WorkerSlot, code: number): void {
    this.live.delete(slot.id);
    if (this.slots.get(slot.id) === slot && (slot.stopping || this.closing)) this.slots.delete(slot.id);
    if (slot.stopping || this.closing) return;
    releaseWorkerLock(this.leader, slot.id);
    const others = [...this.slots.values()].filter((s) => s !== slot).map((s) => s.flows);
    const r = closeDeadWorkerFlows(this.leader, slot.flows, others, this.ctx.now());
    this.restarts.inc();
    this.ctx.log.warn(
      { worker: slot.id, code, flows: r.flows, closedOnEngine: r.closed, takenOver: r.adopted, notRecorded: slot.flows.overflow },
      `worker ${slot.id} exited unexpectedly (code ${code}); ${r.closed} of its ${r.flows} flows were closed on the engine (${r.adopted} taken over by other workers); starting a replacement`,
    );
    this.failuresInARow = performance.now() - slot.startedAt < 5000 ? this.failuresInARow + 1 : 0;
    const delay = this.failuresInARow === 0 ? 0 : Math.min(5000, 250 * 2 ** (this.failuresInARow - 1));
    setTimeout(() => void this.queue(() => this.replace(slot.id)), delay).unref();
  }

  /** Starts worker `id` anew on the current model and listeners; live once it holds both. */
  private async replace(id: number): Promise<void> {
    if (this.closing) return;
    const slot = this.spawn(id);
    try {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([slot.ready, new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`worker ${id} not ready within ${this.ackTimeoutMs} ms`)), this.ackTimeoutMs)))]);
      clearTimeout(timer);
      if (this.served) {
        await slot.request({ type: 'model', generation: this.served.generation, model: this.served.model }, this.ackTimeoutMs);
        slot.post({ type: 'serving', generation: this.served.generation });
      }
      const r = await slot.request({ type: 'listeners', listeners: this.listeners }, this.ackTimeoutMs);
      if (r.kind === 'listeners') slot.open = r.open;
      if (this.closing) return;
      this.live.add(id);
      this.ctx.log.info({ worker: id }, `worker ${id} replaced`);
    } catch (err) {
      this.ctx.log.error({ worker: id, err: (err as Error).message }, 'replacement worker failed to start');
      void slot.worker.terminate();
    }
  }
}
