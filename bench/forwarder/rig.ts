/**
 * The forwarder benchmark's rig: the backends and proxies it runs (nginx, iperf3, HAProxy, the bare
 * Node pipe proxy, the vipwasm CLI), their configurations, and the clients (wrk, iperf3) with the
 * proxy CPU read from /proc. Loopback only (127.246.0.x backends, 127.97.x proxies); every child is
 * tracked so the benchmark can stop each one by pid.
 */
import { spawn, execFile } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

export const exec = promisify(execFile);
export const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** `node-pipe`: bench/node-pipe-proxy.mjs, a bare Node pipe proxy (Node's own floor for a proxy). */
export type Target = 'vipwasm' | 'haproxy' | 'direct' | 'node-pipe';
export const TARGETS: readonly Target[] = ['direct', 'haproxy', 'node-pipe', 'vipwasm'];

export const IPERF_BACKEND = '127.246.0.10';
export const HTTP_BACKENDS = ['127.246.0.1', '127.246.0.2', '127.246.0.3'];
export const ENDPOINTS: Record<Target, { iperf: [string, number]; http: [string, number] }> = {
  direct: { iperf: [IPERF_BACKEND, 5201], http: [HTTP_BACKENDS[0]!, 8080] },
  haproxy: { iperf: ['127.97.201.1', 5201], http: ['127.97.201.2', 8080] },
  vipwasm: { iperf: ['127.97.200.1', 5201], http: ['127.97.200.2', 8080] },
  'node-pipe': { iperf: ['127.97.202.1', 5201], http: ['127.97.202.2', 8080] },
};

export const children = new Set<ChildProcess>();

export function start(cmd: string, args: string[], name: string, env: NodeJS.ProcessEnv = process.env): ChildProcess {
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

export async function stop(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const done = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), 5000);
  await done;
  clearTimeout(t);
}

/** Waits until ip:port accepts a TCP connection (bounded). */
export async function waitPort(ip: string, port: number, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
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
export async function waitForListen(ip: string, port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    const { stdout } = await exec('ss', ['-Hltn', `src ${ip}:${port}`]).catch(() => ({ stdout: '' }));
    if (stdout.trim()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nothing listens on ${ip}:${port} after ${timeoutMs} ms`);
}

export function nginxConfig(dir: string): string {
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

/** HAProxy in TCP mode on its endpoints, with `threads` threads (nbthread). */
export function haproxyConfig(threads = 1): string {
  const [iIP, iPort] = ENDPOINTS.haproxy.iperf;
  const [hIP, hPort] = ENDPOINTS.haproxy.http;
  return `global
  nbthread ${threads}
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
export function manifests(): string {
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

export async function iperf(ip: string, port: number, streams: number, seconds: number): Promise<{ gbps: number; bytes: number }> {
  const { stdout } = await exec('iperf3', ['-c', ip, '-p', String(port), '-t', String(seconds), '-P', String(streams), '-J'], { timeout: (seconds + 20) * 1000, maxBuffer: 1 << 24 });
  const j = JSON.parse(stdout) as { end: { sum_received: { bits_per_second: number; bytes: number } } };
  return { gbps: j.end.sum_received.bits_per_second / 1e9, bytes: j.end.sum_received.bytes };
}

/** CPU seconds (user + system) a process has used so far, from /proc (Linux clock ticks of 10 ms). */
export function cpuSeconds(pid: number | undefined): number {
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

export interface WrkResult {
  rps: number;
  requests: number;
  p50: number;
  p99: number;
  errors: string;
}

/** One wrk run (one thread); `close` sends `Connection: close`, so every request is a new TCP connection. */
export async function wrk(ip: string, port: number, conns: number, seconds: number, close: boolean): Promise<WrkResult> {
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
 * The CLI as users run it: plain ESM without tsx's per-function name wrappers. Bundled with
 * esbuild into dist/bench/ (node_modules stay external; build/engine.wasm is found at ../../build),
 * with the worker entry `--workers N` starts as `./worker-main.js` beside it.
 *
 * Code splitting keeps the CLI's dynamic imports dynamic, as in bin/vipwasm.js (tsc output): the
 * API-server source (`@kubernetes/client-node`, undici) is loaded only with `--kubeconfig`. One
 * bundle without splitting hoisted it into the CLI's static imports, so every benchmarked
 * forwarder carried ~31 MB more live heap than the real CLI (40 MB against 9.8 MB after a full
 * GC): V8 then let its old generation fill to 120-150 MB between full GCs and each scavenge took
 * 3.5-4 ms instead of ~2 ms (issue 14).
 */
export async function bundleCli(): Promise<string> {
  const { build } = await import('esbuild');
  const outdir = join(root, 'dist', 'bench');
  rmSync(outdir, { recursive: true, force: true }); // chunk names are content hashes: no stale ones
  await build({
    entryPoints: {
      'vipwasm-cli': join(root, 'test/e2e/forwarder/cli-entry.ts'),
      'worker-main': join(root, 'host/forwarder/workers/worker-main.ts'),
    },
    bundle: true,
    splitting: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    outdir,
    logLevel: 'warning',
  });
  return join(outdir, 'vipwasm-cli.js');
}

/** `--name=value` from the bench's arguments (the forwarder and workers benches' flag style). */
export function flag(args: readonly string[], name: string): string | undefined {
  return args.find((a) => a.startsWith(`${name}=`))?.slice(name.length + 1);
}

/** Fails with how to install them unless the load tools and peers are on PATH (scripts/setup.sh installs them). */
export async function requireTools(): Promise<void> {
  for (const tool of ['iperf3', 'wrk', 'nginx', 'haproxy']) {
    await exec('sh', ['-c', `command -v ${tool}`]).catch(() => {
      throw new Error(`${tool} is not installed: apt-get install -y iperf3 wrk nginx-light haproxy (scripts/setup.sh installs them)`);
    });
  }
}

/** bench/node-pipe-proxy.mjs and its arguments: its iperf and HTTP listeners (ENDPOINTS['node-pipe']) and their backends. */
export function nodePipeArgs(): string[] {
  const [iIP, iPort] = ENDPOINTS['node-pipe'].iperf;
  const [hIP, hPort] = ENDPOINTS['node-pipe'].http;
  return [join(root, 'bench', 'node-pipe-proxy.mjs'), `${iIP}:${iPort}=${IPERF_BACKEND}:5201`, `${hIP}:${hPort}=${HTTP_BACKENDS.map((ip) => `${ip}:8080`).join(',')}`];
}
