/**
 * Prometheus metrics of the forwarder (prom-client, a private Registry so several forwarders can
 * live in one process, e.g. in tests).
 *
 * The hot path never resolves labels: per service port, the label-bound children are created once
 * per sync (`portMetrics`) and a connection keeps a reference to its port's object. Byte counters
 * are added once per connection at close, from the sockets' own counts, not per chunk.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { EngineApi } from '../engine/api.js';
import { servicePortKey } from '../engine/model.js';
import type { ModelServicePort } from '../engine/model.js';

/** Why a connection or datagram was not forwarded. */
export type RejectReason = 'no_endpoints' | 'dropped_by_policy' | 'no_service' | 'backend_unreachable' | 'draining';

/** Label-bound children for one service port; cheap to use per connection. */
export interface PortMetrics {
  readonly key: string;
  readonly connections: Counter.Internal;
  readonly active: Gauge.Internal<string>;
  readonly bytesToBackend: Counter.Internal;
  readonly bytesToClient: Counter.Internal;
  readonly retries: Counter.Internal;
  readonly connectFailures: Counter.Internal;
  readonly viaScheduler: Counter.Internal;
  readonly viaFlow: Counter.Internal;
  readonly viaAffinity: Counter.Internal;
  readonly rejectNoEndpoints: Counter.Internal;
  readonly rejectDropped: Counter.Internal;
  readonly rejectUnreachable: Counter.Internal;
}

export class ForwarderMetrics {
  readonly registry = new Registry();
  private readonly connections: Counter;
  private readonly active: Gauge;
  private readonly bytes: Counter;
  private readonly retries: Counter;
  private readonly connectFailures: Counter;
  private readonly decisions: Counter;
  private readonly rejects: Counter;
  readonly udpSessions: Gauge;
  readonly listeners: Gauge;
  readonly listenerErrors: Counter;
  readonly syncDuration: Histogram;
  readonly lastSync: Gauge;
  readonly syncErrors: Counter;
  private readonly cache = new Map<string, PortMetrics>();
  private readonly unknown: PortMetrics;

