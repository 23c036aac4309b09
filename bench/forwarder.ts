/**
 * `npm run bench -- forwarder`: the Node forwarder against HAProxy (TCP mode, one process, one
 * thread) and against direct connections, same backends, same run, loopback only.
 *
 * Backends: iperf3 (bulk throughput, 1 and 8 streams) and Debian nginx (small HTTP answers) on
 * 127.246.0.x. Clients: iperf3 and wrk. Cases:
 *   - tcp bulk 1 stream / 8 streams (Gbit/s)
 *   - http new connections/s: wrk, `Connection: close`, 32 connections (each request a new TCP
 *     connection through the proxy)
 *   - http p50 / p99 latency (ms): wrk, `Connection: close`, 1 connection (the latency a proxy adds
 *     on an idle path) and 4 connections (a closed loop: saturates a proxy that is CPU-bound)
 *   - proxy CPU per GB and per connection, from /proc/<pid>/stat
 *   - http keep-alive requests/s: wrk, 32 persistent connections
 * Targets: direct, haproxy, node-pipe (bench/node-pipe-proxy.mjs: net.Server + pipe, no engine,
 * the floor any Node proxy stands on), vipwasm.
 * Options: `--seconds=N` per measurement (default 4), `--only=vipwasm,haproxy,direct,node-pipe`,
 * `--cpu-prof=DIR` (runs the forwarder with node --cpu-prof, profiles written to DIR).
 * Writes rows {case, target, value, unit} to bench/results/forwarder.json and prints ratios.
 */
import { spawn, execFile } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { report } from './report.js';

const exec = promisify(execFile);
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** `node-pipe`: bench/node-pipe-proxy.mjs, a bare Node pipe proxy (Node's own floor for a proxy). */
type Target = 'vipwasm' | 'haproxy' | 'direct' | 'node-pipe';
interface Row extends Record<string, unknown> {
  case: string;
  target: Target;
  value: number;
  unit: string;
}

const IPERF_BACKEND = '127.246.0.10';
const HTTP_BACKENDS = ['127.246.0.1', '127.246.0.2', '127.246.0.3'];
const ENDPOINTS: Record<Target, { iperf: [string, number]; http: [string, number] }> = {
  direct: { iperf: [IPERF_BACKEND, 5201], http: [HTTP_BACKENDS[0]!, 8080] },
  haproxy: { iperf: ['127.97.201.1', 5201], http: ['127.97.201.2', 8080] },
  vipwasm: { iperf: ['127.97.200.1', 5201], http: ['127.97.200.2', 8080] },
  'node-pipe': { iperf: ['127.97.202.1', 5201], http: ['127.97.202.2', 8080] },
};

const children = new Set<ChildProcess>();

function start(cmd: string, args: string[], name: string, env: NodeJS.ProcessEnv = process.env): ChildProcess {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
  children.add(child);
  let err = '';
  child.stderr?.on('data', (c: Buffer) => (err = (err + c.toString()).slice(-2000)));
  child.stdout?.resume();
  child.on('exit', (code, sig) => {
    children.delete(child);
    if (code && code !== 0) console.error(`${name} exited with ${code ?? sig}: ${err}`);
  });
  return child;
}

async function stop(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const done = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), 5000);
  await done;
  clearTimeout(t);
}

