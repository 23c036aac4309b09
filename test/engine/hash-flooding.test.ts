/**
 * The flow and affinity hashes are keyed (engine/hash.ts seedTableKey), so tuples chosen against
 * the old public constants no longer share a probe chain. The probe distance of every entry from
 * its home slot (Engine#tableDisplacement) stays near the entry count; with all entries on one
 * chain it would be n²/2.
 */
import { describe, expect, it } from 'vitest';
import { loadEngine } from '../../host/engine/node.js';
import { Verdict } from '../../host/engine/api.js';
import { randomHashKey } from '../../host/engine/engine.js';
import { abc, backend, ip, model, servicePort, TCP } from './fixtures.js';

const VIP = ip('10.96.0.10');
const web = (extra = {}) => servicePort('web', { clusterIPs: ['10.96.0.10'], backends: abc([1, 1, 1]), ...extra });
const N = 20_000;

describe('hash flooding', () => {
  it('one client, many ports: 97.200.134.71 (0x61c88647, which zeroed an unkeyed NH term) spreads out', async () => {
    for (const options of [{}, { hashKey: randomHashKey() }]) {
      const engine = await loadEngine({ flowCapacity: 1 << 16, ...options });
      engine.load(model([web()]));
      const client = ip('97.200.134.71');
      for (let port = 1; port <= N; port++) expect(engine.connect(TCP, client, port, VIP, 80, 0).verdict).toBe(Verdict.Backend);
      expect(engine.stats().flows).toBe(N);
      expect(engine.tableDisplacement().flows).toBeLessThan(4 * N);
      expect(engine.lookup(TCP, client, N, VIP, 80, 1).verdict).toBe(Verdict.Backend);
    }
  });

  it('many IPv6 clients in one /64 with w2 = 0xd82b14d1 (which took w3 out of the affinity hash) spread out', async () => {
    const engine = await loadEngine({ flowCapacity: 1 << 16, affinityCapacity: 1 << 16 });
    engine.load(model([servicePort('sticky', { clusterIPs: ['fd00::10'], sessionAffinity: 'ClientIP', backends: ['fd00::a', 'fd00::b', 'fd00::c'].map((b) => backend(b)) })]));
    const vip = ip('fd00::10');
    for (let i = 0; i < N; i++) {
      const client = ip(`2001:db8:0:1:d82b:14d1:${(i >>> 16).toString(16)}:${(i & 0xffff).toString(16)}`);
      expect(engine.connect(TCP, client, 40000, vip, 80, 0).verdict).toBe(Verdict.Backend);
    }
    expect(engine.stats().affinities).toBe(N);
    expect(engine.tableDisplacement().affinity).toBeLessThan(4 * N);
  });

  it('a host key replaces the seed-derived one and the tables still answer', async () => {
    const engine = await loadEngine({ flowCapacity: 64, hashKey: [1, 2, 3, 4] });
    engine.load(model([web()]));
    const c = ip('172.16.0.1');
    const first = engine.connect(TCP, c, 1000, VIP, 80, 0).backend!.ip;
    expect(engine.lookup(TCP, c, 1000, VIP, 80, 1).backend!.ip).toBe(first);
    await expect(loadEngine({ hashKey: [1, 2, 3] as unknown as [number, number, number, number] })).rejects.toThrow(/hashKey/);
  });
});
