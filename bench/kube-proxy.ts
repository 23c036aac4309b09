/**
 * `npm run bench -- kube-proxy [--sizes 1000,10000] [--modes iptables,nftables]`: the real
 * kube-proxy and `vipwasm rules --watch` side by side, on one real API server (scripts/k8s) with
 * the same objects, each in a network namespace of its own with the same node address.
 *
 * Rows per mode and size (N Services × 10 endpoints, EndpointSlices written directly):
 * - full sync: from the proxy's start to every Service's chain installed;
 * - partial sync: from one EndpointSlice change in the API to that endpoint's chain installed
 *   (median of a few changes);
 * - CPU seconds (user + system, from /proc) and resident memory (VmRSS, peak VmHWM) of each.
 * Both are observed the same way (polling the kernel's ruleset in its namespace), so the polling
 * cost is the same on both sides. `VIPWASM_BENCH_NODE_ARGS="--cpu-prof"` profiles vipwasm. Nothing is sent over the network: rules are only installed.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { iptablesEndpointChain, nftServiceChains } from '../host/rules/names.js';
import { Cluster, k8sToolchain } from '../scripts/k8s/cluster.js';
import {
  deleteNetns, makeNetns, type ProxyMode, type ProxyRun, relayKubeconfig, startKubeProxy, startVipwasm, stopProcess, until,
} from '../scripts/k8s/proxies.js';
import { report } from './report.js';

const execFileP = promisify(execFile);
const NODE = 'bench-node';
const NODE_IP = '198.18.0.10';
const ENDPOINTS = 10;
const NAMESPACE = 'bench';

type Mode = ProxyMode;

function option(args: string[], name: string, fallback: string): string {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] ? args[i + 1] : fallback;
}

async function sh(cmd: string, args: string[]): Promise<string> {
  return (await execFileP(cmd, args, { maxBuffer: 1 << 30 })).stdout;
}

/** `N` selector-less Services with one EndpointSlice of ten endpoints each, as a List. */
function objects(from: number, to: number): string {
  const items: unknown[] = [];
  for (let i = from; i < to; i++) {
    const name = `svc-${i}`;
    items.push({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: NAMESPACE }, spec: { ports: [{ name: 'http', port: 80, targetPort: 8080 }] } });
    items.push(slice(name, i, ENDPOINTS));
  }
  return JSON.stringify({ apiVersion: 'v1', kind: 'List', items });
}

/** Endpoint `e` of Service `service`: 10.<service/256>.<service%256>.<e+1>, unique up to 64k Services. */
function endpointIP(service: number, e: number): string {
  return `10.${(service >> 8) & 255}.${service & 255}.${e + 1}`;
}

function slice(service: string, index: number, count: number): unknown {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: `${service}-a`, namespace: NAMESPACE, labels: { 'kubernetes.io/service-name': service, 'endpointslice.kubernetes.io/managed-by': 'bench.vipwasm.io' } },
    addressType: 'IPv4',
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
    endpoints: Array.from({ length: count }, (_, e) => ({ addresses: [endpointIP(index, e)], conditions: { ready: true }, nodeName: 'other-node' })),
  };
}

async function createObjects(cluster: Cluster, size: number): Promise<void> {
  await cluster.apply(JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NAMESPACE } }));
  await cluster.apply(JSON.stringify({ apiVersion: 'v1', kind: 'Node', metadata: { name: NODE }, status: { addresses: [{ type: 'InternalIP', address: NODE_IP }] } }));
  for (let from = 0; from < size; from += 500) await cluster.kubectl(['create', '-f', '-'], objects(from, Math.min(size, from + 500)));
}

/** The number of service chains installed in a namespace (KUBE-SVC-… / service-… chains). */
async function serviceChains(netns: string, mode: Mode): Promise<number> {
  if (mode === 'iptables') {
    const out = await sh('ip', ['netns', 'exec', netns, 'iptables-save', '-t', 'nat']);
    return out.split('\n').filter((l) => l.startsWith(':KUBE-SVC-')).length;
  }
  const out = await sh('ip', ['netns', 'exec', netns, 'nft', 'list', 'chains', 'ip']).catch(() => '');
  return out.split('\n').filter((l) => /^\s*chain service-/.test(l)).length;
}

/**
 * Whether one new endpoint is installed, read from one chain rather than the whole table: its
 * KUBE-SEP chain in iptables mode; in nftables mode the service chain's dnat map or endpoint-chain
 * jump (kube-proxy v1.37 dnats straight from the service chain when no endpoint chain is needed).
 */
