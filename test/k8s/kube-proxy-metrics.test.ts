/**
 * `vipwasm rules --watch --metrics-bind-address` against the real kube-proxy v1.37 as the oracle:
 * both watch one real API server from namespaces of their own, and every kubeproxy_* metric vipwasm
 * exposes must exist in kube-proxy's /metrics with the same type and labels, and move the same way
 * when an EndpointSlice changes.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cluster, k8sToolchain } from '../../scripts/k8s/cluster.js';
import {
  deleteNetns, inNetnsOutput, makeNetns, type ProxyRun, relayKubeconfig, startKubeProxy, startVipwasm, stopProcess, until,
} from '../../scripts/k8s/proxies.js';

const tool = k8sToolchain();
const root = process.getuid?.() === 0;
const skip = !tool.ok ? tool.reason : !root ? 'needs root (network namespaces, iptables)' : undefined;
if (skip) console.log(`kube-proxy metrics oracle skipped: ${skip}`);

const NODE = 'metrics-node';
const NODE_IP = '198.18.0.20';
const METRICS = '127.0.0.1:10249';

/** The metric families vipwasm must expose with kube-proxy's names. */
const REQUIRED = [
  'kubeproxy_sync_proxy_rules_duration_seconds',
  'kubeproxy_sync_full_proxy_rules_duration_seconds',
  'kubeproxy_sync_partial_proxy_rules_duration_seconds',
  'kubeproxy_sync_proxy_rules_last_timestamp_seconds',
  'kubeproxy_sync_proxy_rules_last_queued_timestamp_seconds',
  'kubeproxy_sync_proxy_rules_endpoint_changes_pending',
  'kubeproxy_sync_proxy_rules_endpoint_changes_total',
  'kubeproxy_sync_proxy_rules_service_changes_pending',
  'kubeproxy_sync_proxy_rules_service_changes_total',
  'kubeproxy_sync_proxy_rules_no_local_endpoints_total',
  'kubeproxy_sync_proxy_rules_iptables_restore_failures_total',
  'kubeproxy_network_programming_duration_seconds',
];

/** kube-proxy metrics (pkg/proxy/metrics/metrics.go) whose vectors stay empty until a sync fails. */
const ONLY_AFTER_FAILURE = ['kubeproxy_sync_proxy_rules_iptables_restore_failures_total', 'kubeproxy_sync_proxy_rules_nftables_sync_failures_total'];

interface Family {
  type: string;
  /** Sample lines: `name{labels}` → value. */
  samples: Map<string, number>;
  labelNames: Set<string>;
}

/** Prometheus text format → families (only kubeproxy_*). */
function parse(text: string): Map<string, Family> {
  const out = new Map<string, Family>();
  for (const line of text.split('\n')) {
    const type = /^# TYPE (kubeproxy_\S+) (\S+)/.exec(line);
    if (type) out.set(type[1]!, { type: type[2]!, samples: new Map(), labelNames: new Set() });
    const sample = /^(kubeproxy_[a-z_]+?)(_bucket|_sum|_count)?(\{[^}]*\})? (\S+)/.exec(line);
    if (!sample || line.startsWith('#')) continue;
    const fam = out.get(sample[1]!) ?? out.get(sample[1]! + (sample[2] ?? ''));
    if (!fam) continue;
    // Label order in the text format carries no meaning: sort, so keys compare across exporters.
    const pairs = [...(sample[3] ?? '').matchAll(/([a-z_]+)="([^"]*)"/g)].map((m) => [m[1]!, m[2]!] as const).sort((a, b) => (a[0] < b[0] ? -1 : 1));
    const labels = pairs.length ? `{${pairs.map(([k, v]) => `${k}="${v}"`).join(',')}}` : '';
    for (const [k] of pairs) if (k !== 'le') fam.labelNames.add(k);
    fam.samples.set(`${sample[1]}${sample[2] ?? ''}${labels}`, Number(sample[4]));
  }
  return out;
}

/** The value of one sample, `name{label="v",…}` with labels in name order. */
function value(fams: Map<string, Family>, key: string): number | undefined {
  for (const fam of fams.values()) if (fam.samples.has(key)) return fam.samples.get(key);
  return undefined;
}

