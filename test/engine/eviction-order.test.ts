/**
 * Issue 10: a full table gives up an entry that has already run out before a live one, as IPVS's
 * ip_vs_random_dropentry and conntrack's early drop prefer dead entries; only when none has
 * expired does the least recently used one go. Affinity entries are judged by their own service
 * port's timeout.
 */
import { describe, expect, it } from 'vitest';
import { Verdict, Via } from '../../host/engine/api.js';
import { loadEngine } from '../../host/engine/node.js';
import { abc, ip, model, servicePort, TCP } from './fixtures.js';

const S = 1000;
const VIP = ip('10.96.0.10');

describe('flow eviction: expired first, then least recently used', () => {
  it('keeps a live TCP flow idle 250 s and gives up a FIN flow past its 120 s', async () => {
    const engine = await loadEngine({ flowCapacity: 2 });
    engine.load(model([servicePort('web', { clusterIPs: ['10.96.0.10'], backends: abc([1, 1, 1]) })]));
    const live = ip('172.16.0.1');
    const closed = ip('172.16.0.2');
    engine.connect(TCP, live, 1, VIP, 80, 0);
    engine.established(TCP, live, 1, VIP, 80, 0);
    engine.connect(TCP, closed, 1, VIP, 80, 50 * S);
    engine.close(TCP, closed, 1, VIP, 80, 50 * S);
    // Full: a third connection. The live flow is the older one, but the FIN flow has run out.
    engine.connect(TCP, ip('172.16.0.3'), 1, VIP, 80, 250 * S);
    expect(engine.lookup(TCP, live, 1, VIP, 80, 250 * S).verdict).toBe(Verdict.Backend);
    expect(engine.stats()).toMatchObject({ flows: 2, flowExpirations: 1, flowEvictions: 0 });
  });

  it('evicts the least recently used when nothing has expired', async () => {
    const engine = await loadEngine({ flowCapacity: 2 });
    engine.load(model([servicePort('web', { clusterIPs: ['10.96.0.10'], backends: abc([1, 1, 1]) })]));
    for (const [i, c] of ['172.16.0.1', '172.16.0.2', '172.16.0.3'].entries()) {
      engine.connect(TCP, ip(c), 1, VIP, 80, i * 10 * S);
      engine.established(TCP, ip(c), 1, VIP, 80, i * 10 * S);
    }
    expect(engine.lookup(TCP, ip('172.16.0.1'), 1, VIP, 80, 20 * S).verdict).toBe(Verdict.Pass);
    expect(engine.lookup(TCP, ip('172.16.0.2'), 1, VIP, 80, 20 * S).verdict).toBe(Verdict.Backend);
    expect(engine.stats()).toMatchObject({ flowEvictions: 1, flowExpirations: 0 });
  });
});

describe('SYN_RECV: a short timeout, and the first to go when the table is full', () => {
  it('1,000 SYNs into a full table of 1,000 established flows push out one of them, not all', async () => {
    const engine = await loadEngine({ flowCapacity: 1000 });
    engine.load(model([servicePort('web', { clusterIPs: ['10.96.0.10'], backends: abc([1, 1, 1]) })]));
    const client = (i: number) => ip(`172.16.${i >> 8}.${i & 255}`);
    for (let i = 0; i < 1000; i++) {
      engine.connect(TCP, client(i), 1, VIP, 80, i);
      engine.established(TCP, client(i), 1, VIP, 80, i);
    }
    for (let i = 0; i < 1000; i++) engine.connect(TCP, ip(`198.51.${i >> 8}.${i & 255}`), 2, VIP, 80, 2000 + i);
    let kept = 0;
    for (let i = 0; i < 1000; i++) if (engine.lookup(TCP, client(i), 1, VIP, 80, 3000).verdict === Verdict.Backend) kept++;
    expect(kept).toBe(999);
    expect(engine.stats()).toMatchObject({ flows: 1000, flowEvictions: 1000 });
  });

  it('a connection never established runs out after 60 s (IPVS SYN_RECV), an established one after 900 s', async () => {
    const engine = await loadEngine({ flowCapacity: 64 });
    engine.load(model([servicePort('web', { clusterIPs: ['10.96.0.10'], backends: abc([1, 1, 1]) })]));
    engine.connect(TCP, ip('172.16.0.1'), 1, VIP, 80, 0);
    engine.connect(TCP, ip('172.16.0.2'), 1, VIP, 80, 0);
    engine.established(TCP, ip('172.16.0.2'), 1, VIP, 80, 0);
    // Counted as active meanwhile, as the kernel (v4.7+) counts SYN_RECV.
    expect(engine.counters(0).reduce((n, c) => n + c.active, 0)).toBe(2);
    expect(engine.expire(60 * S - 1)).toBe(0);
    expect(engine.expire(60 * S)).toBe(1);
    expect(engine.lookup(TCP, ip('172.16.0.2'), 1, VIP, 80, 60 * S).verdict).toBe(Verdict.Backend);
  });

  it('the SYN timeout is configurable (EngineOptions.timeouts.tcpSyn)', async () => {
    const engine = await loadEngine({ flowCapacity: 64, timeouts: { tcpSyn: 5 } });
    engine.load(model([servicePort('web', { clusterIPs: ['10.96.0.10'], backends: abc([1, 1, 1]) })]));
    engine.connect(TCP, ip('172.16.0.1'), 1, VIP, 80, 0);
    expect(engine.expire(5 * S)).toBe(1);
  });
});

