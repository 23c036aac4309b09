/**
 * ClientIP affinity in the filter: keyed by the downstream source address, and shared between
 * Envoy's per-worker VM copies through proxy shared data.
 */
import { describe, expect, it } from 'vitest';
import { modelFrom, request, service, SharedState, startFilter } from './fixtures.js';

const model = modelFrom(service({ name: 'sticky', clusterIP: '10.96.2.1', ips: ['10.1.0.1', '10.1.0.2', '10.1.0.3'], affinity: 10 }));

describe('ClientIP affinity', () => {
  it('pins a client address to one backend across source ports, and spreads different clients', async () => {
    const vm = await startFilter(model);
    const first = request(vm, 'sticky', '10.0.0.7:1000').endpoint;
    for (let port = 1001; port < 1010; port++) expect(request(vm, 'sticky', `10.0.0.7:${port}`).endpoint).toBe(first);
    const others = new Set([2, 3, 4].map((i) => request(vm, 'sticky', `10.0.0.${i}:1000`).endpoint));
    expect(others.size).toBe(3);
  });

  it('keeps one pinning across two workers through shared data', async () => {
    const shared = new SharedState();
    const worker1 = await startFilter(model, {}, shared);
    const worker2 = await startFilter(model, {}, shared);
    expect(request(worker1, 'sticky', '10.0.0.1:1000').endpoint).toBe('10.1.0.1:8080');
    expect(request(worker1, 'sticky', '10.0.0.2:1000').endpoint).toBe('10.1.0.2:8080');
    // Worker 2's own rr would start at the first backend; the shared pinning wins.
    expect(request(worker2, 'sticky', '10.0.0.2:2000').endpoint).toBe('10.1.0.2:8080');
    expect(worker2.getMetric('vipwasm.shared_affinity_hits')).toBe(1n);
    // ...and later requests on worker 2 keep it without importing again.
    expect(request(worker2, 'sticky', '10.0.0.2:2001').endpoint).toBe('10.1.0.2:8080');
    expect(worker2.getMetric('vipwasm.shared_affinity_hits')).toBe(1n);
  });

  it('keeps one pinning across workers for TCP connections too (network filter)', async () => {
    const shared = new SharedState();
    const worker1 = await startFilter(model, {}, shared);
    const worker2 = await startFilter(model, {}, shared);
    const connect = (vm: typeof worker1, source: string) => {
      const c = vm.initializeConnection({ source, destination: '10.96.2.1:80' });
      const value = vm.getFilterState(c.id).get('envoy.network.transport_socket.original_dst_address')?.value;
      vm.completeConnection(c.id);
      return value;
    };
    expect(connect(worker1, '10.0.0.1:1000')).toBe('10.1.0.1:8080');
    expect(connect(worker1, '10.0.0.2:1000')).toBe('10.1.0.2:8080');
    expect(connect(worker2, '10.0.0.2:2000')).toBe('10.1.0.2:8080');
    expect(worker2.getMetric('vipwasm.shared_affinity_hits')).toBe(1n);
    // An HTTP request of the same client to the same Service port follows the same pinning.
    expect(request(worker2, 'sticky', '10.0.0.2:2001').endpoint).toBe('10.1.0.2:8080');
  });

  it('without shared affinity each worker pins on its own (the reason for sharing)', async () => {
    const shared = new SharedState();
    const worker1 = await startFilter(model, { sharedAffinity: false }, shared);
    const worker2 = await startFilter(model, { sharedAffinity: false }, shared);
    request(worker1, 'sticky', '10.0.0.1:1000');
    expect(request(worker1, 'sticky', '10.0.0.2:1000').endpoint).toBe('10.1.0.2:8080');
    expect(request(worker2, 'sticky', '10.0.0.2:2000').endpoint).toBe('10.1.0.1:8080');
    expect(shared.data.size).toBe(0);
  });

  it('lets a pinning expire after timeoutSeconds of idleness', async () => {
    const shared = new SharedState();
    const worker1 = await startFilter(model, {}, shared);
    const worker2 = await startFilter(model, {}, shared);
    request(worker1, 'sticky', '10.0.0.1:1000');
    expect(request(worker1, 'sticky', '10.0.0.2:1000').endpoint).toBe('10.1.0.2:8080');
    worker2.advance(11_000);
    expect(request(worker2, 'sticky', '10.0.0.2:2000').endpoint).toBe('10.1.0.1:8080');
    expect(worker2.getMetric('vipwasm.shared_affinity_hits')).toBe(0n);
  });
});
