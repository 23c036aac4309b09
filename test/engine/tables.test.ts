/**
 * Flow and affinity tables: timeouts per protocol and state, refresh on use, expiry by the host's
 * clock, eviction of the oldest at capacity (counted), and the active/inactive counters.
 */
import { describe, expect, it } from 'vitest';
import { loadEngine } from '../../host/engine/node.js';
import { Verdict, Via } from '../../host/engine/api.js';
import { abc, backend, ip, model, servicePort, SCTP, TCP, UDP } from './fixtures.js';

const VIP = ip('10.96.0.10');
const web = (extra = {}) => servicePort('web', { clusterIPs: ['10.96.0.10'], backends: abc([1, 1, 1]), ...extra });
const S = 1000;

describe('flow timeouts and expiry', () => {
  it('expires TCP flows after 900 s idle, refreshed by use', async () => {
    const engine = await loadEngine({ flowCapacity: 64 });
    engine.load(model([web()]));
    const c = ip('172.16.0.1');
    engine.connect(TCP, c, 1, VIP, 80, 0);
    engine.connect(TCP, c, 2, VIP, 80, 0);
    engine.established(TCP, c, 1, VIP, 80, 0);
    engine.established(TCP, c, 2, VIP, 80, 0);
    expect(engine.lookup(TCP, c, 1, VIP, 80, 600 * S).verdict).toBe(Verdict.Backend); // refresh flow 1
    expect(engine.expire(900 * S - 1)).toBe(0);
    expect(engine.expire(900 * S)).toBe(1); // flow 2
    expect(engine.lookup(TCP, c, 2, VIP, 80, 900 * S).verdict).toBe(Verdict.Pass);
    expect(engine.lookup(TCP, c, 1, VIP, 80, 1499 * S).verdict).toBe(Verdict.Backend);
    expect(engine.expire(2399 * S)).toBe(1);
    expect(engine.stats().flows).toBe(0);
    expect(engine.stats().flowExpirations).toBe(2);
    expect(engine.counters(0).every((x) => x.active === 0 && x.inactive === 0)).toBe(true);
  });

  it('closed TCP flows keep the tcpfin timeout (120 s); UDP 300 s; a configured timeout wins', async () => {
    const engine = await loadEngine({ flowCapacity: 64, timeouts: { udp: 30 } });
    engine.load(model([web(), servicePort('dns', { protocol: 'UDP', port: 53, clusterIPs: ['10.96.0.53'], backends: abc() })]));
    const c = ip('172.16.0.1');
    engine.connect(TCP, c, 1, VIP, 80, 0);
    expect(engine.close(TCP, c, 1, VIP, 80, 10 * S)).toBe(true);
    engine.connect(UDP, c, 2, ip('10.96.0.53'), 53, 0);
    expect(engine.expire(29 * S)).toBe(0);
    expect(engine.expire(30 * S)).toBe(1); // UDP at 30 s
    expect(engine.expire(129 * S)).toBe(0);
    expect(engine.expire(130 * S)).toBe(1); // tcpfin: 10 s + 120 s
  });

  it('treats an expired flow as gone even before expire() runs', async () => {
    const engine = await loadEngine({ flowCapacity: 64 });
    engine.load(model([web()]));
    const c = ip('172.16.0.1');
    engine.connect(TCP, c, 1, VIP, 80, 0);
    expect(engine.lookup(TCP, c, 1, VIP, 80, 900 * S).verdict).toBe(Verdict.Pass);
    expect(engine.established(TCP, c, 1, VIP, 80, 900 * S)).toBe(false);
    expect(engine.stats().flowExpirations).toBe(1);
  });
});

