import { describe, expect, it } from 'vitest';
import { loadEngine } from '../../host/engine/node.js';
import { backend, ip, model, servicePort, TCP } from './fixtures.js';

/**
 * engine.wasm runs AssemblyScript's `minimal` runtime: garbage is collected only at the start of
 * `loadSnapshot` and `expire`. These check that nothing accumulates between those points.
 */
describe('engine memory under the minimal runtime', () => {
  const services = (n: number, gen: number) =>
    model(
      Array.from({ length: n }, (_, i) =>
        servicePort(`svc-${i}`, {
          clusterIPs: [`10.96.${i >> 8}.${i & 255}`],
          scheduler: i % 2 ? 'mh' : 'sh',
          backends: [backend(`198.18.${gen % 200}.${(i % 250) + 1}`, 8080), backend('198.18.255.1', 8080 + (gen % 7))],
        }),
      ),
    );

  it('stays flat over many snapshot swaps', async () => {
    const engine = await loadEngine({ flowCapacity: 1024, affinityCapacity: 1024 });
    // The heap reaches its working size (two generations alive during a swap, and the TLSF free
    // lists' fragmentation) in one step, within the first few dozen loads; when, depends on the
    // heap's layout (it moved from load 10-20 to 20-40 with a refactor that changed no
    // allocation). Then it must not move again.
    for (let g = 0; g < 100; g++) engine.load(services(300, g));
    const settled = engine.stats().memoryBytes;
    for (let g = 100; g < 300; g++) engine.load(services(300, g));
    expect(engine.stats().memoryBytes).toBe(settled);
  });

  it('stays flat over a million connections, stats reads and expiries', async () => {
    const engine = await loadEngine({ flowCapacity: 4096, affinityCapacity: 1024 });
    engine.load(services(50, 0));
    const dst = ip('10.96.0.7');
    const run = (from: number) => {
      for (let i = from; i < from + 500_000; i++) {
        engine.connect(TCP, ip(`198.19.${(i >> 8) & 255}.${i & 255}`), 1024 + (i % 60000), dst, 80, i);
        if (i % 50_000 === 0) {
          engine.stats();
          engine.expire(i);
        }
      }
    };
    run(0);
    const settled = engine.stats().memoryBytes;
    run(500_000);
    expect(engine.stats().memoryBytes).toBe(settled);
    expect(engine.stats().flowEvictions).toBeGreaterThan(0);
  });
});
