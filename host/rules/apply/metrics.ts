/**
 * kube-proxy's own sync metrics for `vipwasm rules --watch`, with kube-proxy's names, labels and
 * buckets (pkg/proxy/metrics/metrics.go, v1.37), so dashboards and alerts written for kube-proxy
 * read vipwasm unchanged. vipwasm-only metrics would go under `vipwasm_`.
 *
 * Not exposed: `network_programming_duration_seconds` (needs the EndpointSlice
 * `endpoints.kubernetes.io/last-change-trigger-time` annotation, which the model does not carry),
 * the `iptables_total`/`iptables_last` rule counts, and the Windows and conntrack-reconciler ones.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ServiceModel, ModelServicePort } from '../../engine/model.js';
import type { ServiceChanges } from '../../model/change-tracker.js';
import type { RuleApplier, RuleMode, SyncResult } from './sync-result.js';

export type IPFamilyLabel = 'IPv4' | 'IPv6';

/** metrics.ExponentialBuckets(0.001, 2, 15): 1 ms … 16.384 s. */
const SYNC_BUCKETS = Array.from({ length: 15 }, (_, i) => 0.001 * 2 ** i);

/** The frontends of a port, without its endpoints: what tells a Service change from an endpoint change. */
function frontend(sp: ModelServicePort): string {
  const { backends: _backends, ...rest } = sp;
  return JSON.stringify(rest);
}

export class KubeProxyMetrics {
  readonly registry = new Registry();
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

  constructor(options: { processMetrics?: boolean } = {}) {
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
    if (options.processMetrics !== false) collectDefaultMetrics({ register: this.registry });
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

  /** One applier installed `model` (kube-proxy observes both the overall and the full/partial latency). */
  synced(result: SyncResult, family: IPFamilyLabel, model: ServiceModel): void {
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
  failed(mode: RuleMode, family: IPFamilyLabel): void {
    if (mode === 'iptables') this.iptablesRestoreFailures.inc({ ip_family: family });
    else if (mode === 'nftables') this.nftablesSyncFailures.inc({ ip_family: family });
  }
}

/** `applier`, reporting each sync (and each refused one) to `metrics` under its IP family. */
export function instrumented(applier: RuleApplier, family: IPFamilyLabel, metrics: KubeProxyMetrics): RuleApplier {
  return {
    mode: applier.mode,
    async sync(model) {
      try {
        const result = await applier.sync(model);
        metrics.synced(result, family, model);
        return result;
      } catch (err) {
        metrics.failed(applier.mode, family);
        throw err;
      }
    },
    forceFullSync: () => applier.forceFullSync(),
    cleanup: () => applier.cleanup(),
  };
}
