/**
 * The Node forwarder: a userspace L4 proxy that makes Service addresses work on this machine, like
 * kube-proxy's old userspace mode, with the engine's schedulers, affinity and flow tables,
 * connect retries, passive ejection and kube-proxy-compatible metrics and health endpoints.
 *
 * Usage: construct with a loaded engine, call `sync(model)` for every new model (syncs are
 * serialised and coalesced: the newest model wins), `serveOperations` for /metrics and /healthz,
 * and `drain` + `close` on shutdown.
 */
import type http from 'node:http';
import type { Logger } from 'pino';
import type { EngineApi } from '../engine/api.js';
import type { ServiceModel } from '../engine/model.js';
import { BackendEjections } from './backend-ejection.js';
import { ConnectDeadlines } from './connect-deadlines.js';
import { AddressCache, DEFAULT_DATA_PATH_OPTIONS } from './context.js';
import type { DataPathContext, DataPathOptions } from './context.js';
import { LocalPlane } from './data-plane.js';
import type { ServingPlane } from './data-plane.js';
import { ProxyHealth, ServiceHealthServers, healthzHandler, listenHttp, metricsHandler, parseBindAddress } from './health.js';
import { planListeners } from './listen-plan.js';
import type { ListenPlan } from './listen-plan.js';
import type { BindFailure } from './listeners.js';
import type { TriggerCursor } from '../metrics/trigger-times.js';
import { ForwarderMetrics, servedFamilies } from './metrics.js';
import { VipInterface } from './vip-interface.js';

export interface ForwarderOptions extends Partial<DataPathOptions> {
  /** kube-proxy's --nodeport-addresses CIDRs; empty = every node IP. */
  nodePortAddresses?: readonly string[];
  /** How long a backend that refused or timed out is quiesced (ms); 0 disables. Default 5000. */
  ejectMs?: number;
  /** /healthz turns 503 when an update waited longer than this (ms). Default 60 000. */
  healthTimeoutMs?: number;
  /** Put non-local VIPs on this dummy interface (root). Default: off. */
  vipInterface?: string;
  /** How often the engine's tables are expired (ms). Default 1000. */
  expireIntervalMs?: number;
  /** Register Node process metrics (off in tests that run several forwarders). Default true. */
  processMetrics?: boolean;
  /**
   * What serves traffic under this control plane: by default a LocalPlane (this thread, this
   * engine); workers/worker-pool.ts builds one of worker threads. Gets the data-path context whose
   * `backendFailed` reaches this forwarder's ejections.
   */
  plane?: (ctx: DataPathContext) => ServingPlane;
}

export interface SyncResult {
  readonly listeners: number;
  readonly healthServers: number;
  readonly bindFailures: BindFailure[];
  readonly skipped: ListenPlan['skipped'];
  readonly durationMs: number;
}

export class Forwarder {
  readonly metrics: ForwarderMetrics;
  readonly health: ProxyHealth;
  private readonly ctx: DataPathContext;
  private readonly plane: ServingPlane;
  private readonly healthServers: ServiceHealthServers;
  private readonly ejections: BackendEjections;
  private readonly vips: VipInterface | null;
  private readonly opServers: http.Server[] = [];
  private model: ServiceModel | null = null;
  /** Engine loads (syncs and ejection reloads) in the order they were asked for. */
  private engineLoads: Promise<unknown> = Promise.resolve();
  private pending: ServiceModel | null = null;
  private syncing: Promise<SyncResult> | null = null;
  private lastResult: SyncResult | null = null;
  private reloadTimer: NodeJS.Timeout | null = null;
  private readonly expireTimer: NodeJS.Timeout;
  private closed = false;
  /** EndpointSlice trigger times to observe as network-programming latency after each sync. */
  private triggers: TriggerCursor | null = null;

