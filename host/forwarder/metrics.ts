/**
 * Prometheus metrics of the forwarder (prom-client, a private Registry so several forwarders can
 * live in one process, e.g. in tests).
 *
 * The hot path never touches prom-client: per service port there is one object of plain numbers
 * (`portMetrics`), a connection keeps a reference to its port's object, and the registry reads the
 * numbers at scrape time. Byte counts are added once per connection at close, from the sockets'
 * own counts, not per chunk.
 */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { EngineApi } from '../engine/api.js';
import { servicePortKey } from '../engine/model.js';
import type { ModelServicePort, ServiceModel } from '../engine/model.js';
import { type IPFamilyLabel, KubeProxyMetrics } from '../metrics/kube-proxy.js';

/** Why a connection or datagram was not forwarded. */
export type RejectReason = 'no_endpoints' | 'dropped_by_policy' | 'no_service' | 'backend_unreachable' | 'session_limit';

/**
 * Plain per-service-port tallies. The data path bumps numbers (no label hashing per connection;
 * prom-client's labelled `inc` hashes its labels on every call); the registry reads them at scrape.
 */
export interface PortMetrics {
  readonly key: string;
  readonly protocol: string;
  connections: number;
  active: number;
  bytesToBackend: number;
  bytesToClient: number;
  retries: number;
  connectFailures: number;
  viaScheduler: number;
  viaFlow: number;
  viaAffinity: number;
  rejectNoEndpoints: number;
  rejectDropped: number;
  rejectUnreachable: number;
  rejectNoService: number;
  rejectSessionLimit: number;
}

function newPortMetrics(key: string, protocol: string): PortMetrics {
  return {
    key, protocol, connections: 0, active: 0, bytesToBackend: 0, bytesToClient: 0, retries: 0, connectFailures: 0,
    viaScheduler: 0, viaFlow: 0, viaAffinity: 0, rejectNoEndpoints: 0, rejectDropped: 0, rejectUnreachable: 0, rejectNoService: 0, rejectSessionLimit: 0,
  };
}

export class ForwarderMetrics {
  readonly registry = new Registry();
  readonly udpSessions: Gauge;
  readonly listeners: Gauge;
  readonly listenerErrors: Counter;
  readonly syncErrors: Counter;
  /** kube-proxy's own metrics (sync latency, changes, network programming, healthz), in this registry. */
  readonly kubeProxy: KubeProxyMetrics;
  private readonly ports = new Map<string, PortMetrics>();
  /** Model objects → tallies, so a connection finds its port's tallies without building a key. */
  private readonly byObject = new WeakMap<ModelServicePort, PortMetrics>();
  private readonly unknown: PortMetrics;

  constructor(engine: () => EngineApi | null, options: { processMetrics?: boolean } = {}) {
    const registers = [this.registry];
    const sp = ['service_port', 'protocol'];
    const ports = (): Iterable<PortMetrics> => this.ports.values();
    const labels = (pm: PortMetrics): { service_port: string; protocol: string } => ({ service_port: pm.key, protocol: pm.protocol });
    /** A counter or gauge whose samples are read from the tallies at scrape time. */
    const tally = (kind: 'counter' | 'gauge', name: string, help: string, extra: string[], samples: (pm: PortMetrics) => [Record<string, string>, number][]): void => {
      const Metric = kind === 'counter' ? Counter : Gauge;
      new Metric({
        name, help, labelNames: [...sp, ...extra], registers,
        collect(this: Counter | Gauge) {
          this.reset();
          for (const pm of ports()) {
            for (const [l, v] of samples(pm)) {
              if (kind === 'counter' && v === 0) continue;
              const all = { ...labels(pm), ...l };
              if (this instanceof Gauge) this.set(all, v);
              else this.inc(all, v);
            }
          }
        },
      });
    };
    tally('counter', 'vipwasm_forwarder_connections_total', 'Connections (TCP) or sessions (UDP) forwarded to a backend', [], (pm) => [[{}, pm.connections]]);
    tally('gauge', 'vipwasm_forwarder_active_connections', 'Open forwarded connections (TCP) or sessions (UDP)', [], (pm) => [[{}, pm.active]]);
    tally('counter', 'vipwasm_forwarder_bytes_total', 'Payload bytes forwarded, by direction', ['direction'], (pm) => [
      [{ direction: 'to_backend' }, pm.bytesToBackend],
      [{ direction: 'to_client' }, pm.bytesToClient],
    ]);
    tally('counter', 'vipwasm_forwarder_connect_retries_total', 'Backend connection attempts retried on another backend after a refused or timed-out connect', [], (pm) => [[{}, pm.retries]]);
    tally('counter', 'vipwasm_forwarder_connect_failures_total', 'Failed backend connection attempts', [], (pm) => [[{}, pm.connectFailures]]);
    tally('counter', 'vipwasm_forwarder_decisions_total', 'Engine Backend decisions, by how they were reached (scheduler, flow, affinity)', ['via'], (pm) => [
      [{ via: 'scheduler' }, pm.viaScheduler],
      [{ via: 'flow' }, pm.viaFlow],
      [{ via: 'affinity' }, pm.viaAffinity],
    ]);
    tally('counter', 'vipwasm_forwarder_rejects_total', 'Connections or datagrams not forwarded, by reason', ['reason'], (pm) => [
      [{ reason: 'no_endpoints' }, pm.rejectNoEndpoints],
      [{ reason: 'dropped_by_policy' }, pm.rejectDropped],
      [{ reason: 'backend_unreachable' }, pm.rejectUnreachable],
      [{ reason: 'no_service' }, pm.rejectNoService],
      [{ reason: 'session_limit' }, pm.rejectSessionLimit],
    ]);
    this.udpSessions = new Gauge({ name: 'vipwasm_forwarder_udp_sessions', help: 'Open UDP client sessions', registers });
    // With worker threads every worker binds the same listeners: merged, the count is one worker's (max).
    this.listeners = new Gauge({ name: 'vipwasm_forwarder_listeners', help: 'Bound service listeners, by protocol', labelNames: ['protocol'], registers, aggregator: 'max' });
    this.listenerErrors = new Counter({ name: 'vipwasm_forwarder_listener_errors_total', help: 'Service listeners that could not be bound', labelNames: ['code'], registers, aggregator: 'max' });
    this.syncErrors = new Counter({ name: 'vipwasm_sync_proxy_rules_errors_total', help: 'Models the engine rejected', registers });
    this.kubeProxy = new KubeProxyMetrics({ registry: this.registry, processMetrics: false, healthServer: true });
    registerEngineGauges(this.registry, engine);
    if (options.processMetrics !== false) collectDefaultMetrics({ register: this.registry });
    this.unknown = this.tallies('', 'TCP');
  }

