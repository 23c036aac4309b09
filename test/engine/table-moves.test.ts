/**
 * The in-place table (engine/table.ts) moves entries between slots when one is removed (backward
 * shift). A snapshot swap walks the flow lists and drops the flows of removed backends as it goes,
 * so its walk must follow entries that move under it; a full, clustered table makes every removal
 * shift some.
 * (With the walk not following moved entries, this scenario leaves dropped flows behind.) After the swap every kept flow must still be found with its backend, and no flow of
 * a removed backend may remain.
 */
import { describe, expect, it } from 'vitest';
import { Verdict, Via } from '../../host/engine/api.js';
import { loadEngine } from '../../host/engine/node.js';
import { backend, ip, model, servicePort, TCP } from './fixtures.js';

const VIP = ip('10.96.0.10');
const four = ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4'].map((a) => backend(a));

describe('entries moved by backward shift during a walk', () => {
  it('a swap that drops the flows of two of four backends (the kept ones change member slots) keeps every other flow, in a full table', async () => {
    // 3000 flows in 4096 slots (capacity 3000): long clusters, so removals move neighbours.
    const N = 3000;
    const engine = await loadEngine({ flowCapacity: N, hashKey: [9, 8, 7, 6] });
    engine.load(model([servicePort('web', { clusterIPs: ['10.96.0.10'], backends: four })]));
    const pinned = new Map<number, string>();
    for (let p = 1; p <= N; p++) {
      const d = engine.connect(TCP, ip('172.16.0.1'), p, VIP, 80, p);
      pinned.set(p, d.backend!.ip);
      // Flows on every list the walk visits: SYN_RECV, established, closed (tcpfin).
      if (p % 3 === 1) engine.established(TCP, ip('172.16.0.1'), p, VIP, 80, p);
      if (p % 3 === 2) engine.close(TCP, ip('172.16.0.1'), p, VIP, 80, p);
    }
    expect(engine.stats().flows).toBe(N);
    // Some entries sit away from home: removals will have something to shift back.
    expect(engine.tableDisplacement().flows).toBeGreaterThan(N);
    engine.load(model([servicePort('web', { clusterIPs: ['10.96.0.10'], backends: [four[1]!, four[3]!] })]));
    const kept = [...pinned].filter(([, b]) => b === '10.0.0.2' || b === '10.0.0.4');
    expect(engine.stats()).toMatchObject({ flows: kept.length, flowsDroppedOnSwap: N - kept.length });
    for (const [p, b] of pinned) {
      const d = engine.lookup(TCP, ip('172.16.0.1'), p, VIP, 80, N + 1);
      if (b === '10.0.0.2' || b === '10.0.0.4') expect([d.via, d.backend?.ip]).toEqual([Via.Flow, b]);
      else expect(d.verdict).toBe(Verdict.Pass);
    }
    const counted = engine.counters(0).reduce((n, c) => n + c.active + c.inactive, 0);
    expect(counted).toBe(kept.length);
  });
});
