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
    engine.connect(TCP, ip('172.16.0.1'), 1, VIP, 80, 0);
    engine.connect(TCP, ip('172.16.0.2'), 1, VIP, 80, 10 * S);
    engine.connect(TCP, ip('172.16.0.3'), 1, VIP, 80, 20 * S);
    expect(engine.lookup(TCP, ip('172.16.0.1'), 1, VIP, 80, 20 * S).verdict).toBe(Verdict.Pass);
    expect(engine.lookup(TCP, ip('172.16.0.2'), 1, VIP, 80, 20 * S).verdict).toBe(Verdict.Backend);
    expect(engine.stats()).toMatchObject({ flowEvictions: 1, flowExpirations: 0 });
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