  constructor(
    readonly engine: EngineApi,
    readonly log: Logger,
    private readonly options: ForwarderOptions = {},
  ) {
    const dp: DataPathOptions = { ...DEFAULT_DATA_PATH_OPTIONS };
    for (const k of Object.keys(dp) as (keyof DataPathOptions)[]) if (options[k] !== undefined) (dp as unknown as Record<string, unknown>)[k] = options[k];
    this.metrics = new ForwarderMetrics(() => (this.closed ? null : engine), { processMetrics: options.processMetrics });
    this.health = new ProxyHealth(options.healthTimeoutMs ?? 60_000);
    this.ejections = new BackendEjections(options.ejectMs ?? 5000);
    this.vips = options.vipInterface ? new VipInterface(options.vipInterface) : null;
    const now = (): number => performance.now();
    this.ctx = {
      engine,
      metrics: this.metrics,
      log,
      options: dp,
      addresses: new AddressCache(),
      ejections: this.ejections,
      connectDeadlines: new ConnectDeadlines(dp.connectTimeoutMs, now),
      now,
      backendFailed: (key) => this.backendFailed(key),
    };
    this.plane = options.plane ? options.plane(this.ctx) : new LocalPlane(engine, this.ctx);
    this.healthServers = new ServiceHealthServers(this.health, log);
    this.expireTimer = setInterval(() => engine.expire(performance.now()), options.expireIntervalMs ?? 1000);
    this.expireTimer.unref();
  }

  /** The data-path tunables in effect. */
  get dataPathOptions(): Readonly<DataPathOptions> {
    return this.ctx.options;
  }

  /** Open TCP connections plus UDP sessions. */
  get openConnections(): number {
    return this.plane.openConnections;
  }

  /** Listener keys currently bound (`tcp/ip:port`). */
  boundListeners(): string[] {
    return this.plane.listenerKeys();
  }

  /** Observe `kubeproxy_network_programming_duration_seconds` for the trigger times this cursor reads. */
  followTriggerTimes(cursor: TriggerCursor): void {
    this.triggers = cursor;
  }

  /** Tells /healthz that a change is waiting (call when the source reports one, before sync). */
  queued(): void {
    this.health.queued();
  }

  /**
   * Applies a model: engine snapshot (throws SnapshotError and keeps the old one when rejected),
   * then VIPs, listeners and health servers. Concurrent calls coalesce to the newest model.
   */
  sync(model: ServiceModel): Promise<SyncResult> {
    this.health.queued();
    this.pending = model;
    if (!this.syncing) {
      this.syncing = this.drainPending().finally(() => {
        this.syncing = null;
      });
    }
    return this.syncing;
  }

  private async drainPending(): Promise<SyncResult> {
    let result: SyncResult | null = null;
    while (this.pending && !this.closed) {
      const model = this.pending;
      this.pending = null;
      result = await this.apply(model);
    }
    return result ?? this.lastResult!;
  }

  private async apply(model: ServiceModel): Promise<SyncResult> {
    const started = performance.now();
    this.triggers?.mark();
    try {
      await this.loadEngine(model);
    } catch (err) {
      this.metrics.syncErrors.inc();
      throw err;
    }
    const plan = planListeners(model, { nodePortAddresses: this.options.nodePortAddresses });
    if (this.vips) {
      const vips = new Set<string>();
      for (const l of plan.listeners) if (l.kind !== 'nodePort') vips.add(l.ip);
      const changed = await this.vips.sync(vips);
      if (changed.added.length || changed.removed.length) this.log.info(changed, 'VIP interface updated');
    }
    const bindFailures = await this.plane.reconcile(plan.listeners);
    await this.healthServers.reconcile(model, plan.healthServers);
    for (const f of bindFailures) this.log.warn(f, 'cannot listen on service address');
    const durationMs = performance.now() - started;
    // One engine swap serves every family; kube-proxy reports each proxier's (full) sync apart.
    const programmed = this.triggers?.take() ?? [];
    for (const family of servedFamilies(model)) {
      this.metrics.kubeProxy.synced({ full: true, ms: durationMs }, family, model);
      this.metrics.kubeProxy.programmed(family, programmed);
    }
    this.health.updated();
    this.lastResult = {
      listeners: this.plane.listenerKeys().length,
      healthServers: this.healthServers.size,
      bindFailures,
      skipped: plan.skipped,
      durationMs,
    };
    return this.lastResult;
  }

  /** Creates the VIP interface when --bind-vips asked for one. */
  async prepare(): Promise<void> {
    if (!this.vips) return;
    await this.vips.ensure();
    this.log.info({ placement: this.vips.placement }, 'Service IPs that are not local go on this interface');
  }