/** Waits until ip:port accepts a TCP connection (bounded). */
async function waitPort(ip: string, port: number, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const ok = await new Promise<boolean>((res) => {
      const s = net.connect({ host: ip, port });
      s.once('connect', () => {
        s.destroy();
        res(true);
      });
      s.once('error', () => res(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} did not start listening on ${ip}:${port} within ${timeoutMs} ms`);
}

/** Waits until something listens on ip:port without connecting to it (reads `ss`; bounded). */
async function waitForListen(ip: string, port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const { stdout } = await exec('ss', ['-Hltn', `src ${ip}:${port}`]).catch(() => ({ stdout: '' }));
    if (stdout.trim()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nothing listens on ${ip}:${port} after ${timeoutMs} ms`);
}

function nginxConfig(dir: string): string {
  const temps = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `  ${t}_temp_path ${dir}/${t};`).join('\n');
  return `worker_processes 1;
master_process off;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/nginx-error.log warn;
events { worker_connections 8192; }
http {
  access_log off;
${temps}
  keepalive_requests 1000000;
  server {
${HTTP_BACKENDS.map((ip) => `    listen ${ip}:8080 backlog=4096;`).join('\n')}
    location / { return 200 "ok\\n"; }
  }
}
`;
}

function haproxyConfig(): string {
  const [iIP, iPort] = ENDPOINTS.haproxy.iperf;
  const [hIP, hPort] = ENDPOINTS.haproxy.http;
  return `global
  nbthread 1
  maxconn 8000
defaults
  mode tcp
  timeout connect 2s
  timeout client 60s
  timeout server 60s
frontend iperf
  bind ${iIP}:${iPort}
  default_backend iperf
backend iperf
  server s0 ${IPERF_BACKEND}:5201
frontend http
  bind ${hIP}:${hPort} backlog 4096
  default_backend http
backend http
  balance roundrobin
${HTTP_BACKENDS.map((ip, i) => `  server s${i} ${ip}:8080`).join('\n')}
`;
}

/** The same backends as Kubernetes objects: two Services with fixed ClusterIPs, Pods as endpoints. */
function manifests(): string {
  const pod = (name: string, app: string, ip: string, port: number): string => `apiVersion: v1
kind: Pod
metadata: { name: ${name}, namespace: bench, labels: { app: ${app} } }
spec: { nodeName: bench-node, containers: [{ name: c, image: x, ports: [{ containerPort: ${port} }] }] }
status: { phase: Running, podIP: ${ip}, podIPs: [{ ip: ${ip} }], conditions: [{ type: Ready, status: "True" }] }
`;
  const svc = (name: string, ip: string, port: number): string => `apiVersion: v1
kind: Service
metadata: { name: ${name}, namespace: bench }
spec: { clusterIP: ${ip}, selector: { app: ${name} }, ports: [{ protocol: TCP, port: ${port}, targetPort: ${port} }] }
`;
  return [
    svc('iperf', ENDPOINTS.vipwasm.iperf[0], 5201),
    svc('http', ENDPOINTS.vipwasm.http[0], 8080),
    pod('iperf-0', 'iperf', IPERF_BACKEND, 5201),
    ...HTTP_BACKENDS.map((ip, i) => pod(`http-${i}`, 'http', ip, 8080)),
  ].join('---\n');
}

async function iperf(ip: string, port: number, streams: number, seconds: number): Promise<{ gbps: number; bytes: number }> {
  const { stdout } = await exec('iperf3', ['-c', ip, '-p', String(port), '-t', String(seconds), '-P', String(streams), '-J'], { timeout: (seconds + 20) * 1000, maxBuffer: 1 << 24 });
  const j = JSON.parse(stdout) as { end: { sum_received: { bits_per_second: number; bytes: number } } };
  return { gbps: j.end.sum_received.bits_per_second / 1e9, bytes: j.end.sum_received.bytes };
}

/** CPU seconds (user + system) a process has used so far, from /proc (Linux clock ticks of 10 ms). */
function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return NaN;
  }
}

function wrkMs(v: string): number {
  const m = /^([\d.]+)(us|ms|s)$/.exec(v);
  if (!m) return NaN;
  const n = Number(m[1]);
  return m[2] === 'us' ? n / 1000 : m[2] === 'ms' ? n : n * 1000;
}

async function wrk(ip: string, port: number, conns: number, seconds: number, close: boolean): Promise<{ rps: number; requests: number; p50: number; p99: number; errors: string }> {
  const args = ['-t1', `-c${conns}`, `-d${seconds}s`, '--latency', ...(close ? ['-H', 'Connection: close'] : []), `http://${ip}:${port}/`];
  const { stdout } = await exec('wrk', args, { timeout: (seconds + 20) * 1000 });
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(stdout)?.[1] ?? NaN);
  const requests = Number(/(\d+) requests in/.exec(stdout)?.[1] ?? NaN);
  const p50 = wrkMs(/\s50%\s+(\S+)/.exec(stdout)?.[1] ?? '');
  const p99 = wrkMs(/\s99%\s+(\S+)/.exec(stdout)?.[1] ?? '');
  const errors = /Socket errors:[^\n]*|Non-2xx[^\n]*/.exec(stdout)?.[0] ?? '';
  return { rps, requests, p50, p99, errors };
}

