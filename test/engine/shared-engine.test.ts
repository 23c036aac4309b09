/**
 * engine.shared.wasm (issue 14 part 2): one engine state for a leader and its workers over one
 * shared memory. Workers in this thread check that every call sees the state the previous call
 * left, whoever made it (a plain engine fed the same calls is the oracle); workers in their own
 * threads check the lock (lc counts and affinity under concurrency) and a worker dying with it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Worker } from 'node:worker_threads';
import { loadEngine } from '../../host/engine/node.js';
import { attachSharedEngine, loadSharedEngine, lockCounters, releaseWorkerLock, type SharedEngineHandle } from '../../host/engine/shared.js';
import type { Engine } from '../../host/engine/engine.js';
import type { ServiceModel } from '../../host/engine/model.js';
import { ServiceChangeTracker } from '../../host/model/change-tracker.js';
import { seededUnit } from '../../host/browser/simulate.js';
import { TCP, UDP, backend, ip, model, servicePort } from './fixtures.js';
import type { WorkerCommand } from './shared-worker.js';

const KEY: [number, number, number, number] = [0x1234, 0x5678, 0x9abc, 0xdef0];
const OPTIONS = { seed: 42, hashKey: KEY, flowCapacity: 4096, affinityCapacity: 512, timeouts: { tcp: 100, tcpFin: 10, udp: 30 } };

function services(round: number): ServiceModel {
  const ports = [
    servicePort('lc', { clusterIPs: ['10.96.0.1'], port: 80, scheduler: 'lc', backends: [backend('10.0.1.1'), backend('10.0.1.2'), backend('10.0.1.3')] }),
    servicePort('random', { clusterIPs: ['10.96.0.2'], port: 80, scheduler: 'random', backends: [backend('10.0.2.1', 8080, { weight: 3 }), backend('10.0.2.2')] }),
    servicePort('sticky', { clusterIPs: ['10.96.0.3'], port: 53, protocol: 'UDP', scheduler: 'rr', sessionAffinity: 'ClientIP', affinityTimeoutSeconds: 60,
      backends: [backend('10.0.3.1'), backend('10.0.3.2'), backend('10.0.3.3', 8080, { weight: round % 3 })] }),
  ];
  // Every other round drops the lc port, so the delta moves the last port into its index.
  return model(round % 2 === 1 ? ports.slice(1) : ports);
}

const VIPS = [['10.96.0.1', 80, TCP], ['10.96.0.2', 80, TCP], ['10.96.0.3', 53, UDP]] as const;

describe('a worker in this thread shares the leader state', () => {
  it('decides as one engine would, whichever of leader and worker each call goes to, across model changes', async () => {
    const { engine: leader, handle } = await loadSharedEngine(OPTIONS, 2);
    const worker = await attachSharedEngine(handle, 1);
    const plain = await loadEngine(OPTIONS);
    const trackers = [new ServiceChangeTracker(), new ServiceChangeTracker()];
    const unit = seededUnit(7);
    let differences = 0;
    let decided = 0;
    for (let round = 0; round < 6; round++) {
      const next = services(round);
      const plan = leader.planChanges(trackers[0]!.update(next));
      worker.useModel(leader.stats().generation + 1, plan.model);
      plan.apply();
      plain.applyChanges(trackers[1]!.update(next));
      expect(leader.model.servicePorts.map((p) => p.name)).toEqual(plan.model.servicePorts.map((p) => p.name));
      for (let k = 0; k < 400; k++) {
        const [vip, port, proto] = VIPS[Math.floor(unit() * VIPS.length)]!;
        const client = ip(`192.0.2.${1 + Math.floor(unit() * 8)}`);
        const sport = 1000 + Math.floor(unit() * 64);
        const now = round * 5000 + k * 10;
        const shared = unit() < 0.5 ? leader : worker;
        const op = unit();
        if (op < 0.6) {
          const a = shared.connect(proto, client, sport, ip(vip), port, now);
          const got = [a.verdict, a.servicePort?.name, a.backend?.ip];
          const b = plain.connect(proto, client, sport, ip(vip), port, now);
          if (JSON.stringify(got) !== JSON.stringify([b.verdict, b.servicePort?.name, b.backend?.ip])) differences++;
          decided++;
          if (proto === TCP && unit() < 0.7) {
            shared.established(proto, client, sport, ip(vip), port, now);
            plain.established(proto, client, sport, ip(vip), port, now);
          }
        } else if (op < 0.85) {
          if (shared.close(proto, client, sport, ip(vip), port, now) !== plain.close(proto, client, sport, ip(vip), port, now)) differences++;
        } else {
          const a = shared.lookup(proto, client, sport, ip(vip), port, now);
          const b = plain.lookup(proto, client, sport, ip(vip), port, now);
          if (a.verdict !== b.verdict || a.backend?.ip !== b.backend?.ip) differences++;
        }
      }
      if (round % 2 === 0) expect(leader.expire(round * 5000 + 4000)).toBe(plain.expire(round * 5000 + 4000));
    }
    expect(decided).toBeGreaterThan(1000);
    expect(differences).toBe(0);
    const s = leader.stats();
    const p = plain.stats();
    expect([s.generation, s.flows, s.affinities, s.flowExpirations]).toEqual([p.generation, p.flows, p.affinities, p.flowExpirations]);
    for (let sp = 0; sp < leader.model.servicePorts.length; sp++) expect(leader.counters(sp)).toEqual(plain.counters(sp));
    expect(lockCounters(leader).acquisitions).toBeGreaterThan(2400);
  });

  it('attaching a worker rewrites none of the leader memory (its data segments are passive)', async () => {
    const { engine: leader, handle } = await loadSharedEngine(OPTIONS, 2);
    leader.load(services(0));
    leader.connect(TCP, ip('192.0.2.1'), 1000, ip('10.96.0.1'), 80, 0);
    const before = new Uint8Array(handle.memory.buffer).slice();
    await attachSharedEngine(handle, 2);
    const after = new Uint8Array(handle.memory.buffer);
    let changed = 0;
    for (let i = 0; i < before.length; i++) if (before[i] !== after[i]) changed++;
    expect(changed).toBe(0);
    // The timeouts init set (tcp 100 s, not the static 900 s) still hold: the flow expires at 100 s.
    expect(leader.expire(101_000)).toBeGreaterThan(0);
  });

  it('refuses control-plane calls on a worker and bad worker ids', async () => {
    const { handle } = await loadSharedEngine(OPTIONS, 2);
    const worker = await attachSharedEngine(handle, 1);
    expect(() => worker.load(services(0))).toThrow(/worker of a shared engine only decides/);
    expect(() => worker.expire(0)).toThrow(/leader/);
    await expect(attachSharedEngine(handle, 0)).rejects.toThrow(/workerId 0 is not an integer in 1\.\.255/);
  });
});

describe('workers in their own threads', () => {
  const threads: Worker[] = [];
  afterEach(async () => {
    await Promise.all(threads.splice(0).map((t) => t.terminate()));
  });

  async function start(handle: SharedEngineHandle, id: number): Promise<(c: WorkerCommand) => Promise<unknown>> {
    const t = new Worker(new URL('./shared-worker.mjs', import.meta.url), { workerData: { handle, id } });
    threads.push(t);
    const replies: Array<(v: unknown) => void> = [];
    let ready!: () => void;
    const started = new Promise<void>((r) => (ready = r));
    t.on('message', (m) => (m === 'ready' ? ready() : replies.shift()!(m)));
    t.on('error', (e) => { throw e; });
    await started;
    return (c) => new Promise((r) => { replies.push(r); t.postMessage(c); });
  }

  async function serving(leader: Engine, workers: Array<(c: WorkerCommand) => Promise<unknown>>, m: ServiceModel): Promise<void> {
    const plan = leader.planChanges(new ServiceChangeTracker().update(m));
    const generation = leader.stats().generation + 1;
    await Promise.all(workers.map((w) => w({ op: 'model', generation, model: plan.model })));
    plan.apply();
  }

  it('lets a thread that holds the lock call exports that take it (re-entrant), and frees it after', async () => {
    const { engine: leader, handle } = await loadSharedEngine(OPTIONS, 1);
    const worker = await start(handle, 1);
    await serving(leader, [worker], services(0));
    // Without re-entrancy the worker would wait on its own lock forever: bounded here.
    const answer = await Promise.race([
      worker({ op: 'nested', client: '192.0.2.9', vip: '10.96.0.1', port: 80 }),
      new Promise((r) => setTimeout(() => r('no answer in 10 s'), 10_000)),
    ]);
    expect(answer).toEqual([expect.stringMatching(/^10\.0\.1\./), (answer as string[])[0]]);
    // The lock is free again: the leader decides, and sees the worker's flow.
    expect(leader.lookup(TCP, ip('192.0.2.9'), 4000, ip('10.96.0.1'), 80, performance.now()).backend?.ip).toBe((answer as string[])[0]);
  });

  it('keeps lc counts exact while two threads open and close flows at once', async () => {
    const { engine: leader, handle } = await loadSharedEngine({ ...OPTIONS, flowCapacity: 1 << 15 }, 2);
    const workers = [await start(handle, 1), await start(handle, 2)];
    await serving(leader, workers, services(0));
    const opened = await Promise.all(workers.map((w, k) => w({ op: 'open', proto: TCP, client: `192.0.2.${k + 1}`, vip: '10.96.0.1', port: 80, from: 1000, to: 5000 }) as Promise<string[]>));
    const closed = await Promise.all(workers.map((w, k) => w({ op: 'close', proto: TCP, client: `192.0.2.${k + 1}`, vip: '10.96.0.1', port: 80, from: 1000, to: 3000 }) as Promise<number>));
    expect(closed).toEqual([2000, 2000]);
    const counts = leader.counters(0);
    const active = counts.map((c) => c.active);
    expect(active.reduce((a, b) => a + b)).toBe(4000);
    expect(counts.map((c) => c.inactive).reduce((a, b) => a + b)).toBe(4000);
    // lc saw every open flow of both threads: while both opened, the backends stayed within one.
    const perBackend = new Map<string, number>();
    for (const ipText of opened.flat()) perBackend.set(ipText, (perBackend.get(ipText) ?? 0) + 1);
    expect([...perBackend.values()].sort()).toEqual([2666, 2667, 2667]);
    expect(leader.stats().flows).toBe(8000);
  });

  it('keeps ClientIP affinity across threads', async () => {
    const { engine: leader, handle } = await loadSharedEngine(OPTIONS, 2);
    const workers = [await start(handle, 1), await start(handle, 2)];
    await serving(leader, workers, services(0));
    // UDP to the sticky port: the same client from both threads, many source ports, concurrently.
    const chosen = (await Promise.all(workers.map((w, k) => w({ op: 'open', proto: UDP, client: '192.0.2.9', vip: '10.96.0.3', port: 53, from: 2000 + k * 500, to: 2400 + k * 500 }) as Promise<string[]>))).flat();
    expect(chosen).toHaveLength(800);
    expect(new Set(chosen).size).toBe(1);
    expect(chosen[0]).toMatch(/^10\.0\.3\./);
  });

  it('frees the lock of a worker that died holding it, and goes on', async () => {
    const { engine: leader, handle } = await loadSharedEngine(OPTIONS, 2);
    const dying = await start(handle, 2);
    const exited = new Promise<number>((r) => threads[0]!.once('exit', r));
    void dying({ op: 'die-locked' });
    expect(await exited).toBe(3);
    expect(releaseWorkerLock(leader, 1)).toBe(false);
    expect(releaseWorkerLock(leader, 2)).toBe(true);
    leader.load(services(0));
    expect(leader.connect(TCP, ip('192.0.2.1'), 1000, ip('10.96.0.1'), 80, 0).backend?.ip).toMatch(/^10\.0\.1\./);
  });
});