async function scrape(run: ProxyRun): Promise<Map<string, Family>> {
  return parse(await inNetnsOutput(run.netns, ['curl', '-sf', `http://${METRICS}/metrics`]));
}

describe.skipIf(skip !== undefined)('kube-proxy metrics, against the real kube-proxy', () => {
  let dir: string;
  let cluster: Cluster;
  const runs: ProxyRun[] = [];
  const relays: ChildProcess[] = [];

  const slice = (ips: string[]) => ({
    apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
    metadata: { name: 'web-a', namespace: 'default', labels: { 'kubernetes.io/service-name': 'web', 'endpointslice.kubernetes.io/managed-by': 'test.vipwasm.io' } },
    addressType: 'IPv4', ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
    endpoints: ips.map((ip) => ({ addresses: [ip], conditions: { ready: true }, nodeName: 'other-node' })),
  });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vipwasm-kp-metrics-'));
    cluster = await Cluster.start({ dir: join(dir, 'cluster'), serviceCIDR: '10.96.0.0/12' });
    const objects = [
      { apiVersion: 'v1', kind: 'Node', metadata: { name: NODE }, status: { addresses: [{ type: 'InternalIP', address: NODE_IP }] } },
      { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'default' }, spec: { ports: [{ name: 'http', port: 80, targetPort: 8080 }] } },
      slice(['10.1.0.1', '10.1.0.2']),
      // NodePort with externalTrafficPolicy Local and its only endpoint on another node: counted in
      // no_local_endpoints_total{traffic_policy="external"} by both.
      { apiVersion: 'v1', kind: 'Service', metadata: { name: 'local', namespace: 'default' }, spec: { type: 'NodePort', externalTrafficPolicy: 'Local', ports: [{ name: 'http', port: 80, targetPort: 8080 }] } },
      {
        apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
        metadata: { name: 'local-a', namespace: 'default', labels: { 'kubernetes.io/service-name': 'local', 'endpointslice.kubernetes.io/managed-by': 'test.vipwasm.io' } },
        addressType: 'IPv4', ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
        endpoints: [{ addresses: ['10.2.0.1'], conditions: { ready: true }, nodeName: 'other-node' }],
      },
      // Its EndpointSlices come from the real controller, with last-change-trigger-time annotations
      // (the controller skips Pods whose Node does not exist).
      { apiVersion: 'v1', kind: 'Node', metadata: { name: 'other-node' }, status: { addresses: [{ type: 'InternalIP', address: '198.18.0.21' }] } },
      { apiVersion: 'v1', kind: 'Service', metadata: { name: 'prog', namespace: 'default' }, spec: { selector: { app: 'prog' }, ports: [{ name: 'http', port: 80, targetPort: 8080 }] } },
    ];
    await cluster.kubectl(['create', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }));
    for (const which of ['kube-proxy', 'vipwasm'] as const) {
      const netns = `vwmetrics-${process.pid}-${which === 'vipwasm' ? 'vw' : 'kp'}`;
      await makeNetns(netns, NODE_IP);
      const relay = await relayKubeconfig(cluster, dir, netns);
      relays.push(...relay.relays);
      const settings = { mode: 'iptables' as const, nodeName: NODE, nodeIP: NODE_IP, clusterCIDR: '198.19.0.0/16', metricsBindAddress: METRICS, minSyncPeriod: '0s' };
      runs.push(which === 'kube-proxy' ? startKubeProxy(relay.kubeconfig, dir, netns, settings) : startVipwasm(relay.kubeconfig, netns, settings));
    }
    for (const run of runs) {
      const synced = async () => {
        const f = await scrape(run).catch(() => undefined);
        return (f && value(f, 'kubeproxy_sync_proxy_rules_last_timestamp_seconds{ip_family="IPv4"}')) || 0;
      };
      await until(`${run.name} first sync`, async () => (await synced()) > 0, 60_000).catch((err: Error) => {
        throw new Error(`${err.message}; its log: ${run.log().slice(-600)}`);
      });
    }
  }, 120_000);

  afterAll(async () => {
    for (const run of runs) await stopProcess(run.child);
    for (const r of relays) await stopProcess(r);
    for (const run of runs) await deleteNetns(run.netns);
    await cluster?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('counts the Local NodePort without a local endpoint as kube-proxy does', async () => {
    const key = 'kubeproxy_sync_proxy_rules_no_local_endpoints_total{ip_family="IPv4",traffic_policy="external"}';
    const [kp, vw] = [await scrape(runs[0]!), await scrape(runs[1]!)];
    expect(value(kp, key)).toBe(1);
    expect(value(vw, key)).toBe(value(kp, key));
  });

  it('counts an EndpointSlice change, then syncs it: pending back to 0, one more partial sync', async () => {
    const before = await Promise.all(runs.map(scrape));
    await cluster.kubectl(['apply', '-f', '-'], JSON.stringify(slice(['10.1.0.1', '10.1.0.2', '10.1.0.3'])));
    for (const [i, run] of runs.entries()) {
      const total = (f: Map<string, Family>) => value(f, 'kubeproxy_sync_proxy_rules_endpoint_changes_total') ?? 0;
      const syncs = (f: Map<string, Family>) => value(f, 'kubeproxy_sync_proxy_rules_duration_seconds_count{ip_family="IPv4"}') ?? 0;
      await until(`${run.name} endpoint change counted and synced`, async () => {
        const now = await scrape(run);
        return total(now) > total(before[i]!) && syncs(now) > syncs(before[i]!) && value(now, 'kubeproxy_sync_proxy_rules_endpoint_changes_pending') === 0;
      }, 30_000);
    }
  });
  it('observes network programming latency of a controller-made EndpointSlice change, as kube-proxy does', async () => {
    const count = (f: Map<string, Family>) => value(f, 'kubeproxy_network_programming_duration_seconds_count{ip_family="IPv4"}') ?? 0;
    const sum = (f: Map<string, Family>) => value(f, 'kubeproxy_network_programming_duration_seconds_sum{ip_family="IPv4"}') ?? 0;
    const before = await Promise.all(runs.map(scrape));
    const pod = {
      apiVersion: 'v1', kind: 'Pod', metadata: { name: 'prog-1', namespace: 'default', labels: { app: 'prog' } },
      spec: { nodeName: 'other-node', containers: [{ name: 'c', image: 'registry.invalid/none', ports: [{ containerPort: 8080 }] }] },
    };
    await cluster.kubectl(['create', '-f', '-'], JSON.stringify(pod));
    await cluster.setPodStatus('default', 'prog-1', { ips: ['10.3.0.1'], ready: true });
    const after: Map<string, Family>[] = [];
    for (const [i, run] of runs.entries()) {
      await until(`${run.name} observes network programming`, async () => count((after[i] = await scrape(run))) > count(before[i]!), 30_000);
    }
    // Both measured the same trigger (the Pod's Ready transition) to their own sync: seconds, not hours.
    for (const [i, f] of after.entries()) {
      const latency = (sum(f) - sum(before[i]!)) / (count(f) - count(before[i]!));
      expect(latency, runs[i]!.name).toBeGreaterThan(0);
      expect(latency, runs[i]!.name).toBeLessThan(60);
    }
  });

  it("exposes kube-proxy's sync metric families (after full and partial syncs) with kube-proxy's types and labels", async () => {
    const [kp, vw] = [await scrape(runs[0]!), await scrape(runs[1]!)];
    const ours = [...vw.keys()].filter((n) => n.startsWith('kubeproxy_'));
    expect(ours).toEqual(expect.arrayContaining(REQUIRED));
    for (const name of ours) {
      // kube-proxy's vectors appear once a child exists: its failure counters only after a failure.
      if (!kp.has(name) && ONLY_AFTER_FAILURE.includes(name)) continue;
      expect(kp.has(name), `${name} is not among kube-proxy's metrics`).toBe(true);
      expect(vw.get(name)!.type, name).toBe(kp.get(name)!.type);
      if (kp.get(name)!.labelNames.size > 0 && vw.get(name)!.labelNames.size > 0) expect([...vw.get(name)!.labelNames].sort(), name).toEqual([...kp.get(name)!.labelNames].sort());
    }
  });
});
