/**
 * `npm run bench -- forwarder`: the Node forwarder against HAProxy (TCP mode, one process, one
 * thread), against a bare Node pipe proxy and against direct connections, same backends, same run,
 * loopback only.
 *
 * Backends: iperf3 (bulk throughput, 1 and 8 streams) and Debian nginx (small HTTP answers) on
 * 127.246.0.x. Clients: iperf3 and wrk (one thread). Targets: direct, haproxy, node-pipe
 * (bench/node-pipe-proxy.mjs: net.Server + net.connect + pipe, no engine, the floor any Node proxy
 * stands on) and vipwasm (the bundled CLI, `vipwasm forward --workers 1`: one thread, as the
 * others; bench/workers.ts measures several).
 *
 * Two phases:
 *   1. per target in turn (iperf3's server is restarted per target): tcp bulk 1 / 8 streams
 *      (Gbit/s, proxy CPU per GB) and http keep-alive requests/s (wrk c=32);
 *   2. new connections, interleaved: every proxy runs at once on its own address, each gets a 1 s
 *      warm-up, then `--rounds` rounds; in each round every case (wrk `Connection: close`: c=32
 *      for connections/s and proxy CPU per connection, c=1 for the latency a proxy adds on an idle
 *      path, c=4 for a closed loop that saturates a CPU-bound proxy) runs once per target, targets
 *      in an order rotated per round. Values are per-round medians; ratios are medians of per-round
 *      ratios (vipwasm and node-pipe measured seconds apart, never minutes).
 * Fairness: node-pipe and vipwasm listen the same way (net.Server, backlog 4096, allowHalfOpen,
 * noDelay) and connect the same way (net.connect, noDelay), run on the same Node with the same
 * (empty) NODE_OPTIONS, and see the same wrk runs.
 * Options: `--seconds=N` per measurement (default 4), `--rounds=N` (default 3),
 * `--only=vipwasm,haproxy,direct,node-pipe`, `--phases=bulk,conn` (default both),
 * `--cpu-prof=DIR` (runs the forwarder and node-pipe with node --cpu-prof, profiles written to DIR).
 * Writes rows {case, target, value, unit, runs?} plus one `goal:` row per issue-14 target (ratio,
 * goal, met) to bench/results/forwarder.json, and prints ratios and verdicts.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { report } from './report.js';
import {
  ENDPOINTS, HTTP_BACKENDS, IPERF_BACKEND, TARGETS, bundleCli, children, cpuSeconds, exec, flag, haproxyConfig, iperf, manifests,
  nginxConfig, nodePipeArgs, requireTools, root, start, stop, waitForListen, waitPort, wrk, type Target,
} from './forwarder/rig.js';
import { CASES, median, printRatios, verdictRows, type Row } from './forwarder/verdict.js';

interface Settings {
  readonly seconds: number;
  readonly rounds: number;
  readonly dir: string;
  readonly cpuProf: string | undefined;
}

function record(rows: Row[], target: Target, c: string, value: number, unit: string, runs?: number[]): void {
  if (!Number.isFinite(value)) return;
  rows.push({ case: c, target, value: Math.round(value * 1000) / 1000, unit, ...(runs ? { runs: runs.map((v) => Math.round(v * 1000) / 1000) } : {}) });
  console.log(`  ${target.padEnd(9)} ${c.padEnd(40)} ${value.toFixed(3)} ${unit}${runs ? `  [${runs.map((v) => v.toFixed(3)).join(' ')}]` : ''}`);
}

/** Node flags that write a V8 CPU profile into `--cpu-prof=DIR` (node-pipe's too: the floor to compare with). */
function profile(s: Settings): string[] {
  return s.cpuProf ? ['--cpu-prof', '--cpu-prof-dir', resolve(s.cpuProf)] : [];
}

/** Starts a target's proxy process (none for `direct`). */
async function startProxy(target: Target, s: Settings): Promise<ChildProcess | undefined> {
  const quietNode = { ...process.env, NODE_OPTIONS: '' };
  if (target === 'haproxy') return start('haproxy', ['-f', join(s.dir, 'haproxy.cfg'), '-db'], 'haproxy');
  if (target === 'node-pipe') return start(process.execPath, [...profile(s), ...nodePipeArgs()], 'node-pipe proxy', quietNode);
  if (target === 'vipwasm') {
    const node = [...profile(s), await bundleCli()];
    return start(process.execPath, [...node, 'forward', '-f', join(s.dir, 'manifests'), '--service-cluster-ip-range', '127.97.0.0/16',
      '--node-name', 'bench-node', '--node-ip', '127.0.0.1', '--metrics-bind-address', 'off', '--healthz-bind-address', 'off', '--log-level', 'warn', '--shutdown-grace', '1s', '--workers', '1'], 'vipwasm forward',
      quietNode);
  }
  return undefined;
}

/** Phase 1: bulk throughput and keep-alive requests/s, one target at a time. */
async function bulkPhase(only: readonly Target[], s: Settings, rows: Row[]): Promise<void> {
  for (const target of only) {
    console.log(`== bulk: ${target}`);
    const proxy = await startProxy(target, s);
    // iperf3 -s gives up on a control connection that closes without a test (a port probe),
    // so it is started fresh per target and only the HTTP port is probed through the proxy.
    const iperfServer = start('iperf3', ['-s', '-B', IPERF_BACKEND, '-p', '5201'], 'iperf3 -s');
    try {
      await waitForListen(IPERF_BACKEND, 5201);
      if (target !== 'direct') await waitPort(ENDPOINTS[target].http[0], 8080, target);
      const [iIP, iPort] = ENDPOINTS[target].iperf;
      for (const streams of [1, 8]) {
        const cpu0 = cpuSeconds(proxy?.pid);
        const r = await iperf(iIP, iPort, streams, s.seconds);
        const name = `tcp bulk ${streams} stream${streams > 1 ? 's' : ''}`;
        record(rows, target, name, r.gbps, 'Gbit/s');
        record(rows, target, `${name}: proxy CPU per GB`, ((cpuSeconds(proxy?.pid) - cpu0) * 1000) / (r.bytes / 1e9), 'ms/GB');
      }
      const [hIP, hPort] = ENDPOINTS[target].http;
      record(rows, target, 'http keep-alive requests/s (c=32)', (await wrk(hIP, hPort, 32, s.seconds, false)).rps, 'req/s');
    } finally {
      await stop(proxy);
      await stop(iperfServer);
    }
  }
}

