/**
 * kube-proxy's own metrics, with kube-proxy's names, labels and buckets
 * (pkg/proxy/metrics/metrics.go, v1.37), for every vipwasm data plane that does kube-proxy's job:
 * `vipwasm rules --watch` (one sync per IP family, full or partial) and the forwarder (one engine
 * snapshot swap serves both families). Dashboards and alerts written for kube-proxy read vipwasm
 * unchanged; vipwasm's own metrics stay under `vipwasm_`.
 *
 * Not exposed: the `iptables_total`/`iptables_last` rule counts, the nftables localhost NodePort
 * listener gauges, and the Windows and conntrack-reconciler ones.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ServiceModel, ModelServicePort } from '../engine/model.js';
import type { ServiceChanges } from '../model/change-tracker.js';

/** Which data plane failed to install a sync (kube-proxy counts iptables and nftables failures apart). */
export type SyncMode = 'iptables' | 'nftables' | 'ipvs' | 'engine';

export type IPFamilyLabel = 'IPv4' | 'IPv6';

/** metrics.ExponentialBuckets(0.001, 2, 15): 1 ms … 16.384 s. */
const SYNC_BUCKETS = Array.from({ length: 15 }, (_, i) => 0.001 * 2 ** i);

/** network_programming_duration_seconds: 0.25 s, 0.5 s, 1-59 s, 60-115 s by 5, 2-5 min by 30 s. */
const PROGRAMMING_BUCKETS = [
  0.25, 0.5,
  ...Array.from({ length: 59 }, (_, i) => 1 + i),
  ...Array.from({ length: 12 }, (_, i) => 60 + 5 * i),
  ...Array.from({ length: 7 }, (_, i) => 120 + 30 * i),
];

/** The frontends of a port, without its endpoints: what tells a Service change from an endpoint change. */
function frontend(sp: ModelServicePort): string {
  const { backends: _backends, ...rest } = sp;
  return JSON.stringify(rest);
}

export class KubeProxyMetrics {
  readonly registry: Registry;
  private readonly syncDuration: Histogram;
  private readonly syncFull: Histogram;
  private readonly syncPartial: Histogram;
  private readonly lastSync: Gauge;
  private readonly lastQueued: Gauge;
  private readonly endpointChangesPending: Gauge;
  private readonly endpointChangesTotal: Counter;
  private readonly serviceChangesPending: Gauge;
  private readonly serviceChangesTotal: Counter;
  private readonly iptablesRestoreFailures: Counter;
  private readonly nftablesSyncFailures: Counter;
  private readonly noLocalEndpoints: Gauge;
  private readonly networkProgramming: Histogram;
  private readonly healthzTotal?: Counter;
  private readonly livezTotal?: Counter;

  /**
   * `registry`: share one with other metrics (the forwarder's); default a new one of its own.
   * `healthServer`: this process serves kube-proxy's /healthz and /livez, so count their answers.
   */
  constructor(options: { processMetrics?: boolean; registry?: Registry; healthServer?: boolean } = {}) {
    this.registry = options.registry ?? new Registry();
    const registers = [this.registry];
    const histogram = (name: string, help: string) => new Histogram({ name, help, labelNames: ['ip_family'], buckets: SYNC_BUCKETS, registers });
    this.syncDuration = histogram('kubeproxy_sync_proxy_rules_duration_seconds', 'SyncProxyRules latency in seconds');
    this.syncFull = histogram('kubeproxy_sync_full_proxy_rules_duration_seconds', 'SyncProxyRules latency in seconds for full resyncs');
    this.syncPartial = histogram('kubeproxy_sync_partial_proxy_rules_duration_seconds', 'SyncProxyRules latency in seconds for partial resyncs');
    this.lastSync = new Gauge({ name: 'kubeproxy_sync_proxy_rules_last_timestamp_seconds', help: 'The last time proxy rules were successfully synced', labelNames: ['ip_family'], registers });
    this.lastQueued = new Gauge({ name: 'kubeproxy_sync_proxy_rules_last_queued_timestamp_seconds', help: 'The last time a sync of proxy rules was queued', labelNames: ['ip_family'], registers });
    this.endpointChangesPending = new Gauge({ name: 'kubeproxy_sync_proxy_rules_endpoint_changes_pending', help: 'Pending proxy rules Endpoint changes', registers });
    this.endpointChangesTotal = new Counter({ name: 'kubeproxy_sync_proxy_rules_endpoint_changes_total', help: 'Cumulative proxy rules Endpoint changes', registers });
    this.serviceChangesPending = new Gauge({ name: 'kubeproxy_sync_proxy_rules_service_changes_pending', help: 'Pending proxy rules Service changes', registers });
    this.serviceChangesTotal = new Counter({ name: 'kubeproxy_sync_proxy_rules_service_changes_total', help: 'Cumulative proxy rules Service changes', registers });
    this.iptablesRestoreFailures = new Counter({ name: 'kubeproxy_sync_proxy_rules_iptables_restore_failures_total', help: 'Cumulative proxy iptables restore failures', labelNames: ['ip_family'], registers });
    this.nftablesSyncFailures = new Counter({ name: 'kubeproxy_sync_proxy_rules_nftables_sync_failures_total', help: 'Cumulative proxy nftables sync failures', labelNames: ['ip_family'], registers });
    this.noLocalEndpoints = new Gauge({ name: 'kubeproxy_sync_proxy_rules_no_local_endpoints_total', help: 'Number of services with a Local traffic policy and no endpoints', labelNames: ['traffic_policy', 'ip_family'], registers });
    this.networkProgramming = new Histogram({
      name: 'kubeproxy_network_programming_duration_seconds', help: 'In Cluster Network Programming Latency in seconds',
      labelNames: ['ip_family'], buckets: PROGRAMMING_BUCKETS, registers,
    });
    if (options.healthServer) {
      this.healthzTotal = new Counter({ name: 'kubeproxy_proxy_healthz_total', help: 'Cumulative proxy healthz HTTP status', labelNames: ['code'], registers });
      this.livezTotal = new Counter({ name: 'kubeproxy_proxy_livez_total', help: 'Cumulative proxy livez HTTP status', labelNames: ['code'], registers });
    }
    if (options.processMetrics !== false) collectDefaultMetrics({ register: this.registry });
  }

