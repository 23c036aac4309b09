/**
 * `npm run bench -- rules`: the rule exporter at 1k and 10k Services × 10 endpoints.
 *
 * - render: model → full iptables-restore / nft text, and a partial sync (one Service changed);
 * - sync: the same applied to a real kernel (iptables-restore --noflush / nft -f) in a network
 *   namespace, full then partial; iptables both through the default `iptables` (nft backend; full
 *   syncs in bounded batches) and through iptables-legacy (mode `iptables-legacy`);
 * - first-connection: TCP connect → first byte through the installed rules from a client namespace to a
 *   Service that sorts last (iptables walks KUBE-SERVICES linearly; nftables uses a verdict map),
 *   p50 and p99 over 200 connections.
 * Rows { case, mode, services, ms } → bench/results/rules.json. Kernel rows need root (skipped otherwise).
 * `--quick` runs 1k only; `--render-only` skips the kernel rows.
 */
import { report } from './report.js';
import type { ModelBackend, ModelServicePort, ServiceModel } from '../host/engine/model.js';
import { clearIptablesRenderCache, iptablesRestoreFull, iptablesRestorePartial, renderIptables } from '../host/rules/render-iptables.js';
import { clearNftablesRenderCache, nftTransactionFull, nftTransactionPartial, renderNftables } from '../host/rules/render-nftables.js';
import { createApplier, type RuleMode } from '../host/rules/apply/index.js';
import { BACKEND_PORT, BACKENDS, NODE_IP, POD_CIDR, Topology, netnsUnavailableReason } from '../test/e2e/netns/topology.js';

interface Row extends Record<string, unknown> {
  case: string;
  mode: string;
  services: number;
  ms: number;
}

const ENDPOINTS_PER_SERVICE = 10;

function ep(ip: string, port: number): ModelBackend {
  return { ip, port, weight: 1, ready: true, serving: true, terminating: false, local: false, cluster: true, external: true };
}

function ip4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/**
 * `count` ClusterIP Services in 198.19.0.0/16 with 10 endpoints each (never-used addresses in
 * 198.18.64.0/18); the last one (`zz-target`) has the three real backends of the test topology.
 * `generation` shifts the first Service's endpoints (the "one Service changed" case).
 */
function syntheticModel(count: number, generation = 0): ServiceModel {
  const base = (198 << 24) | (19 << 16);
  const fakeBase = (198 << 24) | (18 << 16) | (64 << 8);
  const servicePorts: ModelServicePort[] = [];
  for (let s = 0; s < count; s++) {
    const target = s === count - 1;
    const backends = target
      ? BACKENDS.map((b) => ep(b.ip, BACKEND_PORT))
      : Array.from({ length: ENDPOINTS_PER_SERVICE }, (_, i) => ep(ip4((fakeBase + ((s * ENDPOINTS_PER_SERVICE + i + (s === 0 ? generation : 0)) % 16384)) >>> 0), 8080));
    servicePorts.push({
      namespace: 'bench',
      name: target ? 'zz-target' : `svc-${String(s).padStart(5, '0')}`,
      portName: 'http',
      type: 'ClusterIP',
      protocol: 'TCP',
      port: 80,
      clusterIPs: [ip4((base + 1 + s) >>> 0)],
      nodePort: 0,
      externalIPs: [],
      loadBalancerIPs: [],
      loadBalancerSourceRanges: [],
      scheduler: 'random',
      schedulerFlags: { port: false, fallback: false },
      sessionAffinity: 'None',
      affinityTimeoutSeconds: 10800,
      externalTrafficPolicy: 'Cluster',
      internalTrafficPolicy: 'Cluster',
      healthCheckNodePort: 0,
      hasEndpoints: true,
      backends: backends.sort((a, b) => (a.ip < b.ip ? -1 : 1)),
    });
  }
  return { nodeIPs: [NODE_IP], servicePorts };
}

