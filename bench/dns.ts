/**
 * `npm run bench -- dns [--services 100] [--memory-services 10000] [--seconds 5] [--window 64]`:
 * `vipwasm dns` and the real CoreDNS (v1.14.7, `kubernetes` plugin) side by side on one real API
 * server (scripts/k8s), with the same objects, in one run.
 *
 * Rows:
 * - queries/s and latency (p50, p99) for A questions about random Services (80% ClusterIP, 20%
 *   headless with 3 endpoints), over UDP from one client socket keeping `--window` queries in
 *   flight for `--seconds`; each server is loaded in turn (the client shares the 2 cores with it,
 *   the same way for both);
 * - memory per 10k Services: resident memory (VmRSS) after syncing `--memory-services` more
 *   Services (each with a 3-endpoint EndpointSlice) minus before, scaled to 10k.
 * Needs the toolchains (npm run setup:k8s, scripts/dns/setup-coredns.sh) and a build (dist/);
 * otherwise it says why and writes nothing. Traffic stays on 127.0.0.1.
 */
import { createSocket } from 'node:dgram';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cluster, k8sToolchain } from '../scripts/k8s/cluster.js';
import { stopProcess, until } from '../scripts/k8s/proxies.js';
import { encodeQuery, queryDns } from '../scripts/dns/client.js';
import { type DnsRun, COREDNS_VERSION, corednsToolchain, startCoreDNS, startVipwasmDns } from '../scripts/dns/servers.js';
import { report } from './report.js';

const NAMESPACE = 'dnsbench';

function option(args: string[], name: string, fallback: number): number {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] ? Number(args[i + 1]) : fallback;
}

/** Services `from`..`to`-1: every fifth headless, each with a 3-endpoint EndpointSlice. */
function objects(from: number, to: number): object[] {
  const items: object[] = [];
  for (let i = from; i < to; i++) {
    const name = `svc-${i}`;
    const headless = i % 5 === 4;
    items.push({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: NAMESPACE }, spec: { ...(headless ? { clusterIP: 'None' } : {}), ports: [{ name: 'http', port: 80, targetPort: 8080 }] } });
    items.push({
      apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
      metadata: { name: `${name}-a`, namespace: NAMESPACE, labels: { 'kubernetes.io/service-name': name, 'endpointslice.kubernetes.io/managed-by': 'bench.vipwasm.io' } },
      addressType: 'IPv4', ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
      endpoints: [1, 2, 3].map((e) => ({ addresses: [`10.${(i >> 8) & 255}.${i & 255}.${e}`], conditions: { ready: true } })),
    });
  }
  return items;
}

/** Creates objects with a few kubectl processes in parallel (one List each). */
async function create(cluster: Cluster, items: object[]): Promise<void> {
  const chunk = 2000;
  const batches: object[][] = [];
  for (let i = 0; i < items.length; i += chunk) batches.push(items.slice(i, i + chunk));
  for (let i = 0; i < batches.length; i += 4) {
    await Promise.all(batches.slice(i, i + 4).map((b) => cluster.kubectl(['create', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: b }))));
  }
}

function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
}

interface Load { qps: number; p50Ms: number; p99Ms: number; lost: number }

/** Keeps `window` A queries in flight against `server` for `seconds`; a query unanswered in 1 s is lost. */
function load(server: { host: string; port: number }, names: string[], seconds: number, window: number): Promise<Load> {
  const queries = names.map((n) => encodeQuery(n, 'A', 0));
  const sock = createSocket('udp4');
  const inflight = new Map<number, number>();
  const latencies: number[] = [];
  let nextId = 0;
  let lost = 0;
  const started = performance.now();
  const end = started + seconds * 1000;
  const send = (): void => {
    do nextId = (nextId + 1) & 0xffff; while (inflight.has(nextId));
    const q = queries[Math.floor(Math.random() * queries.length)]!;
    q.writeUInt16BE(nextId, 0);
    inflight.set(nextId, performance.now());
    sock.send(q, server.port, server.host);
  };
  return new Promise((resolve) => {
    const sweep = setInterval(() => {
      const now = performance.now();
      for (const [id, t] of inflight) if (now - t > 1000) (inflight.delete(id), lost++, now < end && send());
      if (now >= end && inflight.size === 0) done();
    }, 200);
    sock.on('message', (m) => {
      const t = inflight.get(m.readUInt16BE(0));
      if (t === undefined) return;
      inflight.delete(m.readUInt16BE(0));
      const now = performance.now();
      latencies.push(now - t);
      if (now < end) send();
      else if (inflight.size === 0) done();
    });
    let finished = false;
    const done = (): void => {
      if (finished) return;
      finished = true;
      clearInterval(sweep);
      sock.close();
      const elapsed = (performance.now() - started) / 1000;
      latencies.sort((a, b) => a - b);
      const q = (p: number): number => Math.round((latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))] ?? 0) * 1000) / 1000;
      resolve({ qps: Math.round(latencies.length / elapsed), p50Ms: q(0.5), p99Ms: q(0.99), lost });
    };
    setTimeout(() => done(), (seconds + 3) * 1000).unref();
    sock.bind(0, '127.0.0.1', () => {
      for (let i = 0; i < window; i++) send();
    });
  });
}

