/**
 * Full snapshots built in steps (engine/build.ts, issue 10): decisions are served by the serving
 * generation between the steps, and the switch leaves the engine exactly where a one-shot load at
 * that moment would — same decisions for the same tuples, same counters, same drops — even though
 * decisions moved rr positions, wrr cw, counters, flows and affinity entries during the build.
 */
import { describe, expect, it } from 'vitest';
import { loadEngine } from '../../host/engine/node.js';
import type { Engine, EngineExports } from '../../host/engine/engine.js';
import { encodeSnapshot, resealSnapshot } from '../../host/engine/snapshot.js';
import { SnapshotError } from '../../host/engine/api.js';
import { servicePortKey, type ModelServicePort, type SchedulerName, type ServiceModel } from '../../host/engine/model.js';
import { backend, ip, servicePort, TCP } from './fixtures.js';

const SCHEDULERS: SchedulerName[] = ['rr', 'wrr', 'lc', 'wlc', 'sh', 'mh', 'dh', 'random'];

/** Service n: clusterIP 10.96.0.n, backends 10.0.n.k for k in `ks` with weight w(k). */
function port(n: number, ks: number[], weight: (k: number) => number, affinity = n % 3 === 0): ModelServicePort {
  return servicePort(`svc-${String(n).padStart(3, '0')}`, {
    clusterIPs: [`10.96.0.${n}`],
    scheduler: SCHEDULERS[n % SCHEDULERS.length]!,
    sessionAffinity: affinity ? 'ClientIP' : 'None',
    affinityTimeoutSeconds: 10800,
    backends: ks.map((k) => backend(`10.0.${n}.${k}`, 8080, { weight: weight(k) })),
  });
}

function models(): { before: ServiceModel; after: ServiceModel } {
  const before: ModelServicePort[] = [];
  const after: ModelServicePort[] = [];
  for (let n = 1; n <= 40; n++) {
    before.push(port(n, [1, 2, 3, 4], (k) => k));
    // A third of them change: an endpoint leaves, one joins, weights move.
    after.push(n % 3 === 1 ? port(n, [2, 3, 4, 5], (k) => 1 + (k % 3)) : port(n, [1, 2, 3, 4], (k) => k));
  }
  after.push(port(41, [1, 2], () => 1));
  return { before: { nodeIPs: [], servicePorts: before }, after: { nodeIPs: [], servicePorts: after } };
}

/** A decision as text comparable across engines. */
function decide(engine: Engine, client: number, sport: number, n: number): string {
  const d = engine.connect(TCP, ip(`172.16.0.${client}`), sport, ip(`10.96.0.${n}`), 80, 5000);
  return `${d.verdict}/${d.via}/${d.servicePort ? servicePortKey(d.servicePort) : '-'}/${d.backend ? d.backend.ip : '-'}`;
}

/** Decision number i of a deterministic stream over 41 services and 8 clients. */
function decideNth(engine: Engine, i: number): string {
  return decide(engine, 1 + (i % 8), 2000 + i, 1 + ((i * 7) % 41));
}

function counters(engine: Engine): string[] {
  return engine.model.servicePorts.map((sp, i) => `${servicePortKey(sp)} ${engine.counters(i).map((c) => `${c.active}+${c.inactive}`).join(' ')}`);
}

describe('staged full snapshot builds', () => {
  it('serve decisions between steps and switch to what a one-shot load gives', async () => {
    const { before, after } = models();
    const staged = await loadEngine({ flowCapacity: 8192, affinityCapacity: 1024, seed: 3 });
    const oneShot = await loadEngine({ flowCapacity: 8192, affinityCapacity: 1024, seed: 3 });
    for (const e of [staged, oneShot]) {
      e.load(before);
      for (let i = 0; i < 300; i++) decideNth(e, i);
    }
    // While the staged engine builds, both make the same decisions on the old generation.
    let op = 300;
    let steps = 0;
    const during: string[] = [];
    await staged.loadInSteps(after, {
      budget: 4,
      pause: async () => {
        steps++;
        for (let j = 0; j < 5; j++, op++) {
          const a = decideNth(staged, op);
          during.push(a);
          expect(decideNth(oneShot, op)).toBe(a);
        }
        expect(staged.stats().generation).toBe(1);
        expect(staged.checkTables()).toBeNull();
      },
    });
    expect(steps).toBeGreaterThan(20);
    // The commit re-carried rr positions into match slots built steps before: slot and record agree.
    expect(staged.checkTables()).toBeNull();
    // Decisions during the build came from the old generation (svc-041 does not exist there).
    expect(during.every((d) => !d.includes('svc-041'))).toBe(true);
    oneShot.load(after);
    expect(staged.stats()).toEqual(oneShot.stats());
    expect(counters(staged)).toEqual(counters(oneShot));
    for (let i = 0; i < 400; i++) expect(decideNth(staged, 10_000 + i)).toBe(decideNth(oneShot, 10_000 + i));
  });

  it('is superseded by a load made while it builds, and rejects a bad snapshot without changing anything', async () => {
    const { before, after } = models();
    const engine = await loadEngine({ flowCapacity: 1024 });
    engine.load(before);
    const building = engine.loadInSteps(after, { budget: 2, pause: async () => engine.load(before) });
    await expect(building).rejects.toThrow(SnapshotError);
    expect(engine.stats().generation).toBe(2);
    // Backends out of engine order (code 13), found by the validation steps.
    const bytes = encodeSnapshot(after);
    const first = 32 + 32 + 20; // header, first service port's fixed part and its clusterIP
    bytes.copyWithin(first + 28 * 3, first, first + 28); // its fourth (last) backend becomes a copy of the first
    resealSnapshot(bytes);
    const ex = (engine as unknown as { ex: EngineExports }).ex;
    const ptr = ex.snapshotBuffer(bytes.length) >>> 0; // before reading the buffer: it may grow memory
    new Uint8Array(ex.memory.buffer, ptr, bytes.length).set(bytes);
    ex.beginSnapshot();
    let code = -1;
    let steps = 0;
    while (code === -1) {
      code = ex.snapshotStep(1);
      steps++;
    }
    expect(code).toBe(13);
    expect(steps).toBeGreaterThan(2);
    expect(ex.commitSnapshot()).toBe(21);
    expect(engine.stats().generation).toBe(2);
    expect(decide(engine, 1, 1, 1)).toContain('svc-001');
  });
});