  /** One answer of the proxier health server (pkg/proxy/healthcheck/proxy_health.go counts each). */
  answered(path: '/healthz' | '/livez', code: number): void {
    (path === '/healthz' ? this.healthzTotal : this.livezTotal)?.inc({ code: String(code) });
  }

  /**
   * A sync of `family` installed EndpointSlice changes triggered at these wall-clock times (ms
   * since the epoch, from `endpoints.kubernetes.io/last-change-trigger-time`): observe how long
   * each took to reach the data plane, as kube-proxy's proxiers do after syncProxyRules.
   */
  programmed(family: IPFamilyLabel, triggerTimesMs: readonly number[], nowMs = Date.now()): void {
    for (const t of triggerTimesMs) this.networkProgramming.observe({ ip_family: family }, Math.max(0, nowMs - t) / 1000);
  }

  /**
   * A change passed the change tracker and waits for the next sync. A port whose frontends are
   * unchanged changed through its endpoints (an EndpointSlice change); any other is a Service change.
   */
  queued(changes: ServiceChanges, families: readonly IPFamilyLabel[]): void {
    const before = new Map(changes.previous.servicePorts.map((sp) => [sp, frontend(sp)] as const));
    const previousByKey = new Map(changes.previous.servicePorts.map((sp) => [`${sp.namespace}/${sp.name}:${sp.portName}/${sp.protocol}`, sp]));
    let endpoints = 0;
    let services = changes.added.length + changes.removed.length;
    for (const sp of changes.current.servicePorts) {
      const prev = previousByKey.get(`${sp.namespace}/${sp.name}:${sp.portName}/${sp.protocol}`);
      if (!prev || prev === sp) continue;
      if (before.get(prev) === frontend(sp)) {
        if (JSON.stringify(prev.backends) !== JSON.stringify(sp.backends)) endpoints++;
      } else services++;
    }
    this.endpointChangesTotal.inc(endpoints);
    this.endpointChangesPending.inc(endpoints);
    this.serviceChangesTotal.inc(services);
    this.serviceChangesPending.inc(services);
    for (const f of families) this.lastQueued.set({ ip_family: f }, Date.now() / 1000);
  }

  /** One data plane installed `model` for `family` (kube-proxy observes both the overall and the full/partial latency). */
  synced(result: { readonly full: boolean; readonly ms: number }, family: IPFamilyLabel, model: ServiceModel): void {
    const seconds = result.ms / 1000;
    this.syncDuration.observe({ ip_family: family }, seconds);
    (result.full ? this.syncFull : this.syncPartial).observe({ ip_family: family }, seconds);
    this.lastSync.set({ ip_family: family }, Date.now() / 1000);
    this.endpointChangesPending.set(0);
    this.serviceChangesPending.set(0);
    // iptables/proxier.go: a port with endpoints whose Local policy leaves it none to use (the
    // model's categorised `cluster` / `external` sets, per family as kube-proxy's proxiers see them).
    const v6 = family === 'IPv6';
    let internal = 0;
    let external = 0;
    for (const sp of model.servicePorts) {
      if (!sp.clusterIPs.some((ip) => ip.includes(':') === v6)) continue;
      const mine = sp.backends.filter((b) => b.ip.includes(':') === v6);
      if (!sp.hasEndpoints || mine.length === 0) continue;
      if (sp.internalTrafficPolicy === 'Local' && !mine.some((b) => b.cluster)) internal++;
      const externallyAccessible = sp.nodePort !== 0 || sp.externalIPs.length > 0 || sp.loadBalancerIPs.length > 0;
      if (sp.externalTrafficPolicy === 'Local' && externallyAccessible && !mine.some((b) => b.external)) external++;
    }
    this.noLocalEndpoints.set({ traffic_policy: 'internal', ip_family: family }, internal);
    this.noLocalEndpoints.set({ traffic_policy: 'external', ip_family: family }, external);
  }

  /**
   * A sync the kernel refused. kube-proxy counts every refused iptables-restore, and partial ones
   * also under `_partial_`; the appliers do not say which kind failed, so only the first is kept.
   */
  failed(mode: SyncMode, family: IPFamilyLabel): void {
    if (mode === 'iptables') this.iptablesRestoreFailures.inc({ ip_family: family });
    else if (mode === 'nftables') this.nftablesSyncFailures.inc({ ip_family: family });
  }
}