/**
 * Phase 2: new connections, every proxy running, targets interleaved per case and round. Returns
 * the 1-minute load average at the start of each round (a busy machine shows there first).
 */
async function connPhase(only: readonly Target[], s: Settings, rows: Row[]): Promise<number[]> {
  const loads: number[] = [];
  const proxies = new Map<Target, ChildProcess | undefined>();
  try {
    for (const t of only) proxies.set(t, await startProxy(t, s));
    for (const t of only) if (t !== 'direct') await waitPort(ENDPOINTS[t].http[0], 8080, t);
    for (const t of only) await wrk(...ENDPOINTS[t].http, 32, 1, true); // warm-up: JIT, caches, accept queues
    const runs = new Map<string, number[]>();
    const push = (t: Target, c: string, v: number): void => {
      const k = `${t}\0${c}`;
      runs.set(k, [...(runs.get(k) ?? []), v]);
    };
    for (let round = 0; round < s.rounds; round++) {
      const order = only.map((_, i) => only[(i + round) % only.length]!);
      loads.push(Math.round(loadavg()[0]! * 10) / 10);
      console.log(`== new connections, round ${round + 1}/${s.rounds} (${order.join(', ')}; load ${loads.at(-1)} on ${availableParallelism()} CPUs)`);
      for (const conns of [32, 1, 4]) {
        for (const t of order) {
          const pid = proxies.get(t)?.pid;
          const cpu0 = cpuSeconds(pid);
          const r = await wrk(...ENDPOINTS[t].http, conns, s.seconds, true);
          if (r.errors) console.log(`  ${t} c=${conns}: ${r.errors}`);
          if (conns === 32) {
            push(t, CASES.connRate, r.rps);
            push(t, CASES.connCpu, ((cpuSeconds(pid) - cpu0) * 1e6) / r.requests);
          } else {
            push(t, conns === 1 ? CASES.p50c1 : CASES.p50c4, r.p50);
            push(t, conns === 1 ? CASES.p99c1 : CASES.p99c4, r.p99);
          }
        }
      }
    }
    const units: Record<string, string> = { [CASES.connRate]: 'conn/s', [CASES.connCpu]: 'µs/conn' };
    for (const t of only) {
      for (const c of Object.values(CASES)) {
        const v = runs.get(`${t}\0${c}`);
        if (v && v.every(Number.isFinite)) record(rows, t, c, median(v), units[c] ?? 'ms', v);
      }
    }
  } finally {
    for (const p of proxies.values()) await stop(p);
  }
  return loads;
}


export async function run(args: string[]): Promise<void> {
  const seconds = Math.min(60, Math.max(1, Number(flag(args, '--seconds') ?? 4)));
  const rounds = Math.min(20, Math.max(1, Number(flag(args, '--rounds') ?? 3)));
  const only = (flag(args, '--only') ?? TARGETS.join(',')).split(',') as Target[];
  for (const t of only) if (!TARGETS.includes(t)) throw new Error(`bench forwarder: --only: unknown target "${t}" (want ${TARGETS.join(', ')})`);
  const phases = (flag(args, '--phases') ?? 'bulk,conn').split(',');
  for (const p of phases) if (p !== 'bulk' && p !== 'conn') throw new Error(`bench forwarder: --phases: unknown phase "${p}" (want bulk, conn)`);
  await requireTools();
  const dir = mkdtempSync(join(tmpdir(), 'vipwasm-bench-'));
  const settings: Settings = { seconds, rounds, dir, cpuProf: flag(args, '--cpu-prof') };
  const rows: Row[] = [];
  let loads: number[] = [];
  const onSignal = (): void => {
    for (const c of children) c.kill('SIGKILL');
    process.exit(130);
  };
  process.once('SIGINT', onSignal);
  try {
    writeFileSync(join(dir, 'nginx.conf'), nginxConfig(dir));
    writeFileSync(join(dir, 'haproxy.cfg'), haproxyConfig());
    mkdirSync(join(dir, 'manifests'));
    writeFileSync(join(dir, 'manifests', 'bench.yaml'), manifests());
    const nginx = start('nginx', ['-c', join(dir, 'nginx.conf'), '-p', dir], 'nginx');
    await waitPort(HTTP_BACKENDS[0]!, 8080, 'nginx');
    if (phases.includes('bulk')) await bulkPhase(only, settings, rows);
    if (phases.includes('conn')) loads = await connPhase(only, settings, rows);
    await stop(nginx);
  } finally {
    await Promise.all([...children].map((c) => stop(c)));
    process.removeListener('SIGINT', onSignal);
    rmSync(dir, { recursive: true, force: true });
  }
  rows.push(...verdictRows(rows, loads));
  report('forwarder', rows);
  printRatios(rows);
  const busy = loads.filter((l) => l > availableParallelism());
  if (busy.length) console.log(`\nnote: load average above the CPU count in ${busy.length} of ${loads.length} rounds (${loads.join(', ')}): other work shared the CPUs; repeat on a quieter machine before quoting`);
}
