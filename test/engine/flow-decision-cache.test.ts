/**
 * An IPv4 flow caches its decision (service port index, local index) in its own bucket, valid
 * while its service port keeps its epoch (engine/flows.ts, issue 10): a hit then reads one cache
 * line. These tests change the numbering under live flows without touching them and check that
 * every hit still answers with the current numbering, including across the epoch counter's wrap,
 * and that deltas which renumber nothing, or another service port, leave a flow's cache in use.
 */
import { describe, expect, it } from 'vitest';
import { loadEngine } from '../../host/engine/node.js';
import type { Engine } from '../../host/engine/engine.js';
import { Via } from '../../host/engine/api.js';
import type { ModelServicePort, ServiceModel } from '../../host/engine/model.js';
import { ServiceChangeTracker } from '../../host/model/change-tracker.js';
import { backend, ip, servicePort, TCP } from './fixtures.js';

type TestExports = {
  flowDecisionEpoch(): number;
  setFlowDecisionEpoch(epoch: number): void;
  explainFlow(proto: number, sf: number, s0: number, s1: number, s2: number, s3: number, sport: number,
    df: number, d0: number, d1: number, d2: number, d3: number, dport: number): number;
  explainFlowCached(e: number): number;
};

/** Whether the flow client:40000 → vip:80 answers from its bucket's cached decision now. */
function cached(ex: TestExports, client: string, vip: string): boolean {
  const [s, d] = [ip(client), ip(vip)];
  const e = ex.explainFlow(TCP, s.family, s.w0, s.w1, s.w2, s.w3, 40000, d.family, d.w0, d.w1, d.w2, d.w3, 80);
  expect(e).toBeGreaterThanOrEqual(0);
  return ex.explainFlowCached(e) === 1;
}

/** Ten service ports svc-0..svc-9 (so one change is sent as a delta), clusterIP 10.96.0.n and fd00::n. */
function ports(): ModelServicePort[] {
  return Array.from({ length: 10 }, (_, n) =>
    servicePort(`svc-${n}`, {
      clusterIPs: [`10.96.0.${n}`, `fd00::${n}`],
      backends: [backend(`10.0.${n}.5`), backend(`10.0.${n}.6`), backend(`fd00:1::${n}:5`), backend(`fd00:1::${n}:6`)],
    }),
  );
}

function withChanges(list: ModelServicePort[]): ServiceModel {
  return { nodeIPs: [], servicePorts: list };
}

async function setup(): Promise<{ engine: Engine; tracker: ServiceChangeTracker; ex: TestExports }> {
  const engine = await loadEngine({ flowCapacity: 1024 });
  const tracker = new ServiceChangeTracker();
  expect(engine.applyChanges(tracker.update(withChanges(ports())))).toBe('full');
  return { engine, tracker, ex: (engine as unknown as { ex: TestExports }).ex };
}

/** What a hit answers: the Service's name and the backend's address, through the current numbering. */
function hit(engine: Engine, client: string, vip: string): string {
  const d = engine.lookup(TCP, ip(client), 40000, ip(vip), 80, 10);
  expect(d.via).toBe(Via.Flow);
  return `${d.servicePort?.name} ${d.backend?.ip}`;
}