/** Median wall time of `fn` over `runs` runs (`before` runs untimed before each). */
function median(runs: number, fn: () => unknown, before: () => void = () => undefined): number {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    before();
    const t = performance.now();
    fn();
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

const round = (ms: number) => Math.round(ms * 100) / 100;
const rules = { clusterCIDRs: [POD_CIDR] };

/**
 * The model after one Service changed. Unchanged Services are the same objects, as a source that
 * tracks changes (kube-proxy's ServiceChangeTracker; our model's change tracker) hands them over.
 */
function oneChanged(before: ServiceModel, count: number): ServiceModel {
  const changed = syntheticModel(count, 1).servicePorts[0]!;
  return { ...before, servicePorts: [changed, ...before.servicePorts.slice(1)] };
}

function renderRows(count: number): Row[] {
  const before = syntheticModel(count);
  const after = oneChanged(before, count);
  const runs = count >= 10_000 ? 3 : 10;
  const cold = () => {
    clearIptablesRenderCache();
    clearNftablesRenderCache();
    // Start each timed render from a collected heap: the previous run's garbage is not this run's cost.
    (globalThis as { gc?: () => void }).gc?.();
  };
  // Partial: the installed ruleset is the render of `before` just before (so the memo holds its ports,
  // as in the appliers), then one Service changed.
  let ipt = renderIptables(before, rules);
  let nft = renderNftables(before, rules);
  return [
    { case: 'render full (cold: no cached ports)', mode: 'iptables', services: count, ms: round(median(runs, () => iptablesRestoreFull(renderIptables(before, rules)), cold)) },
    { case: 'render partial (1 Service changed)', mode: 'iptables', services: count, ms: round(median(runs, () => iptablesRestorePartial(ipt, renderIptables(after, rules)), () => (ipt = renderIptables(before, rules)))) },
    { case: 'render full (cold: no cached ports)', mode: 'nftables', services: count, ms: round(median(runs, () => nftTransactionFull(renderNftables(before, rules)), cold)) },
    { case: 'render partial (1 Service changed)', mode: 'nftables', services: count, ms: round(median(runs, () => nftTransactionPartial(nft, renderNftables(after, rules)), () => (nft = renderNftables(before, rules)))) },
  ];
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

type KernelMode = RuleMode | 'iptables-legacy';

async function kernelRows(net: Topology, mode: KernelMode, count: number): Promise<Row[]> {
  const applier =
    mode === 'iptables-legacy'
      ? createApplier('iptables', { runner: net.nodeRunner, rules, conntrackCleanup: false, iptablesBackend: 'legacy' })
      : createApplier(mode, { runner: net.nodeRunner, rules, conntrackCleanup: false });
  const rows: Row[] = [];
  try {
    const before = syntheticModel(count);
    const full = await applier.sync(before);
    rows.push({ case: 'sync full (applied)', mode, services: count, ms: round(full.ms) });
    const partial = await applier.sync(oneChanged(before, count));
    if (partial.full) throw new Error('expected a partial sync');
    rows.push({ case: 'sync partial, 1 Service changed (applied)', mode, services: count, ms: round(partial.ms) });
    const vip = before.servicePorts[count - 1]!.clusterIPs[0]!;
    await net.request(vip, 80, 20); // warm up
    const outcomes = await net.request(vip, 80, 200);
    const failed = outcomes.filter((o) => !o.ok);
    if (failed.length) throw new Error(`${failed.length} connections failed: ${failed[0]!.error}`);
    const ms = outcomes.map((o) => o.ms).sort((a, b) => a - b);
    rows.push({ case: 'first connection p50', mode, services: count, ms: percentile(ms, 50) });
    rows.push({ case: 'first connection p99', mode, services: count, ms: percentile(ms, 99) });
  } finally {
    await applier.cleanup();
    await net.flushConntrack();
  }
  return rows;
}

export async function run(args: string[]): Promise<void> {
  const sizes = args.includes('--quick') ? [1000] : [1000, 10_000];
  const rows: Row[] = [];
  for (const n of sizes) rows.push(...renderRows(n));
  if (args.includes('--render-only')) return report('rules', rows);
  const skip = netnsUnavailableReason();
  if (skip) {
    console.warn(`rules bench: kernel rows skipped: ${skip}`);
  } else {
    const net = new Topology();
    await net.create();
    try {
      const direct = (await net.request(BACKENDS[0].ip, BACKEND_PORT, 200)).map((o) => o.ms).sort((a, b) => a - b);
      rows.push({ case: 'first connection p50 (direct, no Service)', mode: 'none', services: 0, ms: percentile(direct, 50) });
      for (const n of sizes) {
        // iptables-nft 1.8.9 restores superlinearly in the transaction size (one 1k-Service transaction:
        // 40 s), so the applier splits its full syncs into bounded batches (iptablesRestoreFullChunks).
        const modes: KernelMode[] = ['iptables', 'iptables-legacy', 'nftables'];
        for (const mode of modes) rows.push(...(await kernelRows(net, mode, n)));
      }
    } finally {
      await net.destroy();
    }
  }
  report('rules', rows);
}