describe('capacity', () => {
  it('evicts the least recently used flow when full, and counts it', async () => {
    const engine = await loadEngine({ flowCapacity: 4 });
    engine.load(model([web()]));
    const c = ip('172.16.0.1');
    for (let p = 1; p <= 4; p++) engine.connect(TCP, c, p, VIP, 80, p * S);
    engine.lookup(TCP, c, 1, VIP, 80, 10 * S); // 1 is now the most recent; 2 is the oldest
    engine.connect(TCP, c, 5, VIP, 80, 11 * S);
    const st = engine.stats();
    expect(st.flows).toBe(4);
    expect(st.flowEvictions).toBe(1);
    expect(engine.lookup(TCP, c, 2, VIP, 80, 12 * S).verdict).toBe(Verdict.Pass);
    for (const p of [1, 3, 4, 5]) expect(engine.lookup(TCP, c, p, VIP, 80, 12 * S).via).toBe(Via.Flow);
    // The evicted connection no longer counts.
    expect(engine.counters(0).reduce((n, x) => n + x.active, 0)).toBe(4);
  });

  it('evicts across protocol classes by age, and counts an expired victim as an expiration', async () => {
    const engine = await loadEngine({ flowCapacity: 2 });
    engine.load(model([web(), servicePort('dns', { protocol: 'UDP', port: 53, clusterIPs: ['10.96.0.53'], backends: abc() })]));
    const c = ip('172.16.0.1');
    engine.connect(UDP, c, 1, ip('10.96.0.53'), 53, 0);
    engine.connect(TCP, c, 2, VIP, 80, 100 * S);
    engine.established(TCP, c, 2, VIP, 80, 100 * S);
    engine.connect(TCP, c, 3, VIP, 80, 200 * S); // evicts the UDP flow (oldest)
    engine.established(TCP, c, 3, VIP, 80, 200 * S);
    expect(engine.lookup(UDP, c, 1, ip('10.96.0.53'), 53, 200 * S).verdict).toBe(Verdict.Pass);
    engine.connect(TCP, c, 4, VIP, 80, 1001 * S); // flow 2 idle 901 s: expired, not evicted
    const st = engine.stats();
    expect(st.flowEvictions).toBe(1);
    expect(st.flowExpirations).toBe(1);
  });

  it('evicts the least recently used affinity entry when full', async () => {
    const engine = await loadEngine({ flowCapacity: 64, affinityCapacity: 2 });
    engine.load(model([web({ sessionAffinity: 'ClientIP' })]));
    for (const [i, c] of ['172.16.0.1', '172.16.0.2', '172.16.0.3'].entries()) engine.connect(TCP, ip(c), 1, VIP, 80, i * S);
    const st = engine.stats();
    expect(st.affinities).toBe(2);
    expect(st.affinityEvictions).toBe(1);
  });

  it('handles many inserts and removals at a small capacity without losing entries (index deletions)', async () => {
    const engine = await loadEngine({ flowCapacity: 64 });
    engine.load(model([servicePort('dns', { protocol: 'UDP', port: 53, clusterIPs: ['10.96.0.53'], backends: abc() })]));
    const dns = ip('10.96.0.53');
    const live = new Set<number>();
    let seed = 12345;
    for (let i = 0; i < 5000; i++) {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      const p = 1 + (seed >>> 16) % 100;
      if (live.has(p)) {
        expect(engine.close(UDP, ip('172.16.0.1'), p, dns, 53, 0)).toBe(true);
        live.delete(p);
      } else if (live.size < 64) {
        expect(engine.connect(UDP, ip('172.16.0.1'), p, dns, 53, 0).via).toBe(Via.Scheduler);
        live.add(p);
      }
    }
    expect(engine.stats().flows).toBe(live.size);
    for (let p = 1; p <= 100; p++) expect(engine.lookup(UDP, ip('172.16.0.1'), p, dns, 53, 0).verdict).toBe(live.has(p) ? Verdict.Backend : Verdict.Pass);
    expect(engine.counters(0).reduce((n, x) => n + x.inactive, 0)).toBe(live.size);
  });
});

