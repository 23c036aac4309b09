/**
 * Live snapshot updates: the filter polls the snapshot endpoint on each tick with proxy_http_call,
 * swaps new generations in place, and keeps flows and affinity across the swap.
 */
import { describe, expect, it } from 'vitest';
import { encodeSnapshot } from '../../host/engine/snapshot.js';
import { LogLevel } from '../../host/envoy/emulator/state.js';
import { modelFrom, request, service, startFilter } from './fixtures.js';

const v1 = modelFrom(service({ name: 'web', clusterIP: '10.96.4.1', ips: ['10.1.0.1', '10.1.0.2'] }));
const v2 = modelFrom(service({ name: 'web', clusterIP: '10.96.4.1', ips: ['10.1.0.1', '10.1.0.2', '10.1.0.3'] }));
const polling = { snapshotCluster: 'vipwasm_snapshot', pollMs: 1000, snapshotAuthority: '127.0.0.1:9902', snapshotPath: '/snapshot' };
const ok = (etag: string): Array<[string, string]> => [[':status', '200'], ['etag', etag], ['content-type', 'application/octet-stream']];

describe('live snapshot updates', () => {
  it('polls the endpoint on each tick and swaps in a new generation', async () => {
    const vm = await startFilter(v1, polling);
    expect(vm.getTickPeriod()).toBe(1000);
    vm.tick();
    const [call] = vm.pendingHttpCalls();
    expect(call).toMatchObject({ upstream: 'vipwasm_snapshot', timeoutMs: 2000 });
    expect(call!.headers).toEqual([[':method', 'GET'], [':path', '/snapshot'], [':authority', '127.0.0.1:9902'], ['accept', 'application/octet-stream']]);
    // One request in flight at a time.
    vm.tick();
    expect(vm.pendingHttpCalls()).toHaveLength(1);
    vm.callOnHttpCallResponse(call!.id, ok('"g2"'), encodeSnapshot(v2));
    expect(vm.getMetric('vipwasm.snapshot.generation')).toBe(2n);
    expect(vm.getMetric('vipwasm.snapshot.updates')).toBe(1n);
    expect(vm.getLogs(LogLevel.Info).at(-1)?.message).toBe('vipwasm: loaded snapshot generation 2 (1 service ports, etag "g2")');
    const seen = new Set([1, 2, 3, 4, 5, 6].map((i) => request(vm, 'web', `10.0.0.${i}:1000`).endpoint));
    expect(seen).toEqual(new Set(['10.1.0.1:8080', '10.1.0.2:8080', '10.1.0.3:8080']));

    vm.tick();
    const [next] = vm.pendingHttpCalls();
    expect(next!.headers).toContainEqual(['if-none-match', '"g2"']);
    vm.callOnHttpCallResponse(next!.id, [[':status', '304']]);
    expect(vm.getMetric('vipwasm.snapshot.generation')).toBe(2n);
    expect(vm.getMetric('vipwasm.snapshot.update_failures')).toBe(0n);
  });

  it('keeps serving the old generation when an update fails', async () => {
    const vm = await startFilter(v1, polling);
    const fail = (headers: Array<[string, string]>, body = new Uint8Array()) => {
      vm.tick();
      vm.callOnHttpCallResponse(vm.pendingHttpCalls()[0]!.id, headers, body);
    };
    fail([]);
    fail([[':status', '500']]);
    fail(ok('"bad"'), new TextEncoder().encode('not a snapshot'));
    expect(vm.getMetric('vipwasm.snapshot.update_failures')).toBe(3n);
    expect(vm.getMetric('vipwasm.snapshot.generation')).toBe(1n);
    expect(vm.getLogs(LogLevel.Warn).map((l) => l.message)).toEqual([
      'vipwasm: snapshot update from cluster "vipwasm_snapshot" failed: the request failed (timeout or connection error); generation 1 keeps serving',
      'vipwasm: snapshot update from cluster "vipwasm_snapshot" failed: HTTP status 500; generation 1 keeps serving',
      'vipwasm: snapshot update from cluster "vipwasm_snapshot" failed: snapshot rejected: too short (code 1); generation 1 keeps serving',
    ]);
    expect(request(vm, 'web').endpoint).toBe('10.1.0.1:8080');
  });

  it('reports a snapshot cluster Envoy does not know', async () => {
    const { ProxyWasmHost } = await import('../../host/envoy/emulator/host.js');
    const { filterModule } = await import('../../host/envoy/filter-wasm.js');
    const { configFor } = await import('./fixtures.js');
    const vm = await ProxyWasmHost.load(await filterModule(), { pluginConfiguration: configFor(v1, polling), clusters: ['other'] });
    vm.startVm();
    vm.configure();
    vm.tick();
    expect(vm.pendingHttpCalls()).toHaveLength(0);
    expect(vm.getMetric('vipwasm.snapshot.update_failures')).toBe(1n);
    expect(vm.getLogs(LogLevel.Warn)[0]!.message).toContain('was refused by the host (unknown cluster?)');
  });

  it('keeps flows and ClientIP affinity across a swap', async () => {
    const sticky1 = modelFrom(service({ name: 'sticky', clusterIP: '10.96.4.2', ips: ['10.1.0.1', '10.1.0.2'], affinity: 600 }) + '---\n' +
      service({ name: 'web', clusterIP: '10.96.4.1', ips: ['10.2.0.1', '10.2.0.2'] }));
    const sticky2 = modelFrom(service({ name: 'sticky', clusterIP: '10.96.4.2', ips: ['10.1.0.0', '10.1.0.1', '10.1.0.2'], affinity: 600 }) + '---\n' +
      service({ name: 'web', clusterIP: '10.96.4.1', ips: ['10.2.0.0', '10.2.0.1', '10.2.0.2'] }));
    const vm = await startFilter(sticky1, polling);
    const pinned = request(vm, 'sticky', '10.0.0.9:1000').endpoint;
    const onConnection = request(vm, 'web', '10.0.0.9:5555').endpoint;
    expect(request(vm, 'web', '10.0.0.8:5555').endpoint).not.toBe(onConnection);
    vm.tick();
    vm.callOnHttpCallResponse(vm.pendingHttpCalls()[0]!.id, ok('"g2"'), encodeSnapshot(sticky2));
    expect(vm.getMetric('vipwasm.snapshot.generation')).toBe(2n);
    // A keep-alive connection's next request stays on its backend; the client stays pinned.
    expect(request(vm, 'web', '10.0.0.9:5555').endpoint).toBe(onConnection);
    for (let p = 1001; p < 1005; p++) expect(request(vm, 'sticky', `10.0.0.9:${p}`).endpoint).toBe(pinned);
  });
});
