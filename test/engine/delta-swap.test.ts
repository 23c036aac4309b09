/**
 * Delta snapshots (engine/delta.ts, issue 10): applying only what changed must leave the engine
 * exactly where a full load of the same model would — same decisions for the same tuples, same
 * counters, same flows and affinity entries kept or dropped — over many rounds of random changes
 * to random traffic, so deltas applied on top of deltas (reused and orphaned records) are covered.
 */
import { describe, expect, it } from 'vitest';
import { loadEngine } from '../../host/engine/node.js';
import type { Engine, EngineExports } from '../../host/engine/engine.js';
import { encodeDelta } from '../../host/engine/delta.js';
import { Verdict } from '../../host/engine/api.js';
import { servicePortKey, type ModelServicePort, type SchedulerName, type ServiceModel } from '../../host/engine/model.js';
import { seededUnit } from '../../host/browser/simulate.js';
import { ServiceChangeTracker } from '../../host/model/change-tracker.js';
import { backend, ip, servicePort, TCP, UDP } from './fixtures.js';

const SCHEDULERS: SchedulerName[] = ['rr', 'wrr', 'lc', 'wlc', 'sed', 'nq', 'dh', 'sh', 'mh', 'random'];
const NODE_IP = '192.168.0.2';

/** A random service port number `n` (clusterIP 10.96.0.n, backends in 10.0.n.0/24). */
function randomPort(rand: () => number, n: number): ModelServicePort {
  const backends = [];
  for (let k = 1; k <= 8; k++) {
    if (rand() < 0.5) continue;
    const serving = rand() > 0.1;
    backends.push(backend(`10.0.${n}.${k}`, 8080, { weight: Math.floor(rand() * 4), ready: serving, serving, cluster: serving, external: serving }));
  }
  const nodePort = rand() < 0.3 ? 30000 + n : 0;
  return servicePort(`svc-${String(n).padStart(3, '0')}`, {
    protocol: rand() < 0.8 ? 'TCP' : 'UDP',
    type: nodePort ? 'NodePort' : 'ClusterIP',
    clusterIPs: [`10.96.0.${n}`],
    nodePort,
    scheduler: SCHEDULERS[Math.floor(rand() * SCHEDULERS.length)]!,
    sessionAffinity: rand() < 0.3 ? 'ClientIP' : 'None',
    affinityTimeoutSeconds: 10800,
    backends,
  });
}

function sorted(ports: ModelServicePort[]): ServiceModel {
  return { nodeIPs: [NODE_IP], servicePorts: [...ports].sort((a, b) => (servicePortKey(a) < servicePortKey(b) ? -1 : 1)) };
}

/** One decision, as something comparable across engines whose service port indexes differ. */
function decide(engine: Engine, proto: number, client: string, sport: number, n: number, nodePort: boolean, now: number): string {
  const d = nodePort ? engine.connect(proto, ip(client), sport, ip(NODE_IP), 30000 + n, now) : engine.connect(proto, ip(client), sport, ip(`10.96.0.${n}`), 80, now);
  return `${d.verdict}/${d.via}/${d.servicePort ? servicePortKey(d.servicePort) : '-'}/${d.backend ? `${d.backend.ip}:${d.backend.port}` : '-'}/${d.detail}`;
}

function counters(engine: Engine): Record<string, string> {
  const out: Record<string, string> = {};
  engine.model.servicePorts.forEach((sp, i) => {
    out[servicePortKey(sp)] = engine.counters(i).map((c) => `${c.active}+${c.inactive}`).join(' ');
  });
  return out;
}

function comparableStats(engine: Engine): object {
  const { flows, affinities, flowsDroppedOnSwap, affinitiesDroppedOnSwap, servicePorts, backends, generation } = engine.stats();
  return { flows, affinities, flowsDroppedOnSwap, affinitiesDroppedOnSwap, servicePorts, backends, generation };
}

/** Traffic to random ports of `model`, the same on both engines; closes a few TCP flows. */
function traffic(rand: () => number, engines: Engine[], model: ServiceModel, count: number, now: number): void {
  for (let i = 0; i < count; i++) {
    const sp = model.servicePorts[Math.floor(rand() * model.servicePorts.length)]!;
    const n = Number(sp.clusterIPs[0]!.split('.')[3]);
    const proto = sp.protocol === 'TCP' ? TCP : UDP;
    const client = `172.16.${Math.floor(rand() * 4)}.${1 + Math.floor(rand() * 6)}`;
    const sport = 1024 + Math.floor(rand() * 64);
    const viaNode = sp.nodePort !== 0 && rand() < 0.3;
    const close = rand() < 0.2;
    const [a, b] = engines.map((e) => decide(e, proto, client, sport, n, viaNode, now));
    expect(b, `decision ${i} to ${servicePortKey(sp)} from ${client}:${sport}`).toBe(a);
    if (close) for (const e of engines) e.close(proto, ip(client), sport, ip(viaNode ? NODE_IP : `10.96.0.${n}`), viaNode ? 30000 + n : 80, now);
  }
}

