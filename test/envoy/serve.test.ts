/**
 * `vipwasm serve`'s snapshot endpoint over real HTTP on loopback, and the filter updating itself
 * from it: each proxy_http_call the filter makes is carried out against the server and its
 * response handed back, as Envoy would through the snapshot cluster.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { SnapshotServer } from '../../host/envoy/snapshot-server.js';
import { modelFrom, request, service, startFilter, type ProxyWasmHost } from './fixtures.js';

const v1 = modelFrom(service({ name: 'web', clusterIP: '10.96.6.1', ips: ['10.1.0.1'] }));
const v2 = modelFrom(service({ name: 'web', clusterIP: '10.96.6.1', ips: ['10.1.0.9'] }));

let server: SnapshotServer | null = null;
afterEach(async () => {
  await server?.close();
  server = null;
});

async function start(): Promise<string> {
  server = new SnapshotServer();
  const addr = await server.listen('127.0.0.1', 0);
  return `127.0.0.1:${addr.port}`;
}

/** Performs the filter's pending snapshot request against the server, like Envoy's async client. */
async function deliver(vm: ProxyWasmHost, authority: string): Promise<number> {
  const [call] = vm.pendingHttpCalls();
  if (!call) throw new Error('no pending http call');
  const get = (k: string) => call.headers.find(([h]) => h === k)?.[1];
  const headers: Record<string, string> = {};
  for (const [k, v] of call.headers) if (!k.startsWith(':')) headers[k] = v;
  const res = await fetch(`http://${authority}${get(':path')}`, { headers });
  const body = new Uint8Array(await res.arrayBuffer());
  const pairs: Array<[string, string]> = [[':status', String(res.status)]];
  res.headers.forEach((v, k) => pairs.push([k, v]));
  vm.callOnHttpCallResponse(call.id, pairs, body);
  return res.status;
}

describe('snapshot endpoint', () => {
  it('serves the snapshot with an ETag, 304 for a matching If-None-Match, and versions only real changes', async () => {
    const at = await start();
    expect((await fetch(`http://${at}/snapshot`)).status).toBe(503);
    const first = server!.publish(v1);
    expect(server!.publish(v1).version).toBe(first.version);
    const res = await fetch(`http://${at}/snapshot`);
    expect(res.status).toBe(200);
    expect(res.headers.get('etag')).toBe(first.etag);
    expect(res.headers.get('content-type')).toBe('application/octet-stream');
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(first.bytes);
    expect((await fetch(`http://${at}/snapshot`, { headers: { 'if-none-match': first.etag } })).status).toBe(304);
    const second = server!.publish(v2);
    expect(second.version).toBe(2);
    expect((await fetch(`http://${at}/snapshot`, { headers: { 'if-none-match': first.etag } })).status).toBe(200);
    expect((await fetch(`http://${at}/healthz`)).status).toBe(200);
    expect((await fetch(`http://${at}/other`)).status).toBe(404);
    expect((await fetch(`http://${at}/snapshot`, { method: 'POST' })).status).toBe(405);
  });

  it('updates a running filter from the endpoint without reconfiguring it', async () => {
    const at = await start();
    server!.publish(v1);
    const vm = await startFilter(v1, { snapshotCluster: 'vipwasm_snapshot', snapshotAuthority: at, pollMs: 500 });
    expect(request(vm, 'web').endpoint).toBe('10.1.0.1:8080');
    vm.tick();
    expect(await deliver(vm, at)).toBe(200);
    expect(vm.getMetric('vipwasm.snapshot.generation')).toBe(2n);
    vm.tick();
    expect(await deliver(vm, at)).toBe(304);
    server!.publish(v2);
    vm.tick();
    expect(await deliver(vm, at)).toBe(200);
    expect(vm.getMetric('vipwasm.snapshot.generation')).toBe(3n);
    expect(request(vm, 'web', '10.0.0.1:2').endpoint).toBe('10.1.0.9:8080');
  });
});
