/**
 * `vipwasm demo` (and `npm start`): the main job on the embedded default, with no root and no
 * cluster. Three hostnames pods are played by HTTP servers on 127.244.0.1-3:9376, the seeds'
 * `hostnames` Service is loaded from examples/hostnames.yaml with its ClusterIP allocated from
 * 127.96.0.0/16, the forwarder serves it, and the seeds' curl loop is run against the ClusterIP.
 *
 * Port 80 is privileged unless the process is root, has CAP_NET_BIND_SERVICE, or
 * net.ipv4.ip_unprivileged_port_start allows it. The demo probes that and, when it cannot bind,
 * serves the Service port + 8000 (80 → 8080) instead, saying so.
 */
import { Resolver } from 'node:dns/promises';
import { existsSync, readFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { randomHashKey } from '../../engine/engine.js';
import { resolveWorkerCount } from '../../forwarder/workers/worker-count.js';
import { startForwarderEngine } from '../../forwarder/workers/start.js';
import { addForwarderFlags, createLogger, parseCount, resolveForwarderFlags } from '../forwarder-options.js';
import type { ForwarderFlagValues } from '../forwarder-options.js';
import { serveForwarder } from '../../forwarder/serve.js';
import { type ServingDns, serveDns } from '../../dns/serve.js';
import type { KubeObject } from '../../model/index.js';
import type { Source, SourceSnapshot } from '../../sources/source.js';
import { loadManifests } from '../../sources/files.js';
import { UsageError } from '../errors.js';
import { stopSignal } from '../stop-signal.js';

/** The hostnames pods' addresses (examples/hostnames.yaml) and their port. */
export const DEMO_POD_IPS = ['127.244.0.1', '127.244.0.2', '127.244.0.3'] as const;
export const DEMO_POD_PORT = 9376;
export const DEMO_CLUSTER_IP_RANGE = '127.96.0.0/16';
/** Added to privileged Service ports when they cannot be bound. */
export const UNPRIVILEGED_PORT_SHIFT = 8000;
/** Where the demo's cluster DNS answers: x.x.0.10 of the ClusterIP range, as kube-dns's 10.96.0.10. */
export const DEMO_DNS_HOST = '127.96.0.10';

interface DemoFlags extends ForwarderFlagValues {
  requests: string;
  exit?: boolean;
  once?: boolean;
  file?: string;
}

export function register(program: Command): void {
  const cmd = program
    .command('demo')
    .description('serve the seeds\' hostnames Service on loopback (no root, no cluster) and curl it ten times')
    .option('--requests <n>', 'requests to send through the ClusterIP before serving on', '10')
    .option('--exit', 'exit after the requests instead of serving on')
    .option('--once', 'same as --exit')
    .option('-f, --file <path>', 'manifest to load instead of examples/hostnames.yaml');
  addForwarderFlags(cmd, { metrics: '127.0.0.1:10249', healthz: '127.0.0.1:10256' });
  cmd.action(async (flags: DemoFlags) => {
    process.exitCode = await runDemo(flags);
  });
}

/** The package root (works from host/ via tsx and from dist/host/). */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'examples'))) return dir;
    dir = dirname(dir);
  }
  return resolve('.');
}

/** Whether this process may bind `port` on a 127.x address (probes with a throwaway listener). */
async function canBind(port: number): Promise<boolean> {
  return new Promise((res) => {
    const s = net.createServer();
    s.once('error', (err: NodeJS.ErrnoException) => res(err.code !== 'EACCES'));
    s.listen({ host: '127.96.255.254', port }, () => s.close(() => res(true)));
  });
}

function unprivilegedPortStart(): string {
  try {
    return readFileSync('/proc/sys/net/ipv4/ip_unprivileged_port_start', 'utf8').trim();
  } catch {
    return 'unknown';
  }
}

/** A fixed, already-loaded Source (the demo never reloads). */
function staticSource(objects: KubeObject[]): Source {
  const snap: SourceSnapshot = { objects, diagnostics: [], revision: 1, healthy: true };
  return { start: async () => snap, subscribe: () => () => undefined, current: snap, close: async () => undefined };
}