/** A random change to 1-3 service ports: edit, add or remove. */
function mutate(rand: () => number, ports: ModelServicePort[], next: { n: number }): ModelServicePort[] {
  const out = [...ports];
  const edits = 1 + Math.floor(rand() * 3);
  for (let e = 0; e < edits; e++) {
    const r = rand();
    if (r < 0.2 || out.length < 4) out.push(randomPort(rand, next.n++));
    else if (r < 0.35) out.splice(Math.floor(rand() * out.length), 1);
    else {
      const i = Math.floor(rand() * out.length);
      const old = out[i]!;
      const fresh = randomPort(rand, Number(old.clusterIPs[0]!.split('.')[3]));
      // Keep the identity (name, protocol) and often the scheduler, so state carries.
      out[i] = { ...fresh, name: old.name, protocol: old.protocol, nodePort: old.nodePort, type: old.type, scheduler: rand() < 0.8 ? old.scheduler : fresh.scheduler };
    }
  }
  return out;
}

describe('delta snapshots', () => {
  for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
    it(`leave the engine where a full load would (seed ${seed}, 12 rounds)`, async () => {
      const rand = seededUnit(seed); // seeded, so a failure replays
      const options = { flowCapacity: 4096, affinityCapacity: 1024, seed: 7 };
      const full = await loadEngine(options);
      const delta = await loadEngine(options);
      const next = { n: 20 };
      let ports = Array.from({ length: 16 }, () => randomPort(rand, next.n++));
      const tracker = new ServiceChangeTracker();
      let model = sorted(ports);
      full.load(model);
      expect(delta.applyChanges(tracker.update(model))).toBe('full');
      let now = 1000;
      let deltas = 0;
      for (let round = 0; round < 12; round++) {
        traffic(rand, [full, delta], model, 150, now);
        now += 1000;
        ports = mutate(rand, ports, next);
        model = sorted(ports);
        full.load(model);
        const path = delta.applyChanges(tracker.update(model));
        if (path === 'delta') deltas++;
        expect(comparableStats(delta)).toEqual(comparableStats(full));
        expect(counters(delta)).toEqual(counters(full));
        expect(new Set(delta.model.servicePorts)).toEqual(new Set(model.servicePorts));
      }
      traffic(rand, [full, delta], model, 150, now);
      expect(deltas).toBeGreaterThan(8);
    });
  }

  it('rewrites only the changed service port: the others keep their rr position and counters', async () => {
    const ports = [0, 1, 2].map((n) => servicePort(`s${n}`, { clusterIPs: [`10.96.0.${n}`], backends: [backend(`10.0.${n}.1`), backend(`10.0.${n}.2`), backend(`10.0.${n}.3`)] }));
    const engine = await loadEngine({ flowCapacity: 256 });
    const tracker = new ServiceChangeTracker();
    engine.applyChanges(tracker.update(sorted(ports)));
    const c = ip('172.16.0.1');
    const to = (n: number, p: number) => engine.connect(TCP, c, p, ip(`10.96.0.${n}`), 80, 0).backend!.ip;
    expect([to(0, 1), to(0, 2)]).toEqual(['10.0.0.1', '10.0.0.2']);
    // s1 loses a backend; s0 and s2 are untouched.
    const changed = [ports[0]!, { ...ports[1]!, backends: ports[1]!.backends.slice(1) }, ports[2]!];
    expect(engine.applyChanges(tracker.update(sorted(changed)))).toBe('delta');
    expect(engine.stats().generation).toBe(2);
    expect(to(0, 3)).toBe('10.0.0.3');
    expect(engine.counters(0).map((x) => x.active)).toEqual([1, 1, 1]);
    expect([to(1, 4), to(1, 5)]).toEqual(['10.0.1.2', '10.0.1.3']);
  });

  it('keeps decision indexes and the model in the engine order after adds and removes', async () => {
    const a = servicePort('a', { clusterIPs: ['10.96.0.1'], backends: [backend('10.0.1.1')] });
    const b = servicePort('b', { clusterIPs: ['10.96.0.2'], backends: [backend('10.0.2.1')] });
    const c = servicePort('c', { clusterIPs: ['10.96.0.3'], backends: [backend('10.0.3.1')] });
    const engine = await loadEngine({ flowCapacity: 256 });
    const tracker = new ServiceChangeTracker();
    engine.applyChanges(tracker.update(sorted([a, b, c])));
    const aa = servicePort('aa', { clusterIPs: ['10.96.0.4'], backends: [backend('10.0.4.1')] });
    expect(engine.applyChanges(tracker.update(sorted([aa, b, c])))).toBe('delta');
    // a (index 0) left: the last one (the appended aa) took its index.
    expect(engine.model.servicePorts.map((sp) => sp.name)).toEqual(['aa', 'b', 'c']);
    for (const [n, name] of [[4, 'aa'], [2, 'b'], [3, 'c']] as const) {
      const d = engine.connect(TCP, ip('172.16.0.1'), 1000 + n, ip(`10.96.0.${n}`), 80, 0);
      expect(d.servicePort?.name).toBe(name);
      expect(d.backend?.ip).toBe(`10.0.${n}.1`);
    }
    expect(engine.connect(TCP, ip('172.16.0.1'), 999, ip('10.96.0.1'), 80, 0).verdict).toBe(Verdict.Pass);
    expect(engine.stats().servicePorts).toBe(3);
  });

  it('falls back to a full load when two service ports would claim one address and port', async () => {
    const a = servicePort('a', { clusterIPs: ['10.96.0.1'], backends: [backend('10.0.1.1')] });
    const b = servicePort('b', { clusterIPs: ['10.96.0.2'], backends: [backend('10.0.2.1')] });
    const engine = await loadEngine({ flowCapacity: 256 });
    const tracker = new ServiceChangeTracker();
    engine.applyChanges(tracker.update(sorted([a, b])));
    const clash = { ...b, externalIPs: ['10.96.0.1'] };
    expect(engine.applyChanges(tracker.update(sorted([a, clash])))).toBe('full');
    // The first service port in model order keeps the key, as a full load decides.
    expect(engine.connect(TCP, ip('172.16.0.1'), 1, ip('10.96.0.1'), 80, 0).servicePort?.name).toBe('a');
  });

  it('rejects a delta whose base is not the serving generation and changes nothing', async () => {
    const a = servicePort('a', { clusterIPs: ['10.96.0.1'], backends: [backend('10.0.1.1')] });
    const engine = await loadEngine({ flowCapacity: 256 });
    engine.load(sorted([a]));
    const ex = (engine as unknown as { ex: EngineExports }).ex;
    const stale = encodeDelta([{ kind: 'replace', index: 0, servicePort: { ...a, backends: [] } }], 7);
    const stalePtr = ex.snapshotBuffer(stale.length) >>> 0;
    new Uint8Array(ex.memory.buffer, stalePtr, stale.length).set(stale);
    expect(ex.applyDelta()).toBe(18);
    const badIndex = encodeDelta([{ kind: 'remove', index: 1 }], 1);
    const badPtr = ex.snapshotBuffer(badIndex.length) >>> 0;
    new Uint8Array(ex.memory.buffer, badPtr, badIndex.length).set(badIndex);
    expect(ex.applyDelta()).toBe(19);
    expect(engine.stats().generation).toBe(1);
    expect(engine.connect(TCP, ip('172.16.0.1'), 1, ip('10.96.0.1'), 80, 0).backend?.ip).toBe('10.0.1.1');
    expect(() => engine.applyChanges({ current: sorted([{ ...a, affinityTimeoutSeconds: 0, sessionAffinity: 'ClientIP' }]), added: [], updated: ['default/a'], removed: [], nodeIPsChanged: false }))
      .toThrow(/affinityTimeoutSeconds/);
  });

  it('compacts with a full load once orphaned records outnumber the live ones', async () => {
    const ports = [0, 1, 2, 3].map((n) => servicePort(`s${n}`, { clusterIPs: [`10.96.0.${n}`], backends: [backend(`10.0.${n}.1`), backend(`10.0.${n}.2`)] }));
    const engine = await loadEngine({ flowCapacity: 256 });
    const tracker = new ServiceChangeTracker();
    engine.applyChanges(tracker.update(sorted(ports)));
    let garbage = 0;
    let round = 0;
    for (; round < 5000; round++) {
      // s1 grows by one endpoint: its records no longer fit in place and move.
      const grown = { ...ports[1]!, backends: Array.from({ length: 2 + (round % 40) }, (_, k) => backend(`10.0.1.${k + 1}`)) };
      const path = engine.applyChanges(tracker.update(sorted([ports[0]!, grown, ports[2]!, ports[3]!])));
      if (path === 'full') break;
      const now = engine.stats().garbageRecords;
      expect(now).toBeGreaterThanOrEqual(garbage);
      garbage = now;
    }
    expect(round).toBeLessThan(5000);
    expect(garbage).toBeGreaterThan(4096);
    expect(engine.stats().garbageRecords).toBe(0);
    expect(engine.connect(TCP, ip('172.16.0.1'), 1, ip('10.96.0.1'), 80, 0).backend?.ip).toMatch(/^10\.0\.1\./);
  });

  it('takes the full path when a changed key is not where a sorted model would have it', async () => {
    const a = servicePort('a', { clusterIPs: ['10.96.0.1'], backends: [backend('10.0.1.1')] });
    const b = servicePort('b', { clusterIPs: ['10.96.0.2'], backends: [backend('10.0.2.1')] });
    const engine = await loadEngine({ flowCapacity: 256 });
    engine.load(sorted([a, b]));
    const b2 = { ...b, backends: [backend('10.0.2.2')] };
    // Not sorted by key: a binary search for "default/b" lands past it.
    const unsorted: ServiceModel = { nodeIPs: [NODE_IP], servicePorts: [b2, a] };
    expect(engine.applyChanges({ current: unsorted, added: [], updated: ['default/b'], removed: [], nodeIPsChanged: false })).toBe('full');
    expect(engine.connect(TCP, ip('172.16.0.1'), 1, ip('10.96.0.2'), 80, 0).backend?.ip).toBe('10.0.2.2');
  });
});
