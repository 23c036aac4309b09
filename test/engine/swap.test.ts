/**
 * Generation swaps: flows and affinity entries survive while their backend stays in their pool,
 * are dropped when it goes or leaves (kubernetes #19029), and counters follow.
 */
import { describe, expect, it } from 'vitest';
import { loadEngine } from '../../host/engine/node.js';
import { Verdict, Via } from '../../host/engine/api.js';
import { backend, ip, model, servicePort, TCP, UDP } from './fixtures.js';

const VIP = ip('10.96.0.10');
const three = [backend('10.0.0.1'), backend('10.0.0.2'), backend('10.0.0.3')];

describe('generation swap', () => {
  it('keeps flows to surviving backends and drops flows to removed ones', async () => {
    const engine = await loadEngine({ flowCapacity: 256 });
    engine.load(model([servicePort('dns', { protocol: 'UDP', port: 53, clusterIPs: ['10.96.0.10'], backends: three })]));
    const c = ip('172.16.0.1');
    const before = new Map<number, string>();
    for (let p = 1; p <= 9; p++) before.set(p, engine.connect(UDP, c, p, VIP, 53, 0).backend!.ip);
    expect(engine.stats().generation).toBe(1);

    // 10.0.0.2 goes away; an unrelated service port and a new backend appear before the others.
    engine.load(model([
      servicePort('a-first', { clusterIPs: ['10.96.0.5'], backends: [backend('10.9.9.9')] }),
      servicePort('dns', { protocol: 'UDP', port: 53, clusterIPs: ['10.96.0.10'], backends: [backend('10.0.0.0'), backend('10.0.0.1'), backend('10.0.0.3')] }),
    ]));
    const st = engine.stats();
    expect(st.generation).toBe(2);
    expect(st.flowsDroppedOnSwap).toBe(3);
    expect(st.flows).toBe(6);
    for (const [p, was] of before) {
      const d = engine.lookup(UDP, c, p, VIP, 53, 1);
      if (was === '10.0.0.2') {
        expect(d.verdict).toBe(Verdict.Pass);
      } else {
        expect(d.via).toBe(Via.Flow);
        expect(d.servicePort?.name).toBe('dns');
        expect(d.servicePortIndex).toBe(1);
        expect(d.backend?.ip).toBe(was);
      }
    }
    // Counters moved to the new generation's indexes: 10.0.0.0 has none, the survivors 3 each.
    expect(engine.counters(1).map((x) => x.inactive)).toEqual([0, 3, 3]);
  });

  it('drops flows whose backend left the pool (no longer serving) and keeps the others', async () => {
    const engine = await loadEngine({ flowCapacity: 256 });
    engine.load(model([servicePort('web', { clusterIPs: ['10.96.0.10'], backends: three })]));
    const c = ip('172.16.0.1');
    for (let p = 1; p <= 3; p++) engine.connect(TCP, c, p, VIP, 80, 0);
    engine.load(model([servicePort('web', {
      clusterIPs: ['10.96.0.10'],
      backends: [backend('10.0.0.1'), backend('10.0.0.2', 8080, { serving: false, ready: false, cluster: false, external: false }), backend('10.0.0.3')],
    })]));
    expect(engine.lookup(TCP, c, 2, VIP, 80, 1).verdict).toBe(Verdict.Pass);
    expect(engine.lookup(TCP, c, 1, VIP, 80, 1).backend?.ip).toBe('10.0.0.1');
    expect(engine.lookup(TCP, c, 3, VIP, 80, 1).backend?.ip).toBe('10.0.0.3');
    expect(engine.counters(0).map((x) => x.active)).toEqual([1, 0, 1]);
  });

  it('drops affinity entries to removed backends and keeps the rest', async () => {
    const engine = await loadEngine({ flowCapacity: 256 });
    const sp = (backends = three) => servicePort('web', { clusterIPs: ['10.96.0.10'], backends, sessionAffinity: 'ClientIP' });
    engine.load(model([sp()]));
    const pinned = ['172.16.0.1', '172.16.0.2', '172.16.0.3'].map((c) => engine.connect(TCP, ip(c), 1, VIP, 80, 0).backend!.ip);
    expect(pinned).toEqual(['10.0.0.1', '10.0.0.2', '10.0.0.3']);
    engine.load(model([servicePort('zzz', { clusterIPs: ['10.96.0.1'], backends: three }), sp([three[0]!, three[2]!])]));
    expect(engine.stats().affinities).toBe(2);
    expect(engine.stats().affinitiesDroppedOnSwap).toBe(1);
    expect(engine.affinitiesDroppedOnSwap()).toBe(1);
    const again = ['172.16.0.1', '172.16.0.3'].map((c) => {
      const d = engine.connect(TCP, ip(c), 2, VIP, 80, 1); // the Decision object is reused: copy now
      return [d.via, d.backend?.ip];
    });
    expect(again).toEqual([[Via.Affinity, '10.0.0.1'], [Via.Affinity, '10.0.0.3']]);
  });

  it('drops every flow of a service port that disappears', async () => {
    const engine = await loadEngine({ flowCapacity: 256 });
    engine.load(model([servicePort('web', { clusterIPs: ['10.96.0.10'], backends: three })]));
    engine.connect(TCP, ip('172.16.0.1'), 1, VIP, 80, 0);
    engine.load(model([]));
    expect(engine.stats().flows).toBe(0);
    expect(engine.lookup(TCP, ip('172.16.0.1'), 1, VIP, 80, 1).verdict).toBe(Verdict.Pass);
  });
});