describe('affinity eviction honours each service port’s timeout', () => {
  it('gives up a 10 s entry that ran out before a 600 s one that is older but live', async () => {
    const engine = await loadEngine({ affinityCapacity: 2 });
    const long = servicePort('long', { clusterIPs: ['10.96.0.10'], sessionAffinity: 'ClientIP', affinityTimeoutSeconds: 600, backends: abc([1, 1, 1]) });
    const short = servicePort('short', { clusterIPs: ['10.96.0.11'], sessionAffinity: 'ClientIP', affinityTimeoutSeconds: 10, backends: abc([1, 1, 1]) });
    engine.load(model([long, short]));
    const pinned = ip('172.16.0.1');
    const first = engine.connect(TCP, pinned, 1, VIP, 80, 0);
    engine.connect(TCP, ip('172.16.0.2'), 1, ip('10.96.0.11'), 80, 5 * S);
    // Full at 100 s: the short entry (5 s + 10 s) has run out; the long one (0 s + 600 s) has not.
    engine.connect(TCP, ip('172.16.0.3'), 1, VIP, 80, 100 * S);
    const again = engine.connect(TCP, pinned, 2, VIP, 80, 100 * S);
    expect([again.via, again.backendIndex]).toEqual([Via.Affinity, first.backendIndex]);
    expect(engine.stats()).toMatchObject({ affinities: 2, affinityExpirations: 1, affinityEvictions: 0 });
  });
});

describe('affinity expiry is O(expired): one LRU list per timeout', () => {
  it('expire() pops only expired entries, however many live ones there are, across timeouts', async () => {
    const engine = await loadEngine({ flowCapacity: 1 << 17, affinityCapacity: 1 << 17 });
    const sticky = (name: string, vip: string, seconds: number) =>
      servicePort(name, { clusterIPs: [vip], sessionAffinity: 'ClientIP', affinityTimeoutSeconds: seconds, backends: abc([1, 1, 1]) });
    engine.load(model([sticky('a', '10.96.0.10', 10), sticky('b', '10.96.0.11', 600), sticky('c', '10.96.0.12', 60)]));
    const N = 100_000;
    for (let i = 0; i < N; i++) engine.connect(TCP, ip(`172.${16 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`), 1, ip('10.96.0.11'), 80, 0);
    for (let i = 0; i < 100; i++) engine.connect(TCP, ip(`172.20.0.${i}`), 1, VIP, 80, 0);
    for (let i = 0; i < 100; i++) engine.connect(TCP, ip(`172.21.0.${i}`), 1, ip('10.96.0.12'), 80, 0);
    // Flows go at 60 s (SYN_RECV); count only affinity entries here.
    const before = engine.stats().affinityExpirations;
    engine.expire(10 * S);
    expect(engine.stats().affinityExpirations - before).toBe(100);
    engine.expire(60 * S);
    expect(engine.stats().affinityExpirations - before).toBe(200);
    expect(engine.stats().affinities).toBe(N);
    // Repeated expiry with nothing due is cheap: no walk over the 100k live entries.
    const t0 = performance.now();
    for (let k = 0; k < 2000; k++) engine.expire(61 * S + k);
    const perCall = (performance.now() - t0) / 2000;
    expect(perCall).toBeLessThan(0.2);
  });
});