  constructor(engine: () => EngineApi | null, options: { processMetrics?: boolean } = {}) {
    const registers = [this.registry];
    const sp = ['service_port', 'protocol'];
    this.connections = new Counter({ name: 'vipwasm_forwarder_connections_total', help: 'Connections (TCP) or sessions (UDP) forwarded to a backend', labelNames: sp, registers });
    this.active = new Gauge({ name: 'vipwasm_forwarder_active_connections', help: 'Open forwarded connections (TCP) or sessions (UDP)', labelNames: sp, registers });
    this.bytes = new Counter({ name: 'vipwasm_forwarder_bytes_total', help: 'Payload bytes forwarded, by direction', labelNames: [...sp, 'direction'], registers });
    this.retries = new Counter({ name: 'vipwasm_forwarder_connect_retries_total', help: 'Backend connection attempts retried on another backend after a refused or timed-out connect', labelNames: sp, registers });
    this.connectFailures = new Counter({ name: 'vipwasm_forwarder_connect_failures_total', help: 'Failed backend connection attempts', labelNames: sp, registers });
    this.decisions = new Counter({ name: 'vipwasm_forwarder_decisions_total', help: 'Engine Backend decisions, by how they were reached (scheduler, flow, affinity)', labelNames: [...sp, 'via'], registers });
    this.rejects = new Counter({ name: 'vipwasm_forwarder_rejects_total', help: 'Connections or datagrams not forwarded, by reason', labelNames: [...sp, 'reason'], registers });
    this.udpSessions = new Gauge({ name: 'vipwasm_forwarder_udp_sessions', help: 'Open UDP client sessions', registers });
    this.listeners = new Gauge({ name: 'vipwasm_forwarder_listeners', help: 'Bound service listeners, by protocol', labelNames: ['protocol'], registers });
    this.listenerErrors = new Counter({ name: 'vipwasm_forwarder_listener_errors_total', help: 'Service listeners that could not be bound', labelNames: ['code'], registers });
    this.syncDuration = new Histogram({
      name: 'vipwasm_sync_proxy_rules_duration_seconds',
      help: 'Time to apply a model to the engine and listeners (kube-proxy: sync_proxy_rules_duration_seconds)',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
    this.lastSync = new Gauge({ name: 'vipwasm_sync_proxy_rules_last_timestamp_seconds', help: 'When the last successful sync finished (unix seconds)', registers });
    this.syncErrors = new Counter({ name: 'vipwasm_sync_proxy_rules_errors_total', help: 'Models the engine rejected', registers });
    registerEngineGauges(this.registry, engine);
    if (options.processMetrics !== false) collectDefaultMetrics({ register: this.registry });
    this.unknown = this.bind('', 'TCP');
  }

  /** Label-bound metrics for a service port (created once, reused across syncs). */
  portMetrics(sp: ModelServicePort | null): PortMetrics {
    if (!sp) return this.unknown;
    return this.bind(servicePortKey(sp), sp.protocol);
  }

  /** A reject with no service port (no Service matches the listener any more). */
  get unmatched(): PortMetrics {
    return this.unknown;
  }

  private bind(key: string, protocol: string): PortMetrics {
    const cacheKey = `${key}|${protocol}`;
    const found = this.cache.get(cacheKey);
    if (found) return found;
    const l = { service_port: key, protocol };
    const pm: PortMetrics = {
      key,
      connections: this.connections.labels(l),
      active: this.active.labels(l),
      bytesToBackend: this.bytes.labels({ ...l, direction: 'to_backend' }),
      bytesToClient: this.bytes.labels({ ...l, direction: 'to_client' }),
      retries: this.retries.labels(l),
      connectFailures: this.connectFailures.labels(l),
      viaScheduler: this.decisions.labels({ ...l, via: 'scheduler' }),
      viaFlow: this.decisions.labels({ ...l, via: 'flow' }),
      viaAffinity: this.decisions.labels({ ...l, via: 'affinity' }),
      rejectNoEndpoints: this.rejects.labels({ ...l, reason: 'no_endpoints' }),
      rejectDropped: this.rejects.labels({ ...l, reason: 'dropped_by_policy' }),
      rejectUnreachable: this.rejects.labels({ ...l, reason: 'backend_unreachable' }),
    };
    this.cache.set(cacheKey, pm);
    return pm;
  }

  /** A reject for a reason not pre-bound (no_service, draining). */
  reject(pm: PortMetrics, reason: RejectReason): void {
    if (reason === 'no_endpoints') pm.rejectNoEndpoints.inc();
    else if (reason === 'dropped_by_policy') pm.rejectDropped.inc();
    else if (reason === 'backend_unreachable') pm.rejectUnreachable.inc();
    else this.rejects.labels({ service_port: pm.key, protocol: 'TCP', reason }).inc();
  }
}

/** Engine table sizes and counters, read at scrape time. */
function registerEngineGauges(registry: Registry, engine: () => EngineApi | null): void {
  const fields = [
    ['flows', 'vipwasm_engine_flows', 'Entries in the engine flow table'],
    ['flowCapacity', 'vipwasm_engine_flow_capacity', 'Flow table capacity'],
    ['affinities', 'vipwasm_engine_affinities', 'Entries in the ClientIP affinity table'],
    ['affinityCapacity', 'vipwasm_engine_affinity_capacity', 'Affinity table capacity'],
    ['flowEvictions', 'vipwasm_engine_flow_evictions', 'Flows evicted because the table was full (cumulative)'],
    ['affinityEvictions', 'vipwasm_engine_affinity_evictions', 'Affinity entries evicted because the table was full (cumulative)'],
    ['flowExpirations', 'vipwasm_engine_flow_expirations', 'Flows expired (cumulative)'],
    ['affinityExpirations', 'vipwasm_engine_affinity_expirations', 'Affinity entries expired (cumulative)'],
    ['flowsDroppedOnSwap', 'vipwasm_engine_flows_dropped_on_swap', 'Flows dropped on snapshot swap because their backend went away (cumulative)'],
    ['generation', 'vipwasm_engine_generation', 'Serving snapshot generation'],
    ['servicePorts', 'vipwasm_engine_service_ports', 'Service ports in the serving snapshot'],
    ['backends', 'vipwasm_engine_backends', 'Backends in the serving snapshot'],
    ['memoryBytes', 'vipwasm_engine_memory_bytes', 'Wasm linear memory of the engine'],
  ] as const;
  for (const [field, name, help] of fields) {
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        const e = engine();
        if (e) this.set(e.stats()[field]);
      },
    });
  }
}