  /** The tallies for a service port (created once, kept across syncs). */
  portMetrics(sp: ModelServicePort | null): PortMetrics {
    if (!sp) return this.unknown;
    let pm = this.byObject.get(sp);
    if (!pm) {
      pm = this.tallies(servicePortKey(sp), sp.protocol);
      this.byObject.set(sp, pm);
    }
    return pm;
  }

  /** Tallies by service port key (`ns/name:port`) and protocol. */
  portMetricsByKey(key: string, protocol: string): PortMetrics {
    return this.tallies(key, protocol);
  }

  /** Tallies for traffic that matched no service port. */
  get unmatched(): PortMetrics {
    return this.unknown;
  }

  /** Tallies by `service_port|protocol`, for tests and summaries. */
  snapshot(): Map<string, Readonly<PortMetrics>> {
    return new Map([...this.ports].map(([k, v]) => [k, { ...v }]));
  }

  private tallies(key: string, protocol: string): PortMetrics {
    const cacheKey = `${key}|${protocol}`;
    let pm = this.ports.get(cacheKey);
    if (!pm) {
      pm = newPortMetrics(key, protocol);
      this.ports.set(cacheKey, pm);
    }
    return pm;
  }

  reject(pm: PortMetrics, reason: RejectReason): void {
    if (reason === 'no_endpoints') pm.rejectNoEndpoints++;
    else if (reason === 'dropped_by_policy') pm.rejectDropped++;
    else if (reason === 'backend_unreachable') pm.rejectUnreachable++;
    else if (reason === 'session_limit') pm.rejectSessionLimit++;
    else pm.rejectNoService++;
  }
}

/**
 * The IP families a model serves, as kube-proxy's `ip_family` label names them: one engine serves
 * both, where kube-proxy runs a proxier per family. IPv4 when the model has no address at all.
 */
export function servedFamilies(model: ServiceModel): IPFamilyLabel[] {
  let v4 = false;
  let v6 = false;
  for (const ip of model.nodeIPs) ip.includes(':') ? (v6 = true) : (v4 = true);
  for (const sp of model.servicePorts) for (const ip of sp.clusterIPs) ip.includes(':') ? (v6 = true) : (v4 = true);
  const out: IPFamilyLabel[] = [];
  if (v4 || !v6) out.push('IPv4');
  if (v6) out.push('IPv6');
  return out;
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
    ['affinitiesDroppedOnSwap', 'vipwasm_engine_affinities_dropped_on_swap', 'ClientIP affinity entries dropped on snapshot swap because their backend went away (cumulative)'],
    ['generation', 'vipwasm_engine_generation', 'Serving snapshot generation'],
    ['servicePorts', 'vipwasm_engine_service_ports', 'Service ports in the serving snapshot'],
    ['backends', 'vipwasm_engine_backends', 'Backends in the serving snapshot'],
    ['memoryBytes', 'vipwasm_engine_memory_bytes', 'Wasm linear memory of the engine'],
  ] as const;
  // Per service port: the engine's flow-table entries, IPVS-style (ipvsadm's ActiveConn/InActConn
  // summed over the port's backends). One counters() call per service port at scrape time.
  new Gauge({
    name: 'vipwasm_engine_service_port_flows',
    help: 'Engine flow-table entries per service port: active (TCP established) and inactive (opening, closing, UDP)',
    labelNames: ['service_port', 'protocol', 'state'],
    registers: [registry],
    collect() {
      this.reset();
      const e = engine();
      if (!e) return;
      const sps = e.model.servicePorts;
      for (let i = 0; i < sps.length; i++) {
        let active = 0;
        let inactive = 0;
        for (const c of e.counters(i)) {
          active += c.active;
          inactive += c.inactive;
        }
        const sp = sps[i]!;
        const labels = { service_port: servicePortKey(sp), protocol: sp.protocol };
        this.set({ ...labels, state: 'active' }, active);
        this.set({ ...labels, state: 'inactive' }, inactive);
      }
    },
  });
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
