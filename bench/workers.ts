/**
 * `npm run bench -- workers`: `vipwasm forward --workers 1` and `--workers 2` (one shared engine
 * state, issue 14 part 2) against HAProxy with `nbthread 1` and `nbthread 2`, same backends, same
 * run, loopback only (the rig of bench/forwarder.ts: nginx and iperf3 backends, wrk and iperf3
 * clients), with the bare Node proxy (node-pipe, one thread) as a reference: the conn/s a Node
 * proxy can reach at all here.
 *
 * Per round (`--rounds`, default 3), the four configurations run one after another in an order
 * rotated per round; each is started fresh, warmed up for 1 s, then measured: new connections/s
 * (wrk c=32, `Connection: close`), proxy CPU per connection, and bulk throughput (iperf3, 8
 * streams). Values are per-round medians. Targets (issue 14): per core ≥ 0.5× HAProxy's conn/s and
 * ≥ 1.0× its bulk throughput, 2 workers ≥ 1.7× one. With 2 workers it also reads the shared
 * engine's lock counters from /metrics around the conn/s run: the share of calls that found the
 * lock held (the one-lock design of engine/lock.ts is only right while that stays small).
 *
 * The clients run on the same CPUs as the proxies: on a 2-CPU machine a proxy with 2 threads
 * competes with wrk and the backends for them, so scaling is bounded by the machine, not only by
 * the proxy; HAProxy's own nbthread 2 / 1 ratio, measured alike, is printed beside ours.
 *
 * Several threads need `reusePort` (Node ≥ 22.12): on an older Node the forwarder runs on the
 * current Node LTS from scripts/node-lts.sh.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { report } from './report.js';
import {
  ENDPOINTS, HTTP_BACKENDS, IPERF_BACKEND, bundleCli, children, cpuSeconds, exec, flag, haproxyConfig, iperf, manifests, nginxConfig, nodePipeArgs, requireTools, root,
  start, stop, waitForListen, waitPort, wrk,
} from './forwarder/rig.js';
import { median } from './forwarder/verdict.js';
import { reusePortSupported } from '../host/forwarder/workers/worker-count.js';

/** `node-pipe-1`: the bare Node proxy (bench/node-pipe-proxy.mjs) on the same Node, the floor of any one-thread Node proxy. */
type Config = 'vipwasm-1' | 'vipwasm-2' | 'haproxy-1' | 'haproxy-2' | 'node-pipe-1';
const CONFIGS: readonly Config[] = ['vipwasm-1', 'haproxy-1', 'node-pipe-1', 'vipwasm-2', 'haproxy-2'];
const CONN = 'new connections/s (c=32)';
const CPU = 'proxy CPU per new connection';
const BULK = 'tcp bulk 8 streams';
const LOCK = 'engine lock calls that found it held (c=32)';

type Row = {
  case: string;
  target: string;
  value: number;
  unit: string;
  runs?: number[];
  goal?: string;
  met?: boolean;
};


/** A Node whose net and dgram have reusePort: this one, or the LTS scripts/node-lts.sh installs. */
async function nodeWithReusePort(): Promise<string> {
  if (reusePortSupported()) return process.execPath;
  const { stdout } = await exec('bash', [join(root, 'scripts', 'node-lts.sh')], { timeout: 600_000 });
  return join(stdout.trim(), 'node');
}