async function synced(run: DnsRun, name: string): Promise<boolean> {
  const r = await queryDns(run.server, name, 'A', 'udp', 2000).catch(() => undefined);
  return (r?.answers?.length ?? 0) > 0;
}

export async function run(args: string[]): Promise<void> {
  const k8s = k8sToolchain();
  const coredns = corednsToolchain();
  const built = existsSync(new URL('../dist/host/cli/main.js', import.meta.url));
  const skip = !k8s.ok ? k8s.reason : !coredns.ok ? coredns.reason : !built ? 'dist/ not built (npm run build)' : undefined;
  if (skip) {
    console.log(`dns bench skipped: ${skip}`);
    return;
  }
  const services = option(args, '--services', 100);
  const memoryServices = option(args, '--memory-services', 10_000);
  const seconds = option(args, '--seconds', 5);
  const window = option(args, '--window', 64);
  const dir = mkdtempSync(join(tmpdir(), 'vipwasm-dns-bench-'));
  const cluster = await Cluster.start({ dir: join(dir, 'cluster'), serviceCIDR: '10.96.0.0/12' });
  const runs: DnsRun[] = [];
  try {
    await cluster.kubectl(['create', 'namespace', NAMESPACE]);
    await create(cluster, objects(0, services));
    runs.push(await startVipwasmDns(cluster.kubeconfig));
    runs.push(await startCoreDNS(cluster.kubeconfig, dir));
    const last = `svc-${services - 1}.${NAMESPACE}.svc.cluster.local`;
    for (const r of runs) await until(`${r.name} synced ${services} Services`, () => synced(r, last), 120_000);
    const names = Array.from({ length: services }, (_, i) => `svc-${i}.${NAMESPACE}.svc.cluster.local`);
    const rows: Record<string, unknown>[] = [];
    for (const r of runs) {
      await load(r.server, names, 1, window); // warm-up
      const l = await load(r.server, names, seconds, window);
      rows.push({ server: r.name === 'coredns' ? `coredns ${COREDNS_VERSION}` : 'vipwasm dns', metric: `A queries, ${services} Services, ${window} in flight`, qps: l.qps, p50Ms: l.p50Ms, p99Ms: l.p99Ms, lost: l.lost });
    }
    const before = runs.map((r) => rssMiB(r.child.pid!));
    const started = performance.now();
    await create(cluster, objects(services, services + memoryServices));
    const lastMore = `svc-${services + memoryServices - 1}.${NAMESPACE}.svc.cluster.local`;
    for (const r of runs) await until(`${r.name} synced ${memoryServices} more Services`, () => synced(r, lastMore), 600_000);
    await new Promise((res) => setTimeout(res, 3000)); // let both settle (GC, informer resyncs)
    runs.forEach((r, i) => {
      const after = rssMiB(r.child.pid!);
      rows.push({
        server: r.name === 'coredns' ? `coredns ${COREDNS_VERSION}` : 'vipwasm dns', metric: `memory after +${memoryServices} Services`,
        rssBeforeMiB: Math.round(before[i]! * 10) / 10, rssAfterMiB: Math.round(after * 10) / 10,
        miBPer10kServices: Math.round(((after - before[i]!) * 10_000 / memoryServices) * 10) / 10,
        syncedInS: Math.round((performance.now() - started) / 100) / 10,
      });
    });
    report('dns', rows);
  } finally {
    for (const r of runs) await stopProcess(r.child);
    await cluster.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