describe('connection counters', () => {
  it('counts TCP active from the SYN, inactive after close; UDP inactive; SCTP active once established', async () => {
    const engine = await loadEngine({ flowCapacity: 64 });
    engine.load(model([
      web({ backends: [backend('10.0.0.1')] }),
      servicePort('u', { protocol: 'UDP', clusterIPs: ['10.96.0.11'], backends: [backend('10.0.0.1')] }),
      servicePort('s', { protocol: 'SCTP', clusterIPs: ['10.96.0.12'], backends: [backend('10.0.0.1')] }),
    ]));
    const c = ip('172.16.0.1');
    engine.connect(TCP, c, 1, VIP, 80, 0);
    expect(engine.counters(0)).toEqual([{ active: 1, inactive: 0 }]);
    expect(engine.established(TCP, c, 1, VIP, 80, 1)).toBe(true);
    expect(engine.counters(0)).toEqual([{ active: 1, inactive: 0 }]);
    expect(engine.close(TCP, c, 1, VIP, 80, 2)).toBe(true);
    expect(engine.counters(0)).toEqual([{ active: 0, inactive: 1 }]);
    engine.connect(TCP, c, 1, VIP, 80, 3); // a new SYN on the closed flow: active again
    expect(engine.counters(0)).toEqual([{ active: 1, inactive: 0 }]);

    engine.connect(UDP, c, 2, ip('10.96.0.11'), 80, 0);
    expect(engine.counters(1)).toEqual([{ active: 0, inactive: 1 }]);
    engine.established(UDP, c, 2, ip('10.96.0.11'), 80, 1);
    expect(engine.counters(1)).toEqual([{ active: 0, inactive: 1 }]);
    expect(engine.close(UDP, c, 2, ip('10.96.0.11'), 80, 2)).toBe(true);
    expect(engine.counters(1)).toEqual([{ active: 0, inactive: 0 }]);
    expect(engine.close(UDP, c, 2, ip('10.96.0.11'), 80, 2)).toBe(false);

    engine.connect(SCTP, c, 3, ip('10.96.0.12'), 80, 0);
    expect(engine.counters(2)).toEqual([{ active: 0, inactive: 1 }]);
    engine.established(SCTP, c, 3, ip('10.96.0.12'), 80, 1);
    expect(engine.counters(2)).toEqual([{ active: 1, inactive: 0 }]);
    engine.close(SCTP, c, 3, ip('10.96.0.12'), 80, 2);
    expect(engine.counters(2)).toEqual([{ active: 0, inactive: 0 }]);
  });
});

describe('ClientIP affinity', () => {
  it('pins a client to one backend until timeoutSeconds after its last new connection', async () => {
    const engine = await loadEngine({ flowCapacity: 256 });
    engine.load(model([web({ sessionAffinity: 'ClientIP', affinityTimeoutSeconds: 60 })]));
    const c = ip('172.16.0.9');
    const first = engine.connect(TCP, c, 1, VIP, 80, 0).backendIndex;
    for (let p = 2; p < 8; p++) {
      const d = engine.connect(TCP, c, p, VIP, 80, p * 10 * S);
      expect(d.via).toBe(Via.Affinity);
      expect(d.backendIndex).toBe(first);
    }
    // Another client is scheduled (rr moves on).
    expect(engine.connect(TCP, ip('172.16.0.10'), 1, VIP, 80, 70 * S).backendIndex).not.toBe(first);
    // 60 s after the last new connection (at 70 s) the entry is gone.
    expect(engine.connect(TCP, c, 100, VIP, 80, 130 * S).via).toBe(Via.Scheduler);
    expect(engine.stats().affinityExpirations).toBe(1);
  });

  it('expire() removes affinity entries past their own service port timeout', async () => {
    const engine = await loadEngine({ flowCapacity: 256 });
    engine.load(model([
      web({ sessionAffinity: 'ClientIP', affinityTimeoutSeconds: 10 }),
      servicePort('long', { clusterIPs: ['10.96.0.11'], backends: abc(), sessionAffinity: 'ClientIP', affinityTimeoutSeconds: 100 }),
    ]));
    engine.connect(TCP, ip('172.16.0.1'), 1, VIP, 80, 0);
    engine.connect(TCP, ip('172.16.0.1'), 2, ip('10.96.0.11'), 80, 0);
    engine.established(TCP, ip('172.16.0.1'), 1, VIP, 80, 0);
    engine.established(TCP, ip('172.16.0.1'), 2, ip('10.96.0.11'), 80, 0);
    expect(engine.expire(10 * S)).toBe(1);
    expect(engine.stats().affinities).toBe(1);
    expect(engine.expire(100 * S)).toBe(1);
  });
});
