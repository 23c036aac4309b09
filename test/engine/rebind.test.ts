/**
 * rebind: a host that retried a connection on another backend (the forwarder's connect retry)
 * moves the flow there, with its active/inactive count and the client's ClientIP affinity entry.
 */
import { describe, expect, it } from 'vitest';
import { loadEngine } from '../../host/engine/node.js';
import { Verdict, Via } from '../../host/engine/api.js';
import { abc, ip, model, servicePort, TCP, UDP } from './fixtures.js';

const VIP = ip('10.96.0.10');
const S = 1000;

describe('rebind', () => {
  it('moves an active TCP flow and its count to the backend the host reached; lc then sees it there', async () => {
    const engine = await loadEngine({ flowCapacity: 64 });
    engine.load(model([servicePort('web', { clusterIPs: ['10.96.0.10'], backends: abc([1, 1, 1]), scheduler: 'lc' })]));
    const c = ip('198.18.0.7');
    const first = engine.connect(TCP, c, 1000, VIP, 80, 0);
    expect(first.backendIndex).toBe(0);
    expect(engine.rebind(TCP, c, 1000, VIP, 80, 2, S)).toBe(true);
    expect(engine.counters(0)).toEqual([{ active: 0, inactive: 0 }, { active: 0, inactive: 0 }, { active: 1, inactive: 0 }]);
    const again = engine.lookup(TCP, c, 1000, VIP, 80, 2 * S);
    expect([again.verdict, again.via, again.backendIndex]).toEqual([Verdict.Backend, Via.Flow, 2]);
    // lc: backends 0 and 1 are idle now, 2 holds the connection.
    expect(engine.connect(TCP, c, 1001, VIP, 80, 3 * S).backendIndex).toBe(0);
    expect(engine.connect(TCP, c, 1002, VIP, 80, 3 * S).backendIndex).toBe(1);
    // Closing the rebound flow releases backend 2, not backend 0.
    expect(engine.close(TCP, c, 1000, VIP, 80, 4 * S)).toBe(true);
    expect(engine.counters(0)).toEqual([{ active: 1, inactive: 0 }, { active: 1, inactive: 0 }, { active: 0, inactive: 1 }]);
  });

  it('repoints the client’s ClientIP affinity entry, so its next connections stick to the backend that answered', async () => {
    const engine = await loadEngine({ flowCapacity: 64 });
    engine.load(model([servicePort('web', { clusterIPs: ['10.96.0.10'], backends: abc([1, 1, 1]), sessionAffinity: 'ClientIP' })]));
    const c = ip('198.18.0.7');
    const first = engine.connect(TCP, c, 1000, VIP, 80, 0);
    const other = (first.backendIndex! + 1) % 3;
    expect(engine.rebind(TCP, c, 1000, VIP, 80, other, S)).toBe(true);
    const next = engine.connect(TCP, c, 1001, VIP, 80, 2 * S);
    expect([next.via, next.backendIndex]).toEqual([Via.Affinity, other]);
  });

  it('moves an inactive (UDP) flow as inactive', async () => {
    const engine = await loadEngine({ flowCapacity: 64 });
    engine.load(model([servicePort('dns', { protocol: 'UDP', port: 53, clusterIPs: ['10.96.0.53'], backends: abc([1, 1, 1]) })]));
    const c = ip('198.18.0.7');
    engine.connect(UDP, c, 5353, ip('10.96.0.53'), 53, 0);
    expect(engine.rebind(UDP, c, 5353, ip('10.96.0.53'), 53, 1, S)).toBe(true);
    expect(engine.counters(0)).toEqual([{ active: 0, inactive: 0 }, { active: 0, inactive: 1 }, { active: 0, inactive: 0 }]);
  });

  it('refuses an unknown flow or a backend the service port does not have, changing nothing', async () => {
    const engine = await loadEngine({ flowCapacity: 64 });
    engine.load(model([servicePort('web', { clusterIPs: ['10.96.0.10'], backends: abc([1, 1, 1]) })]));
    const c = ip('198.18.0.7');
    expect(engine.rebind(TCP, c, 1000, VIP, 80, 1, 0)).toBe(false);
    engine.connect(TCP, c, 1000, VIP, 80, 0);
    expect(engine.rebind(TCP, c, 1000, VIP, 80, 3, 0)).toBe(false);
    expect(engine.rebind(TCP, c, 1000, VIP, 80, -1, 0)).toBe(false);
    expect(engine.counters(0)).toEqual([{ active: 1, inactive: 0 }, { active: 0, inactive: 0 }, { active: 0, inactive: 0 }]);
    expect(engine.lookup(TCP, c, 1000, VIP, 80, 0).backendIndex).toBe(0);
  });
});