describe('cached flow decisions', () => {
  it('follow a delta that renumbers the service port and the local index under a flow', async () => {
    const { engine, tracker } = await setup();
    // (The engine reuses one Decision object: each is read before the next call.)
    const first = engine.connect(TCP, ip('198.18.0.1'), 40000, ip('10.96.0.9'), 80, 0);
    const at = `${first.servicePort?.name} ${first.backend?.ip}`;
    const v6 = engine.connect(TCP, ip('fd00:2::1'), 40000, ip('fd00::9'), 80, 0);
    const at6 = `${v6.servicePort?.name} ${v6.backend?.ip}`;
    expect([at, at6].map((s) => s.split(' ')[0])).toEqual(['svc-9', 'svc-9']);
    expect(hit(engine, '198.18.0.1', '10.96.0.9')).toBe(at); // now answered from the cache
    const index = engine.model.servicePorts.findIndex((p) => p.name === 'svc-9');
    // svc-0 goes: the last service port (svc-9) takes its index. Nothing walks svc-9's flows.
    const rest = ports().slice(1);
    expect(engine.applyChanges(tracker.update(withChanges(rest)))).toBe('delta');
    expect(engine.model.servicePorts.findIndex((p) => p.name === 'svc-9')).not.toBe(index);
    expect(hit(engine, '198.18.0.1', '10.96.0.9')).toBe(at);
    expect(hit(engine, 'fd00:2::1', 'fd00::9')).toBe(at6);
    // A backend that sorts first shifts every local index of svc-9.
    const grown = rest.map((p) => (p.name === 'svc-9' ? { ...p, backends: [backend('10.0.9.1'), ...p.backends] } : p));
    expect(engine.applyChanges(tracker.update(withChanges(grown)))).toBe('delta');
    expect(hit(engine, '198.18.0.1', '10.96.0.9')).toBe(at);
    expect(hit(engine, 'fd00:2::1', 'fd00::9')).toBe(at6);
  });

  it('never match an index given to another service port (remove, then append, with no lookup between)', async () => {
    const { engine, tracker } = await setup();
    const d = engine.connect(TCP, ip('198.18.0.6'), 40000, ip('10.96.0.9'), 80, 0);
    const at = `${d.servicePort?.name} ${d.backend?.ip}`;
    // svc-0 goes: svc-9 (index 9) moves to index 0; its flow still caches index 9.
    const rest = ports().slice(1);
    expect(engine.applyChanges(tracker.update(withChanges(rest)))).toBe('delta');
    // A new service port takes index 9.
    const more = [...rest, servicePort('svc-new', { clusterIPs: ['10.96.1.2'], backends: [backend('10.0.98.1'), backend('10.0.98.2')] })];
    expect(engine.applyChanges(tracker.update(withChanges(more)))).toBe('delta');
    expect(engine.model.servicePorts[9]?.name).toBe('svc-new');
    expect(hit(engine, '198.18.0.6', '10.96.0.9')).toBe(at);
  });

  it('survive deltas that renumber nothing, or renumber another service port', async () => {
    const { engine, tracker, ex } = await setup();
    const d = engine.connect(TCP, ip('198.18.0.4'), 40000, ip('10.96.0.9'), 80, 0);
    const at = `${d.servicePort?.name} ${d.backend?.ip}`;
    const other = engine.connect(TCP, ip('198.18.0.5'), 40000, ip('10.96.0.4'), 80, 0);
    const atOther = `${other.servicePort?.name} ${other.backend?.ip}`;
    expect(cached(ex, '198.18.0.4', '10.96.0.9')).toBe(true);
    const steps: ModelServicePort[][] = [];
    const grown = [...ports(), servicePort('svc-z', { clusterIPs: ['10.96.1.1'], backends: [backend('10.0.99.1')] })];
    steps.push(grown); // an append
    steps.push(grown.map((p) => (p.name === 'svc-9' ? { ...p, backends: p.backends.map((b, k) => (k === 0 ? { ...b, weight: 5 } : b)) } : p)));
    // (engine order: address family, then address: this one sorts last)
    steps.push(steps[1]!.map((p) => (p.name === 'svc-9' ? { ...p, backends: [...p.backends, backend('fd00:1::9:ff')] } : p)));
    // A backend that sorts first renumbers svc-4's backends, not svc-9's.
    steps.push(steps[2]!.map((p) => (p.name === 'svc-4' ? { ...p, backends: [backend('10.0.4.1'), ...p.backends] } : p)));
    for (const step of steps) {
      expect(engine.applyChanges(tracker.update(withChanges(step)))).toBe('delta');
      expect(cached(ex, '198.18.0.4', '10.96.0.9'), `after change ${steps.indexOf(step)}`).toBe(true);
      expect(hit(engine, '198.18.0.4', '10.96.0.9')).toBe(at);
    }
    expect(cached(ex, '198.18.0.5', '10.96.0.4')).toBe(false); // svc-4's flow reads its member once
    expect(hit(engine, '198.18.0.5', '10.96.0.4')).toBe(atOther);
    expect(cached(ex, '198.18.0.5', '10.96.0.4')).toBe(true);
    // A backend that sorts first in svc-9: its flow's cache goes.
    const first = steps[3]!.map((p) => (p.name === 'svc-9' ? { ...p, backends: [backend('10.0.9.1'), ...p.backends] } : p));
    expect(engine.applyChanges(tracker.update(withChanges(first)))).toBe('delta');
    expect(cached(ex, '198.18.0.4', '10.96.0.9')).toBe(false);
    expect(hit(engine, '198.18.0.4', '10.96.0.9')).toBe(at);
  });

  it('stay right when the epoch counter wraps (an old tag must not match a reissued epoch)', async () => {
    const { engine, tracker, ex } = await setup();
    // The full load gave svc-0..svc-9 (indexes 0..9) epochs 1..10, in order.
    expect(ex.flowDecisionEpoch()).toBe(10);
    const d = engine.connect(TCP, ip('198.18.0.2'), 40000, ip('10.96.0.3'), 80, 0);
    const at = `${d.servicePort?.name} ${d.backend?.ip}`;
    // svc-3's backends shift: its epoch is renewed (11); this flow, not looked up, keeps tag 10,
    // the count when it was cached.
    const shifted = ports().map((p) => (p.name === 'svc-3' ? { ...p, backends: [backend('10.0.3.1'), ...p.backends] } : p));
    expect(engine.applyChanges(tracker.update(withChanges(shifted)))).toBe('delta');
    // As if 2^32 - 12 more epochs had been handed out: the next renewal wraps, and the count
    // restarts by giving indexes 0..9 epochs 1..10 again — index 3 gets 4, older than this flow's
    // tag 10, so only the wrap's dropping of every cache keeps it from answering.
    ex.setFlowDecisionEpoch(0xffffffff);
    const touched = shifted.map((p) => (p.name === 'svc-5' ? { ...p, backends: [backend('10.0.5.1'), ...p.backends] } : p));
    expect(engine.applyChanges(tracker.update(withChanges(touched)))).toBe('delta');
    expect(ex.flowDecisionEpoch()).toBe(11);
    expect(cached(ex, '198.18.0.2', '10.96.0.3')).toBe(false);
    expect(hit(engine, '198.18.0.2', '10.96.0.3')).toBe(at);
  });

  it('key an IPv4 address by its 32 bits alone (words 1..3 are not part of it)', async () => {
    const { engine } = await setup();
    const backendIP = engine.connect(TCP, ip('198.18.0.3'), 40000, ip('10.96.0.4'), 80, 0).backend?.ip;
    const dirty = { ...ip('198.18.0.3'), w1: 7, w2: 8, w3: 9 };
    const d = engine.lookup(TCP, dirty, 40000, ip('10.96.0.4'), 80, 10);
    expect(d.via).toBe(Via.Flow);
    expect(d.backend?.ip).toBe(backendIP);
    expect(engine.stats().flows).toBe(1);
  });
});
