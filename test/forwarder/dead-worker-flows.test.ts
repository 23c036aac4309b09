/**
 * What main closes when a worker dies (host/forwarder/workers/dead-worker-flows.ts): the dead
 * worker's recorded flows, except those a live worker has taken over since (a UDP client whose
 * datagrams now reach another worker). Two recording data paths over one shared leader engine,
 * in this thread, play the dead and the live worker.
 */
import { describe, expect, it } from 'vitest';
import { Verdict } from '../../host/engine/api.js';
import type { EngineApi } from '../../host/engine/api.js';
import { loadSharedEngine } from '../../host/engine/shared.js';
import { closeDeadWorkerFlows } from '../../host/forwarder/workers/dead-worker-flows.js';
import { FlowRegistry } from '../../host/forwarder/workers/flow-registry.js';
import { RecordingEngine } from '../../host/forwarder/workers/recording-engine.js';
import { TCP, UDP, backend, ip, model, servicePort } from '../engine/fixtures.js';

const VIP = ip('10.96.0.53');
const client = (n: number) => ip(`192.0.2.${n}`);

async function setup() {
  const { engine: leader } = await loadSharedEngine({ seed: 3, flowCapacity: 256, affinityCapacity: 16 }, 2);
  leader.load(model([
    servicePort('dns-udp', { clusterIPs: ['10.96.0.53'], port: 53, protocol: 'UDP', scheduler: 'lc', backends: [backend('10.0.0.1', 53), backend('10.0.0.2', 53)] }),
    servicePort('dns-tcp', { clusterIPs: ['10.96.0.53'], port: 53, scheduler: 'lc', backends: [backend('10.0.0.1', 53), backend('10.0.0.2', 53)] }),
  ]));
  const registries = [FlowRegistry.create(64), FlowRegistry.create(64)] as const;
  return { leader, registries, dead: new RecordingEngine(leader, registries[0]), live: new RecordingEngine(leader, registries[1]) };
}

const openFlows = (leader: EngineApi) => [0, 1].map((k) => leader.counters(k).reduce((n, c) => n + c.active + c.inactive, 0));

describe('closing a dead worker\'s flows', () => {
  it('closes what only it held, and keeps a flow a live worker took over', async () => {
    const { leader, registries, dead, live } = await setup();
    const chosen = [1, 2, 3].map((n) => dead.connect(UDP, client(n), 5353, VIP, 53, 0).backend?.ip);
    dead.connect(TCP, client(4), 40000, VIP, 53, 0);
    dead.established(TCP, client(4), 40000, VIP, 53, 1);
    expect(registries[0].size).toBe(4);
    // The worker dies; client 2's next datagram reaches the live worker, which finds its flow.
    const taken = live.connect(UDP, client(2), 5353, VIP, 53, 10);
    expect(taken.backend?.ip).toBe(chosen[1]);
    expect(openFlows(leader)).toEqual([3, 1]);

    expect(closeDeadWorkerFlows(leader, registries[0], [registries[1]], 20)).toEqual({ flows: 4, closed: 3, adopted: 1 });
    expect(leader.lookup(UDP, client(2), 5353, VIP, 53, 30).backend?.ip, 'the taken-over flow is still open').toBe(chosen[1]);
    for (const n of [1, 3]) expect(leader.lookup(UDP, client(n), 5353, VIP, 53, 30).verdict).toBe(Verdict.Pass);
    expect(leader.lookup(TCP, client(4), 40000, VIP, 53, 30).verdict).toBe(Verdict.Backend); // TCP: closed = FIN state, kept until its timeout
    expect(openFlows(leader)).toEqual([1, 1]);
    expect(leader.counters(1).reduce((n, c) => n + c.active, 0), 'the dead TCP connection no longer counts as active').toBe(0);
  });

  it('records a flow before its connect reaches the engine, and forgets it when the connect is refused', async () => {
    const { leader, registries } = await setup();
    const seen: boolean[] = [];
    const spy: EngineApi = Object.create(leader, {
      connect: {
        value: (...args: Parameters<EngineApi['connect']>) => {
          seen.push(registries[1].has(args[0], args[1], args[2], args[3], args[4]));
          return leader.connect(...args);
        },
      },
    });
    const live = new RecordingEngine(spy, registries[1]);
    expect(live.connect(UDP, client(7), 1000, VIP, 53, 0).verdict).toBe(Verdict.Backend);
    expect(live.connect(UDP, client(7), 1000, ip('10.96.0.99'), 53, 0).verdict, 'no such Service').toBe(Verdict.Pass);
    expect(seen).toEqual([true, true]);
    expect(registries[1].flows().map((f) => f.dst.text)).toEqual(['10.96.0.53']);
  });
});