/**
 * One target's cases. For the proxies, the CPU time the proxy process used per GB and per
 * connection is recorded too: on a shared 2-core machine the rates move with whatever else runs,
 * the CPU cost per unit of work much less.
 */
async function measure(target: Target, seconds: number, rows: Row[], proxyPid: number | undefined): Promise<void> {
  const [iIP, iPort] = ENDPOINTS[target].iperf;
  const [hIP, hPort] = ENDPOINTS[target].http;
  const add = (c: string, value: number, unit: string): void => {
    if (!Number.isFinite(value)) return;
    rows.push({ case: c, target, value: Math.round(value * 1000) / 1000, unit });
    console.log(`  ${target.padEnd(8)} ${c.padEnd(38)} ${value.toFixed(3)} ${unit}`);
  };
  for (const streams of [1, 8]) {
    const cpu0 = cpuSeconds(proxyPid);
    const r = await iperf(iIP, iPort, streams, seconds);
    const name = `tcp bulk ${streams} stream${streams > 1 ? 's' : ''}`;
    add(name, r.gbps, 'Gbit/s');
    add(`${name}: proxy CPU per GB`, ((cpuSeconds(proxyPid) - cpu0) * 1000) / (r.bytes / 1e9), 'ms/GB');
  }
  const cpu0 = cpuSeconds(proxyPid);
  const conn = await wrk(hIP, hPort, 32, seconds, true);
  if (conn.errors) console.log(`  ${target}: ${conn.errors}`);
  add('http new connections/s (c=32)', conn.rps, 'conn/s');
  add('http new connection: proxy CPU per conn', ((cpuSeconds(proxyPid) - cpu0) * 1e6) / conn.requests, 'µs/conn');
  // Latency with one request in flight: what the proxy adds on an idle path, not queueing.
  const lat = await wrk(hIP, hPort, 1, seconds, true);
  add('http latency p50 (c=1, new conn)', lat.p50, 'ms');
  add('http latency p99 (c=1, new conn)', lat.p99, 'ms');
  const busy = await wrk(hIP, hPort, 4, seconds, true);
  add('http latency p50 (c=4, new conn)', busy.p50, 'ms');
  add('http latency p99 (c=4, new conn)', busy.p99, 'ms');
  add('http keep-alive requests/s (c=32)', (await wrk(hIP, hPort, 32, seconds, false)).rps, 'req/s');
}

/** `--name=value` (bench/run.ts takes every bare word for a suite name, so values are joined). */
/**
 * The CLI as users run it: plain ESM without tsx's per-function name wrappers. Bundled with
 * esbuild into dist/bench/ (node_modules stay external; build/engine.wasm is found at ../../build).
 */