async function hasEndpoint(netns: string, mode: Mode, service: number, ip: string): Promise<boolean> {
  const sp = { namespace: NAMESPACE, name: `svc-${service}`, portName: 'http', protocol: 'TCP' as const };
  if (mode === 'iptables') {
    const args = ['netns', 'exec', netns, 'iptables', '-t', 'nat', '-S', iptablesEndpointChain(sp, { ip, port: 8080 })];
    return execFileP('ip', args).then(() => true, () => false);
  }
  const args = ['netns', 'exec', netns, 'nft', 'list', 'chain', 'ip', 'kube-proxy', nftServiceChains(sp).service];
  const out = await execFileP('ip', args).then((r) => r.stdout, () => '');
  return out.includes(`${ip} . 8080`) || out.includes(`__${ip}/8080`);
}

/** user+system CPU seconds and memory of a process (and its children, for `ip netns exec`). */
function usage(pid: number): { cpu: number; rssMiB: number; hwmMiB: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]);
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return { cpu: ticks / 100, rssMiB: kb('VmRSS') / 1024, hwmMiB: kb('VmHWM') / 1024 };
}

async function measure(cluster: Cluster, mode: Mode, size: number, run: ProxyRun): Promise<Record<string, unknown>> {
  const pid = run.child.pid!;
  const full = await until(`${run.name} full sync of ${size}`, async () => (await serviceChains(run.netns, mode)) >= size, 600_000);
  const afterFull = usage(pid);
  const partials: number[] = [];
  for (let k = 0; k < 5; k++) {
    const service = Math.floor(((k + 1) * size) / 7);
    const ip = `10.250.${k}.${(size % 200) + (run.name === 'vipwasm' ? 1 : 2)}`;
    const edited = slice(`svc-${service}`, service, ENDPOINTS) as { endpoints: unknown[] };
    edited.endpoints.push({ addresses: [ip], conditions: { ready: true }, nodeName: 'other-node' });
    await cluster.kubectl(['apply', '-f', '-'], JSON.stringify(edited));
    const t0 = performance.now();
    await until(`${run.name} partial sync`, () => hasEndpoint(run.netns, mode, service, ip), 120_000);
    partials.push(performance.now() - t0);
    await new Promise((r) => setTimeout(r, 1100)); // past min-sync-period, so each change is its own sync
  }
  const end = usage(pid);
  partials.sort((a, b) => a - b);
  return {
    mode,
    services: size,
    proxy: run.name,
    'full sync s': +(full / 1000).toFixed(2),
    'partial sync ms (median)': Math.round(partials[2]),
    'partial sync ms (max)': Math.round(partials[4]),
    'cpu s to full sync': +afterFull.cpu.toFixed(2),
    'cpu s per partial': +((end.cpu - afterFull.cpu) / partials.length).toFixed(3),
    'rss MiB': Math.round(end.rssMiB),
    'peak rss MiB': Math.round(end.hwmMiB),
  };
}

export async function run(args: string[]): Promise<void> {
  const tool = k8sToolchain();
  if (!tool.ok) {
    console.log(`kube-proxy bench skipped: ${tool.reason}`);
    return;
  }
  if (process.getuid?.() !== 0) {
    console.log('kube-proxy bench skipped: needs root (network namespaces, iptables, nft)');
    return;
  }
  const sizes = option(args, '--sizes', '1000,10000').split(',').map(Number);
  const modes = option(args, '--modes', 'iptables,nftables').split(',') as Mode[];
  const rows: Record<string, unknown>[] = [];
  for (const size of sizes) {
    const dir = mkdtempSync(join(tmpdir(), 'vipwasm-bench-kp-'));
    const cluster = await Cluster.start({ dir: join(dir, 'cluster'), serviceCIDR: '10.96.0.0/12' });
    try {
      await createObjects(cluster, size);
      for (const mode of modes) {
        for (const which of ['kube-proxy', 'vipwasm'] as const) {
          const netns = `vwbench-${process.pid}-${which === 'vipwasm' ? 'vw' : 'kp'}`;
          await makeNetns(netns, NODE_IP);
          const { kubeconfig, relays } = await relayKubeconfig(cluster, dir, netns);
          const settings = { mode, nodeName: NODE, nodeIP: NODE_IP, clusterCIDR: '198.19.0.0/16' };
          const nodeArgs = process.env.VIPWASM_BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
          const proxy = which === 'kube-proxy' ? startKubeProxy(kubeconfig, dir, netns, settings) : startVipwasm(kubeconfig, netns, settings, nodeArgs);
          proxy.child.on('exit', (code) => code && console.error(`${proxy.name} exited ${code}: ${proxy.log()}`));
          try {
            rows.push(await measure(cluster, mode, size, proxy));
            console.log(rows.at(-1));
          } finally {
            await stopProcess(proxy.child);
            for (const r of relays) await stopProcess(r);
            await deleteNetns(netns);
          }
        }
      }
    } finally {
      await cluster.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  }
  report('kube-proxy', rows);
}