function startPod(ip: string, n: number): Promise<http.Server> {
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html' });
    res.end(`<p>The host is hostnames-${n}</p>\n`);
  });
  return new Promise((res, rej) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      rej(new Error(`cannot start pod hostnames-${n} on ${ip}:${DEMO_POD_PORT}: ${err.code ?? err.message} (is another demo running?)`)),
    );
    server.listen({ host: ip, port: DEMO_POD_PORT }, () => res(server));
  });
}

function get(ip: string, port: number): Promise<string> {
  return new Promise((res) => {
    const req = http.get({ host: ip, port, path: '/', agent: false, timeout: 3000 }, (r) => {
      let body = '';
      r.setEncoding('utf8');
      r.on('data', (c: string) => (body += c));
      r.on('end', () => res(body.trim()));
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', (err: NodeJS.ErrnoException) => res(`curl: (7) ${err.code ?? err.message}`));
  });
}

async function runDemo(flags: DemoFlags): Promise<number> {
  const requests = parseCount('--requests', flags.requests, 0, 100_000);
  const r = resolveForwarderFlags({ ...flags, logLevel: flags.logLevel === 'info' ? 'warn' : flags.logLevel });
  const log = createLogger(r.logLevel);
  const file = flags.file ? resolve(flags.file) : join(packageRoot(), 'examples', 'hostnames.yaml');
  const { objects, diagnostics } = await loadManifests([file]);
  if (diagnostics.length) throw new UsageError(diagnostics.map((d) => `${d.object}: ${d.field ? `${d.field}: ` : ''}${d.message}`).join('\n'));

  // Privileged Service ports: shift them when this process cannot bind them.
  const shifted: string[] = [];
  const privileged = await canBind(80);
  for (const o of objects) {
    if (o.kind !== 'Service') continue;
    const spec = (o as { spec?: { ports?: { port?: number }[] } }).spec;
    for (const p of spec?.ports ?? []) {
      if (!privileged && typeof p.port === 'number' && p.port < 1024) {
        shifted.push(`${p.port} → ${p.port + UNPRIVILEGED_PORT_SHIFT}`);
        p.port += UNPRIVILEGED_PORT_SHIFT;
      }
    }
  }

  const pods = await Promise.all(DEMO_POD_IPS.map((ip, i) => startPod(ip, i + 1)));
  // Clients are untrusted: key the flow and affinity hashes with real randomness.
  const workers = resolveWorkerCount(r.workers, log);
  const { engine, plane } = await startForwarderEngine({ ...r.engine, hashKey: randomHashKey() }, workers, { ejectMs: r.forwarder.ejectMs ?? 5000 });
  let metricsAddress = r.metricsAddress;
  let healthzAddress = r.healthzAddress;
  // A second demo (or a kube-proxy) may hold the default ports: fall back to free ones.
  if (metricsAddress && !(await portFree(metricsAddress))) metricsAddress = metricsAddress.replace(/:\d+$/, ':0');
  if (healthzAddress && !(await portFree(healthzAddress))) healthzAddress = healthzAddress.replace(/:\d+$/, ':0');
  const serving = await serveForwarder({
    source: staticSource(objects),
    engine,
    log,
    model: { serviceClusterIPRanges: [DEMO_CLUSTER_IP_RANGE], nodeIPs: ['127.0.0.1'], nodeName: 'demo-node' },
    forwarder: { ...r.forwarder, processMetrics: true, plane },
    metricsAddress,
    healthzAddress,
  });
  const dns = await startDemoDns(serving.feed, serving.result, privileged);
  const stopAll = async (): Promise<void> => {
    await dns.stop();
    await serving.stop(Math.min(r.shutdownGraceMs, 2000));
    await Promise.all(pods.map((p) => new Promise((res) => p.close(res))));
    for (const p of pods) p.closeAllConnections();
  };

  const out = process.stdout;
  const svc = serving.result.services.find((s) => s.name === 'hostnames') ?? serving.result.services[0];
  const sp = serving.result.model.servicePorts.find((p) => p.name === svc?.name && p.protocol === 'TCP');
  if (!svc || !sp || sp.clusterIPs.length === 0) {
    await stopAll();
    throw new UsageError(`${file}: no TCP Service with a ClusterIP to demo`);
  }
  // Resolve the Service by name through the cluster DNS, as a pod would, and curl what it says.
  const fqdn = `${svc.name}.${svc.namespace}.svc.cluster.local`;
  const resolver = new Resolver({ timeout: 2000, tries: 2 });
  resolver.setServers([`${dns.address.host}:${dns.address.port}`]);
  const resolved = await resolver.resolve4(fqdn).catch((err: NodeJS.ErrnoException) => [`;; ${err.code ?? err.message}`]);
  const ip = resolved.find((a) => sp.clusterIPs.includes(a)) ?? sp.clusterIPs[0]!;
  const target = `${ip}:${sp.port}`;
  const url = sp.port === 80 ? `http://${ip}/` : `http://${target}/`;
  out.write(`vipwasm demo: Service ${svc.namespace}/${svc.name} ClusterIP ${target} → ${sp.backends.map((b) => `${b.ip}:${b.port}`).join(', ')} (scheduler ${sp.scheduler})\n`);
  out.write(`forwarder: ${serving.forwarder.summary()}\n`);
  if (shifted.length) {
    out.write(
      `note: this user cannot bind ports below ${unprivilegedPortStart()} (net.ipv4.ip_unprivileged_port_start), so the Service port is served shifted: ${shifted.join(', ')}.\n` +
        `      Run as root, grant CAP_NET_BIND_SERVICE, or lower the sysctl to serve port 80 itself.\n`,
    );
  }
  for (const f of serving.first.bindFailures) out.write(`warning: could not listen on ${f.key}: ${f.code}\n`);
  out.write(`\n$ dig @${dns.address.host}${dns.address.port === 53 ? '' : ` -p ${dns.address.port}`} +short ${fqdn}\n${resolved.join('\n')}\n`);
  out.write(`\n$ for i in $(seq 1 ${requests}); do curl -s ${url}; done\n`);
  for (let i = 0; i < requests; i++) out.write(`${await get(ip, sp.port)}\n`);

  if (flags.exit || flags.once) {
    await stopAll();
    return 0;
  }
  const stopped = stopSignal();
  out.write(`\nServing. Try:  curl ${url}\n`);
  out.write(`DNS:           dig @${dns.address.host}${dns.address.port === 53 ? '' : ` -p ${dns.address.port}`} ${fqdn}\n`);
  if (serving.operations.metrics) out.write(`Metrics:       curl http://${serving.operations.metrics}/metrics\n`);
  if (serving.operations.healthz) out.write(`Health:        curl http://${serving.operations.healthz}/healthz\n`);
  out.write('Press Ctrl-C to stop.\n');
  await stopped;
  await stopAll();
  return 0;
}

/**
 * Cluster DNS for the demo's model, on DEMO_DNS_HOST port 53 when this process may bind it (else,
 * or when it is taken, a free port). No upstream: the demo only asks for its own names.
 */
async function startDemoDns(feed: Parameters<typeof serveDns>[0], result: Parameters<typeof serveDns>[1], privileged: boolean): Promise<ServingDns> {
  const options = { host: DEMO_DNS_HOST, zone: { clusterDomain: 'cluster.local', ttl: 30, podRecords: 'insecure' as const }, upstreams: [] };
  if (privileged) {
    try {
      return await serveDns(feed, result, { ...options, port: 53 });
    } catch {
      // taken (another demo, a resolver): fall through to a free port
    }
  }
  return serveDns(feed, result, { ...options, port: 0 });
}

function portFree(address: string): Promise<boolean> {
  const m = /^\[?([^\]]+)\]?:(\d+)$/.exec(address);
  if (!m) return Promise.resolve(true);
  return new Promise((res) => {
    const s = net.createServer();
    s.once('error', () => res(false));
    s.listen({ host: m[1], port: Number(m[2]) }, () => s.close(() => res(true)));
  });
}
