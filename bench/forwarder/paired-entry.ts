/**
 * The process `npm run bench -- forwarder-paired` runs (bundled by bench/forwarder-paired.ts):
 * one Node process holds a backend, the real Forwarder (engine, TcpProxyConnection, pump) and a
 * node-pipe handler (net.connect + pipe, as bench/node-pipe-proxy.mjs), and drives short
 * connections through each in turn with the same clients. Clients and backend cost the same for
 * both, so the per-connection CPU difference of a round pair is the forwarder's excess over
 * node-pipe, measured seconds apart in one process: far less of the machine's noise than two
 * proxies under wrk. Rounds alternate the order (whichever runs second pays the first's GC debt).
 * Prints one JSON line: `{ np: number[], vw: number[] }` (µs of process CPU per connection).
 * Loopback only, ports picked by the kernel. Usage: node paired-entry.mjs <rounds> <connections> <concurrency>
 */
import net from 'node:net';
import pino from 'pino';
import { loadEngine } from '../../host/engine/node.js';
import type { ModelServicePort, ServiceModel } from '../../host/engine/model.js';
import { Forwarder } from '../../host/forwarder/forwarder.js';

const BACKEND = '127.61.9.21';
const SERVICE_IP = '127.61.9.20';
const NODE_PIPE = '127.61.9.22';
/** An nginx-sized answer to an HTTP request (150 bytes), then FIN, as wrk sees from nginx. */
const ANSWER = Buffer.from('HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n'.padEnd(150, ' '));
const REQUEST = Buffer.from('GET / HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n'.padEnd(79, ' '));

function listen(server: net.Server, host: string): Promise<number> {
  return new Promise((resolve) => server.listen({ host, port: 0, backlog: 4096 }, () => resolve((server.address() as net.AddressInfo).port)));
}

/** One short connection: request, whole answer, close; rejects when the answer is cut. */
function exchange(host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const c = net.connect({ host, port });
    let got = 0;
    c.on('connect', () => c.write(REQUEST));
    c.on('data', (d: Buffer) => {
      got += d.length;
      if (got >= ANSWER.length) c.end();
    });
    c.on('close', () => (got === ANSWER.length ? resolve() : reject(new Error(`${host}:${port}: ${got} of ${ANSWER.length} bytes`))));
    c.on('error', reject);
  });
}

/** µs of this process's CPU per connection for `total` connections, `concurrency` at a time. */
async function cpuPerConnection(host: string, port: number, total: number, concurrency: number): Promise<number> {
  const t0 = process.cpuUsage();
  let left = total;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (left-- > 0) await exchange(host, port);
  }));
  const d = process.cpuUsage(t0);
  return (d.user + d.system) / total;
}

function servicePort(backendPort: number): ModelServicePort {
  return {
    namespace: 'bench', name: 'web', portName: '', type: 'ClusterIP', protocol: 'TCP', port: 8080, clusterIPs: [SERVICE_IP], nodePort: 0,
    externalIPs: [], loadBalancerIPs: [], loadBalancerSourceRanges: [], scheduler: 'rr', schedulerFlags: { port: false, fallback: false },
    sessionAffinity: 'None', affinityTimeoutSeconds: 10800, externalTrafficPolicy: 'Cluster', internalTrafficPolicy: 'Cluster',
    healthCheckNodePort: 0, hasEndpoints: true,
    backends: [{ ip: BACKEND, port: backendPort, weight: 1, ready: true, serving: true, terminating: false, local: false, cluster: true, external: true }],
  };
}

const [rounds, total, concurrency] = process.argv.slice(2).map(Number) as [number, number, number];
const backend = net.createServer({ allowHalfOpen: true }, (s) => {
  s.once('data', () => s.end(ANSWER));
  s.on('error', () => {});
});
const backendPort = await listen(backend, BACKEND);
const model: ServiceModel = { nodeIPs: [], servicePorts: [servicePort(backendPort)] };
const forwarder = new Forwarder(await loadEngine(), pino({ level: 'silent' }), { processMetrics: false });
const sync = await forwarder.sync(model);
if (sync.bindFailures.length) throw new Error(`forwarder could not bind: ${JSON.stringify(sync.bindFailures)}`);
const nodePipe = net.createServer({ allowHalfOpen: true, noDelay: true }, (client) => {
  const upstream = net.connect({ host: BACKEND, port: backendPort, allowHalfOpen: true, noDelay: true });
  client.pipe(upstream);
  upstream.pipe(client);
  client.on('error', () => upstream.destroy());
  upstream.on('error', () => client.destroy());
});
const nodePipePort = await listen(nodePipe, NODE_PIPE);
const targets: Record<'vw' | 'np', [host: string, port: number]> = { vw: [SERVICE_IP, 8080], np: [NODE_PIPE, nodePipePort] };
for (const t of ['vw', 'np'] as const) await cpuPerConnection(...targets[t], total, concurrency); // warm-up: JIT, tables
const out: Record<'vw' | 'np', number[]> = { vw: [], np: [] };
for (let i = 0; i < rounds; i++) {
  const order: readonly ('vw' | 'np')[] = i % 2 ? ['vw', 'np'] : ['np', 'vw'];
  for (const t of order) out[t].push(await cpuPerConnection(...targets[t], total, concurrency));
}
console.log(JSON.stringify(out));
await forwarder.close();
backend.close();
nodePipe.close();