  /** Starts the metrics and healthz servers (null = off); returns their bound addresses. */
  async serveOperations(metricsAddress: string | null, healthzAddress: string | null): Promise<{ metrics?: string; healthz?: string }> {
    const out: { metrics?: string; healthz?: string } = {};
    const bound = (s: http.Server): string => {
      const a = s.address();
      if (a === null || typeof a === 'string') return String(a);
      return a.family === 'IPv6' ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
    };
    if (metricsAddress) {
      const { host, port } = parseBindAddress('--metrics-bind-address', metricsAddress);
      const render = this.plane.renderMetrics?.bind(this.plane, this.metrics.registry);
      const s = await listenHttp(host, port, metricsHandler(this.metrics, healthzAddress === metricsAddress ? this.health : undefined, render));
      this.opServers.push(s);
      out.metrics = bound(s);
    }
    if (healthzAddress && healthzAddress !== metricsAddress) {
      const { host, port } = parseBindAddress('--healthz-bind-address', healthzAddress);
      const s = await listenHttp(host, port, healthzHandler(this.health, this.metrics));
      this.opServers.push(s);
      out.healthz = bound(s);
    } else if (healthzAddress) out.healthz = out.metrics;
    return out;
  }

  /**
   * SIGTERM: stop accepting (listeners closed, /healthz 503), let open connections finish for up
   * to `graceMs`, then cut the rest. Resolves with how many had to be cut.
   */
  async drain(graceMs: number): Promise<{ aborted: number }> {
    this.health.draining = true;
    this.healthServers.closeAll();
    return this.plane.drain(graceMs);
  }

  /** Releases everything: listeners, connections, servers, timers, the VIP interface. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.expireTimer);
    if (this.reloadTimer) clearTimeout(this.reloadTimer);
    await this.plane.close();
    this.healthServers.closeAll();
    await Promise.all(this.opServers.map((s) => new Promise((r) => s.close(r))));
    for (const s of this.opServers) s.closeAllConnections();
    if (this.vips) await this.vips.remove();
  }

  /** One line: what is served. */
  summary(): string {
    const m = this.model;
    if (!m) return 'no model loaded';
    const r = this.lastResult;
    const services = new Set(m.servicePorts.map((sp) => `${sp.namespace}/${sp.name}`)).size;
    const backends = m.servicePorts.reduce((n, sp) => n + sp.backends.length, 0);
    const parts = [
      `${services} services`,
      `${m.servicePorts.length} service ports`,
      `${backends} endpoints`,
      `${r?.listeners ?? 0} listeners`,
    ];
    if (r?.healthServers) parts.push(`${r.healthServers} health check node ports`);
    if (r?.bindFailures.length) parts.push(`${r.bindFailures.length} addresses not bound`);
    if (r?.skipped.length) parts.push(`${r.skipped.length} SCTP ports skipped`);
    const nodePorts = m.servicePorts.filter((sp) => sp.nodePort > 0).length;
    if (nodePorts && m.nodeIPs.length === 0) parts.push(`${nodePorts} NodePorts not served (no node IP: give --node-ip)`);
    return parts.join(', ');
  }

  private backendFailed(key: string): void {
    if (!this.ejections.eject(key, performance.now())) return;
    this.log.info({ backend: key, forMs: this.options.ejectMs ?? 5000 }, 'backend ejected after failed connect');
    this.reloadEngine();
  }

  /**
   * Hands the plane the model to serve (ejections applied); the plane gives the engine only what
   * changed (applyChanges), so one endpoint change or ejection costs the same at 10 or 100k
   * Services. Loads run one at a time, in the order asked, so an ejection reload never overtakes a
   * sync (with workers, each load is a generation handshake that takes event-loop turns).
   */
  private loadEngine(next: ServiceModel | 'current'): Promise<void> {
    const load = this.engineLoads.then(async () => {
      // An ejection reload serves whatever model is current when its turn comes, never an older one.
      const model = next === 'current' ? this.model : next;
      if (!model || this.closed) return;
      await this.plane.serve(this.ejections.apply(model, performance.now()));
      this.model = model;
    });
    this.engineLoads = load.catch(() => undefined);
    return load;
  }

  /** Re-applies the current model with the ejections in effect (weights only; listeners unchanged). */
  private reloadEngine(): void {
    if (this.closed || !this.model) return;
    const now = performance.now();
    this.ejections.expire(now);
    this.loadEngine('current').catch((err: Error) =>
      this.log.error({ err: err.message }, 'engine rejected the model with ejections applied'),
    );
    if (this.reloadTimer) clearTimeout(this.reloadTimer);
    this.reloadTimer = null;
    const next = this.ejections.nextExpiry();
    if (next !== undefined) {
      this.reloadTimer = setTimeout(() => this.reloadEngine(), Math.max(1, next - now));
      this.reloadTimer.unref();
    }
  }
}