/** The proxy, and for vipwasm its /metrics URL (read from the summary line it prints once serving). */
async function startConfig(c: Config, dir: string, node: string): Promise<{ proxy: ChildProcess; metrics: Promise<string> | null }> {
  const threads = c.endsWith('2') ? 2 : 1;
  if (c.startsWith('haproxy')) {
    writeFileSync(join(dir, `haproxy-${threads}.cfg`), haproxyConfig(threads));
    return { proxy: start('haproxy', ['-f', join(dir, `haproxy-${threads}.cfg`), '-db'], c), metrics: null };
  }
  if (c === 'node-pipe-1') return { proxy: start(node, nodePipeArgs(), c, { ...process.env, NODE_OPTIONS: '' }), metrics: null };
  const proxy = start(node, [await bundleCli(), 'forward', '-f', join(dir, 'manifests'), '--service-cluster-ip-range', '127.97.0.0/16',
    '--node-name', 'bench-node', '--node-ip', '127.0.0.1', '--metrics-bind-address', '127.0.0.1:0', '--healthz-bind-address', 'off',
    '--log-level', 'warn', '--shutdown-grace', '1s', '--workers', String(threads)], c, { ...process.env, NODE_OPTIONS: '' });
  let out = '';
  const metrics = new Promise<string>((resolve) => {
    proxy.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const m = /metrics (http:\/\/\S+\/metrics)/.exec(out);
      if (m) resolve(m[1]!);
    });
  });
  return { proxy, metrics };
}

/** The shared engine's lock counters from /metrics (absent with one worker: no shared engine). */
async function lockSample(url: string): Promise<{ acquisitions: number; contended: number } | null> {
  const text = await (await fetch(url)).text();
  const read = (name: string): number => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
  const acquisitions = read('vipwasm_engine_lock_acquisitions_total');
  return Number.isFinite(acquisitions) ? { acquisitions, contended: read('vipwasm_engine_lock_contended_total') } : null;
}

/** One configuration, fresh: warm-up, conn/s with its CPU, bulk throughput. */
async function measure(c: Config, dir: string, node: string, seconds: number): Promise<Record<string, number>> {
  const target = c.startsWith('haproxy') ? 'haproxy' : c.startsWith('node-pipe') ? 'node-pipe' : 'vipwasm';
  const iperfServer = start('iperf3', ['-s', '-B', IPERF_BACKEND, '-p', '5201'], 'iperf3 -s');
  const { proxy, metrics } = await startConfig(c, dir, node);
  try {
    await waitForListen(IPERF_BACKEND, 5201);
    await waitPort(ENDPOINTS[target].http[0], 8080, c);
    await wrk(...ENDPOINTS[target].http, 32, 1, true);
    const url = metrics ? await metrics : null;
    const lock0 = url ? await lockSample(url) : null;
    const cpu0 = cpuSeconds(proxy.pid);
    const r = await wrk(...ENDPOINTS[target].http, 32, seconds, true);
    if (r.errors) console.log(`  ${c}: ${r.errors}`);
    const cpu = ((cpuSeconds(proxy.pid) - cpu0) * 1e6) / r.requests;
    const lock1 = url && lock0 ? await lockSample(url) : null;
    const bulk = await iperf(...ENDPOINTS[target].iperf, 8, seconds);
    const out: Record<string, number> = { [CONN]: r.rps, [CPU]: cpu, [BULK]: bulk.gbps };
    if (lock0 && lock1) out[LOCK] = (100 * (lock1.contended - lock0.contended)) / (lock1.acquisitions - lock0.acquisitions);
    return out;
  } finally {
    await stop(proxy);
    await stop(iperfServer);
  }
}

