/**
 * Queue epochs (engine/flows.ts): a lookup hit moves its flow to the most recently used end of
 * its class list only once the epoch (1,024 ms of host time) it was queued in has passed, so
 * eviction sees use order to within one epoch; expiry stays exact, also for a flow that waits
 * behind one that was looked up later in the same epoch.
 */
import { describe, expect, it } from 'vitest';
import { Verdict } from '../../host/engine/api.js';
import { loadEngine } from '../../host/engine/node.js';
import { abc, ip, model, servicePort, TCP, UDP } from './fixtures.js';

const VIP = ip('10.96.0.10');
const A = ip('172.16.0.1');
const B = ip('172.16.0.2');
const C = ip('172.16.0.3');

async function engineWith(flowCapacity: number) {
  const engine = await loadEngine({ flowCapacity });
  engine.load(model([servicePort('web', { clusterIPs: ['10.96.0.10'], protocol: 'UDP', backends: abc([1, 1, 1]) })]));
  return engine;
}

describe('queue epochs', () => {
  it('a lookup within the queue epoch does not reorder: the table gives up that flow first', async () => {
    const engine = await engineWith(2);
    engine.connect(UDP, A, 1, VIP, 80, 0);
    engine.connect(UDP, B, 1, VIP, 80, 10);
    engine.lookup(UDP, A, 1, VIP, 80, 1000); // epoch 0, as its connect
    engine.connect(UDP, C, 1, VIP, 80, 1010);
    expect(engine.lookup(UDP, A, 1, VIP, 80, 1011).verdict).toBe(Verdict.Pass);
    expect(engine.lookup(UDP, B, 1, VIP, 80, 1011).verdict).toBe(Verdict.Backend);
  });

  it('a lookup in a later epoch moves the flow to the most recently used end', async () => {
    const engine = await engineWith(2);
    engine.connect(UDP, A, 1, VIP, 80, 0);
    engine.connect(UDP, B, 1, VIP, 80, 10);
    engine.lookup(UDP, A, 1, VIP, 80, 1024); // epoch 1
    engine.connect(UDP, C, 1, VIP, 80, 1030);
    expect(engine.lookup(UDP, A, 1, VIP, 80, 1031).verdict).toBe(Verdict.Backend);
    expect(engine.lookup(UDP, B, 1, VIP, 80, 1031).verdict).toBe(Verdict.Pass);
  });

  it('expire() removes a flow whose time ran out behind one looked up later in the same epoch, and not that one', async () => {
    const engine = await engineWith(16);
    const udp = 300_000;
    engine.connect(UDP, A, 1, VIP, 80, 0); // tail of the udp list
    engine.connect(UDP, B, 1, VIP, 80, 100); // behind A
    engine.lookup(UDP, A, 1, VIP, 80, 900); // A stays the tail (epoch 0), now used after B
    // At 100 + udp, B has run out and A (used at 900) has not.
    expect(engine.expire(udp + 100)).toBe(1);
    expect(engine.stats().flows).toBe(1);
    expect(engine.expire(udp + 899)).toBe(0);
    expect(engine.expire(udp + 900)).toBe(1);
    expect(engine.stats()).toMatchObject({ flows: 0, flowExpirations: 2 });
  });

  it('a TCP flow used by packets every 100 ms for an hour never runs out, and goes 900 s after the last', async () => {
    const engine = await loadEngine({ flowCapacity: 16 });
    engine.load(model([servicePort('web', { clusterIPs: ['10.96.0.10'], backends: abc([1, 1, 1]) })]));
    engine.connect(TCP, A, 1, VIP, 80, 0);
    engine.established(TCP, A, 1, VIP, 80, 0);
    let t = 0;
    for (; t <= 3_600_000; t += 100) {
      expect(engine.lookup(TCP, A, 1, VIP, 80, t).verdict).toBe(Verdict.Backend);
      if (t % 1000 === 0) expect(engine.expire(t)).toBe(0);
    }
    const last = t - 100;
    expect(engine.expire(last + 899_999)).toBe(0);
    expect(engine.expire(last + 900_000)).toBe(1);
  });
});
