/**
 * 100k requests through the filter without memory growth: the request path allocates no GC
 * memory once warm, flow and affinity tables are preallocated, stream records are recycled, and
 * every block the host hands to the guest is freed.
 */
import { describe, expect, it } from 'vitest';
import { modelFrom, service, startFilter } from './fixtures.js';

describe('memory', () => {
  it('serves 100k requests (HTTP and TCP, with affinity) with flat linear memory', async () => {
    const model = modelFrom(
      service({ name: 'web', clusterIP: '10.96.5.1', ips: ['10.1.0.1', '10.1.0.2', '10.1.0.3'] }) + '---\n' +
        service({ name: 'sticky', clusterIP: '10.96.5.2', ips: ['10.1.1.1', '10.1.1.2'], affinity: 30 }),
    );
    const vm = await startFilter(model, { flowCapacity: 4096, affinityCapacity: 1024 });
    const run = (from: number, to: number) => {
      for (let i = from; i < to; i++) {
        const source = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}:${1024 + (i % 60000)}`;
        if (i % 10 === 9) {
          const { id } = vm.initializeConnection({ source, destination: '10.96.5.1:80' });
          vm.completeConnection(id);
          continue;
        }
        const id = vm.initializeHttpContext({ source, destination: '127.0.0.1:10000' });
        vm.callOnRequestHeaders(id, [[':authority', i % 2 ? 'web.default.svc.cluster.local' : 'sticky.default:80'], [':path', '/']], true);
        vm.completeHttpContext(id);
        if (i % 1000 === 0) vm.tick(1);
      }
    };
    run(0, 10_000);
    const warm = vm.memoryBytes();
    run(10_000, 100_000);
    expect(vm.memoryBytes()).toBe(warm);
    expect(vm.liveContexts()).toBe(0);
    expect(vm.getMetric('vipwasm.decisions')).toBe(100_000n);
  });
});