function goals(rows: Row[]): Row[] {
  const v = (c: string, t: string): number => rows.find((r) => r.case === c && r.target === t)?.value ?? NaN;
  const goal = (name: string, ratio: number, want: number): Row => ({
    case: `goal: ${name}`, target: 'ratio', value: Math.round(ratio * 1000) / 1000, unit: '×', goal: `≥ ${want}`, met: ratio >= want,
  });
  const reference = (name: string, ratio: number): Row => ({ case: `reference: ${name}`, target: 'ratio', value: Math.round(ratio * 1000) / 1000, unit: '×' });
  return [
    goal('conn/s, 1 worker ÷ haproxy nbthread 1', v(CONN, 'vipwasm-1') / v(CONN, 'haproxy-1'), 0.5),
    goal('conn/s, 2 workers ÷ haproxy nbthread 2', v(CONN, 'vipwasm-2') / v(CONN, 'haproxy-2'), 0.5),
    goal('bulk, 1 worker ÷ haproxy nbthread 1', v(BULK, 'vipwasm-1') / v(BULK, 'haproxy-1'), 1.0),
    goal('bulk, 2 workers ÷ haproxy nbthread 2', v(BULK, 'vipwasm-2') / v(BULK, 'haproxy-2'), 1.0),
    goal('conn/s scaling, 2 workers ÷ 1', v(CONN, 'vipwasm-2') / v(CONN, 'vipwasm-1'), 1.7),
    reference('haproxy conn/s scaling, nbthread 2 ÷ 1', v(CONN, 'haproxy-2') / v(CONN, 'haproxy-1')),
    reference('conn/s, node-pipe (bare Node proxy) ÷ haproxy nbthread 1', v(CONN, 'node-pipe-1') / v(CONN, 'haproxy-1')),
    reference('conn/s, 1 worker ÷ node-pipe', v(CONN, 'vipwasm-1') / v(CONN, 'node-pipe-1')),
  ];
}

export async function run(args: string[]): Promise<void> {
  const seconds = Math.min(60, Math.max(1, Number(flag(args, '--seconds') ?? 4)));
  const rounds = Math.min(20, Math.max(1, Number(flag(args, '--rounds') ?? 3)));
  await requireTools();
  const node = await nodeWithReusePort();
  const dir = mkdtempSync(join(tmpdir(), 'vipwasm-bench-workers-'));
  const runs = new Map<string, number[]>();
  const loads: number[] = [];
  try {
    writeFileSync(join(dir, 'nginx.conf'), nginxConfig(dir));
    mkdirSync(join(dir, 'manifests'));
    writeFileSync(join(dir, 'manifests', 'bench.yaml'), manifests());
    const nginx = start('nginx', ['-c', join(dir, 'nginx.conf'), '-p', dir], 'nginx');
    await waitPort(HTTP_BACKENDS[0]!, 8080, 'nginx');
    for (let round = 0; round < rounds; round++) {
      const order = CONFIGS.map((_, i) => CONFIGS[(i + round) % CONFIGS.length]!);
      loads.push(Math.round(loadavg()[0]! * 10) / 10);
      console.log(`== workers, round ${round + 1}/${rounds} (${order.join(', ')}; load ${loads.at(-1)} on ${availableParallelism()} CPUs; forwarder on Node ${node === process.execPath ? process.version : node})`);
      for (const c of order) {
        const m = await measure(c, dir, node, seconds);
        for (const [k, value] of Object.entries(m)) runs.set(`${c}\0${k}`, [...(runs.get(`${c}\0${k}`) ?? []), value]);
        console.log(`  ${c.padEnd(10)} ${Object.entries(m).map(([k, value]) => `${k} ${value.toFixed(2)}`).join('; ')}`);
      }
    }
    await stop(nginx);
  } finally {
    await Promise.all([...children].map((c) => stop(c)));
    rmSync(dir, { recursive: true, force: true });
  }
  const units: Record<string, string> = { [CONN]: 'conn/s', [CPU]: 'µs/conn', [BULK]: 'Gbit/s', [LOCK]: '%' };
  const rows: Row[] = [];
  for (const c of CONFIGS) {
    for (const k of [CONN, CPU, BULK, LOCK]) {
      const v = runs.get(`${c}\0${k}`) ?? [];
      if (v.length && v.every(Number.isFinite)) rows.push({ case: k, target: c, value: Math.round(median(v) * 1000) / 1000, unit: units[k]!, runs: v.map((x) => Math.round(x * 1000) / 1000) });
    }
  }
  rows.push(...goals(rows));
  report('workers', rows);
  const busy = loads.filter((l) => l > availableParallelism());
  if (busy.length) console.log(`note: load average above the CPU count in ${busy.length} of ${loads.length} rounds (${loads.join(', ')}); repeat on a quieter machine before quoting`);
}