async function bundleCli(): Promise<string> {
  const { build } = await import('esbuild');
  const outfile = join(root, 'dist', 'bench', 'vipwasm-cli.mjs');
  await build({
    entryPoints: [join(root, 'test/e2e/forwarder/cli-entry.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    outfile,
    logLevel: 'warning',
  });
  return outfile;
}

function flag(args: string[], name: string): string | undefined {
  const hit = args.find((a) => a.startsWith(`${name}=`));
  return hit?.slice(name.length + 1);
}

export async function run(args: string[]): Promise<void> {
  const seconds = Math.min(60, Math.max(1, Number(flag(args, '--seconds') ?? 4)));
  const only = (flag(args, '--only') ?? 'direct,haproxy,node-pipe,vipwasm').split(',') as Target[];
  for (const t of only) if (!(t in ENDPOINTS)) throw new Error(`bench forwarder: --only: unknown target "${t}" (want ${Object.keys(ENDPOINTS).join(', ')})`);
  const cpuProf = flag(args, '--cpu-prof');
  for (const tool of ['iperf3', 'wrk', 'nginx', 'haproxy']) {
    await exec('sh', ['-c', `command -v ${tool}`]).catch(() => {
      throw new Error(`${tool} is not installed: apt-get install -y iperf3 wrk nginx-light haproxy (scripts/setup.sh installs them)`);
    });
  }
  const dir = mkdtempSync(join(tmpdir(), 'vipwasm-bench-'));
  const rows: Row[] = [];
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

    for (const target of only) {
      console.log(`== ${target}`);
      let proxy: ChildProcess | undefined;
      if (target === 'haproxy') {
        proxy = start('haproxy', ['-f', join(dir, 'haproxy.cfg'), '-db'], 'haproxy');
      } else if (target === 'node-pipe') {
        const [iIP, iPort] = ENDPOINTS['node-pipe'].iperf;
        const [hIP, hPort] = ENDPOINTS['node-pipe'].http;
        proxy = start(process.execPath, [join(root, 'bench', 'node-pipe-proxy.mjs'), `${iIP}:${iPort}=${IPERF_BACKEND}:5201`,
          `${hIP}:${hPort}=${HTTP_BACKENDS.map((ip) => `${ip}:8080`).join(',')}`], 'node-pipe proxy', { ...process.env, NODE_OPTIONS: '' });
      } else if (target === 'vipwasm') {
        const node = [...(cpuProf ? ['--cpu-prof', '--cpu-prof-dir', resolve(cpuProf)] : []), await bundleCli()];
        proxy = start(process.execPath, [...node, 'forward', '-f', join(dir, 'manifests'), '--service-cluster-ip-range', '127.97.0.0/16',
          '--node-name', 'bench-node', '--node-ip', '127.0.0.1', '--metrics-bind-address', 'off', '--healthz-bind-address', 'off', '--log-level', 'warn', '--shutdown-grace', '1s'], 'vipwasm forward',
          { ...process.env, NODE_OPTIONS: '' });
      }
      // iperf3 -s gives up on a control connection that closes without a test (a port probe),
      // so it is started fresh per target and only the HTTP port is probed through the proxy.
      const iperfServer = start('iperf3', ['-s', '-B', IPERF_BACKEND, '-p', '5201'], 'iperf3 -s');
      try {
        await waitForListen(IPERF_BACKEND, 5201);
        if (target !== 'direct') await waitPort(ENDPOINTS[target].http[0], 8080, target);
        await measure(target, seconds, rows, proxy?.pid);
      } finally {
        await stop(proxy);
        await stop(iperfServer);
      }
    }
    await stop(nginx);
  } finally {
    await Promise.all([...children].map((c) => stop(c)));
    process.removeListener('SIGINT', onSignal);
    rmSync(dir, { recursive: true, force: true });
  }
  report('forwarder', rows);
  printRatios(rows);
}

function printRatios(rows: Row[]): void {
  const get = (c: string, t: Target): number | undefined => rows.find((r) => r.case === c && r.target === t)?.value;
  const cases = [...new Set(rows.map((r) => r.case))];
  console.log('\nratios (vipwasm ÷ other; for latency and CPU lower is better, "added" = minus direct):');
  for (const c of cases) {
    const v = get(c, 'vipwasm');
    const h = get(c, 'haproxy');
    const d = get(c, 'direct');
    const n = get(c, 'node-pipe');
    if (v === undefined) continue;
    const parts = [`${c}:`];
    if (h) parts.push(`${(v / h).toFixed(2)}× haproxy`);
    if (n) parts.push(`${(v / n).toFixed(2)}× node-pipe`);
    if (d) parts.push(`${(v / d).toFixed(2)}× direct`);
    if (c.includes('latency') && h !== undefined && d !== undefined && h - d > 0) {
      parts.push(`added ${(v - d).toFixed(3)} ms vs haproxy's ${(h - d).toFixed(3)} ms (${((v - d) / (h - d)).toFixed(2)}×)`);
    }
    console.log(`  ${parts.join('  ')}`);
  }
}
