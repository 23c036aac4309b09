/**
 * `npm run bench -- swap`: how long a new generation takes to serve, and the memory it needs
 * (issue 10: a full reload at 100k services took 1.35-1.64 s, mh 14-17 s and 819 MB; a
 * one-service change must swap in ≤ 10 ms).
 *
 * Rows `{ case, services, endpoints, flows, ms, engineMs, maxMs, memoryBytes }` (bench/results/swap.json):
 * - `full-load <sched>`: `Engine.load(model)` of N services × 10 endpoints onto a generation of
 *   the same services (everything carried), host encoding included; `engineMs` is the
 *   `loadSnapshot` export alone;
 * - `one-service <change> <sched>`: `Engine.applyChanges` for one changed service, from the
 *   change list (what host/model's ServiceChangeTracker hands over) to the new generation
 *   serving: delta encoding, copy and the engine's in-place apply; `engineMs` is the
 *   `applyDelta` export alone. Median (`ms`) and worst (`maxMs`) over ROUNDS changes to different
 *   services. Changes: `weight` (one endpoint's weight), `add-endpoint` (a joiner goes to the head
 *   of the kernel list, so the service's flows move to new member slots), `remove-endpoint` (its
 *   flows are dropped, kubernetes #19029);
 * - `full-load-staged <sched>`: `Engine.loadInSteps` (budget 2048 records per stage per step):
 *   `ms` from start to switch, `engineMs` the longest step (the longest any decision waits; `cpuMs`
 *   its CPU time), `engineMaxMs` the longer of that and the commit,
 *   `commitMs` the switch itself (flows and affinity carried), `steps`, `longestTurnMs` the longest
 *   single event-loop turn of the whole load (host encoding, engine steps and commit: the longest
 *   a socket callback waits), `longestTurnBeforeCommitMs` the same without the last turn (the commit's);
 * - `first-delta-after-full-load <sched>`: the first `applyChanges` after the staged load (which
 *   built the host's index of where the engine keeps each service port, host/engine/delta.ts, and
 *   the engine's delta scratch; after a plain `load` the first delta builds the host index itself);
 * - `cpuMs`: the process's CPU time for the same span (median for one-service rows): on a shared,
 *   loaded machine wall time includes waiting for a core, CPU time does not;
 * - `memoryBytes`: Wasm linear memory after the case (it never shrinks: the high-water mark).
 * Every service holds FLOWS_PER_SERVICE flows while it swaps (`flows`).
 *
 * Options: --sizes 10000,100000  --schedulers rr,mh  --rounds N
 */
import { loadEngine } from '../host/engine/node.js';
import type { Engine, EngineExports } from '../host/engine/engine.js';
import type { Address } from '../host/engine/address.js';
import { servicePortKey, type ModelBackend, type ModelServicePort, type SchedulerName, type ServiceModel } from '../host/engine/model.js';
import { cpuClock, report } from './report.js';

const ENDPOINTS = 10;
const FLOWS_PER_SERVICE = 4;
const TCP = 6;

type Row = {
  case: string; services: number; endpoints: number; flows: number; ms: number; engineMs: number;
  cpuMs?: number; maxMs?: number; engineMaxMs?: number; steps?: number; commitMs?: number; longestTurnMs?: number; longestTurnBeforeCommitMs?: number; memoryBytes: number;
};

function option(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

function text(w: number): string {
  return `${w >>> 24}.${(w >>> 16) & 255}.${(w >>> 8) & 255}.${w & 255}`;
}

function v4(w0: number): { -readonly [K in keyof Address]: Address[K] } {
  return { family: 4, w0: w0 >>> 0, w1: 0, w2: 0, w3: 0, text: '' };
}

function endpoint(i: number, k: number, weight = 1): ModelBackend {
  return { ip: text(0x0a800000 + i * 16 + k), port: 8080, weight, ready: true, serving: true, terminating: false, local: false, cluster: true, external: true };
}

/** Service i: clusterIP 10.96.0.0/12 + i, port 80, endpoints 10.128.0.0/9 + 16 i + k (k < 10; 10..15 spare for joiners). */
function service(i: number, scheduler: SchedulerName, backends: ModelBackend[]): ModelServicePort {
  return {
    namespace: 'bench', name: `svc-${String(i).padStart(6, '0')}`, portName: '', type: 'ClusterIP', protocol: 'TCP', port: 80,
    clusterIPs: [text(0x0a600000 + i)], nodePort: 0, externalIPs: [], loadBalancerIPs: [], loadBalancerSourceRanges: [],
    scheduler, schedulerFlags: { port: false, fallback: false }, sessionAffinity: 'None', affinityTimeoutSeconds: 10800,
    externalTrafficPolicy: 'Cluster', internalTrafficPolicy: 'Cluster', healthCheckNodePort: 0, hasEndpoints: true, backends,
  };
}

function buildModel(n: number, scheduler: SchedulerName): ServiceModel {
  const servicePorts: ModelServicePort[] = [];
  for (let i = 0; i < n; i++) servicePorts.push(service(i, scheduler, Array.from({ length: ENDPOINTS }, (_, k) => endpoint(i, k))));
  return { nodeIPs: [], servicePorts };
}

/**
 * Times the engine exports `loadSnapshot` and `applyDelta` (the engine-only part of a swap): the
 * instance's exports are frozen, so the engine gets an object that inherits them and shadows those two.
 */
function timeExports(engine: Engine): { loadSnapshot: number; applyDelta: number } {
  const holder = engine as unknown as { ex: EngineExports };
  const ex = holder.ex;
  const timing = { loadSnapshot: 0, applyDelta: 0 };
  const wrapped = Object.create(ex) as EngineExports;
  for (const name of ['loadSnapshot', 'applyDelta'] as const) {
    const inner = ex[name];
    Object.defineProperty(wrapped, name, {
      value: () => {
        const t0 = performance.now();
        const code = inner();
        timing[name] = performance.now() - t0;
        return code;
      },
    });
  }
  holder.ex = wrapped;
  return timing;
}

const CHANGES = ['weight', 'add-endpoint', 'remove-endpoint'] as const;

/** Service `i` after `change`: its endpoints in engine order (address, then port). */
function changed(sp: ModelServicePort, i: number, change: (typeof CHANGES)[number]): ModelServicePort {
  if (change === 'weight') return { ...sp, backends: sp.backends.map((b, k) => (k === 3 ? { ...b, weight: b.weight + 1 } : b)) };
  if (change === 'add-endpoint') return { ...sp, backends: [...sp.backends, endpoint(i, sp.backends.length)] };
  return { ...sp, backends: sp.backends.filter((_, k) => k !== 3) };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

const round3 = (x: number): number => Math.round(x * 1000) / 1000;

async function sizeRows(n: number, scheduler: SchedulerName, rounds: number): Promise<Row[]> {
  const rows: Row[] = [];
  const engine = await loadEngine({ flowCapacity: Math.max(1 << 16, n * FLOWS_PER_SERVICE * 2), timeouts: { tcp: 2_000_000 } });
  const timing = timeExports(engine);
  let model = buildModel(n, scheduler);
  engine.load(model);
  const dst = v4(0);
  for (let i = 0; i < n; i++) {
    dst.w0 = (0x0a600000 + i) >>> 0;
    for (let f = 0; f < FLOWS_PER_SERVICE; f++) engine.connect(TCP, v4(0xc6120000 + f), 1024 + (i % 60000), dst, 80, 1000);
  }
  const flows = engine.stats().flows;
  // Full load onto a generation of the same services: everything is carried over.
  const t0 = performance.now();
  const c0 = cpuClock.fn();
  engine.load({ ...model });
  const fullMs = performance.now() - t0;
  const fullCpu = (cpuClock.fn() - c0) / 1000;
  rows.push({ case: `full-load ${scheduler}`, services: n, endpoints: ENDPOINTS, flows, ms: round3(fullMs), engineMs: round3(timing.loadSnapshot), cpuMs: round3(fullCpu), memoryBytes: engine.stats().memoryBytes });
  console.log(`${n} × ${scheduler} full load: ${round3(fullMs)} ms (engine ${round3(timing.loadSnapshot)} ms, cpu ${round3(fullCpu)} ms), memory ${(engine.stats().memoryBytes / 2 ** 20).toFixed(0)} MiB`);
  {
    const ex = (engine as unknown as { ex: EngineExports }).ex;
    const inner = { step: ex.snapshotStep, commit: ex.commitSnapshot };
    let longest = 0;
    let longestCpu = 0;
    let commitMs = 0;
    let steps = 0;
    const wrapped = Object.create(ex) as EngineExports;
    Object.defineProperty(wrapped, 'snapshotStep', { value: (budget: number) => {
      const t = performance.now();
      const c = cpuClock.fn();
      const code = inner.step(budget);
      longest = Math.max(longest, performance.now() - t);
      longestCpu = Math.max(longestCpu, (cpuClock.fn() - c) / 1000);
      steps++;
      return code;
    } });
    Object.defineProperty(wrapped, 'commitSnapshot', { value: () => {
      const t = performance.now();
      const code = inner.commit();
      commitMs = performance.now() - t;
      return code;
    } });
    const holder = engine as unknown as { ex: EngineExports };
    const saved = holder.ex;
    holder.ex = wrapped;
    // The longest event-loop turn the load takes (host encoding and engine steps): from the call
    // or a resumption to the next pause, and from the last resumption to the switch.
    let turnStart = performance.now();
    let longestTurn = 0;
    const pause = (): Promise<void> => {
      longestTurn = Math.max(longestTurn, performance.now() - turnStart);
      return new Promise<void>((resolve) => setImmediate(() => {
        turnStart = performance.now();
        resolve();
      }));
    };
    const t1 = performance.now();
    turnStart = t1;
    await engine.loadInSteps({ ...model }, { pause });
    const stagedMs = performance.now() - t1;
    const longestTurnBeforeCommit = longestTurn;
    longestTurn = Math.max(longestTurn, performance.now() - turnStart);
    holder.ex = saved;
    rows.push({ case: `full-load-staged ${scheduler}`, services: n, endpoints: ENDPOINTS, flows, ms: round3(stagedMs), engineMs: round3(longest), cpuMs: round3(longestCpu), engineMaxMs: round3(Math.max(longest, commitMs)), steps, commitMs: round3(commitMs), longestTurnMs: round3(longestTurn), longestTurnBeforeCommitMs: round3(longestTurnBeforeCommit), memoryBytes: engine.stats().memoryBytes });
    console.log(`${n} × ${scheduler} staged full load: ${round3(stagedMs)} ms in ${steps} steps, longest step ${round3(longest)} ms (cpu ${round3(longestCpu)} ms), commit ${round3(commitMs)} ms, longest event-loop turn ${round3(longestTurn)} ms (${round3(longestTurnBeforeCommit)} ms before the commit's)`);
  }
  // The first delta after the staged load.
  const warm = changed(model.servicePorts[0]!, 0, 'weight');
  model = { ...model, servicePorts: model.servicePorts.map((sp, k) => (k === 0 ? warm : sp)) };
  {
    const t = performance.now();
    const c = cpuClock.fn();
    engine.applyChanges({ current: model, added: [], updated: [servicePortKey(warm)], removed: [], nodeIPsChanged: false });
    const ms = performance.now() - t;
    const st = engine.stats();
    rows.push({ case: `first-delta-after-full-load ${scheduler}`, services: n, endpoints: ENDPOINTS, flows: st.flows, ms: round3(ms), engineMs: round3(timing.applyDelta), cpuMs: round3((cpuClock.fn() - c) / 1000), memoryBytes: st.memoryBytes });
    console.log(`${n} × ${scheduler} first delta after the staged load: ${round3(ms)} ms (engine ${round3(timing.applyDelta)} ms)`);
  }
  for (const change of CHANGES) {
    const total: number[] = [];
    const cpu: number[] = [];
    const inEngine: number[] = [];
    for (let r = 0; r < rounds; r++) {
      const i = 1 + ((r * 7919 + CHANGES.indexOf(change) * 104729) % (n - 1));
      const ports = model.servicePorts.slice();
      const at = ports.findIndex((sp) => sp.name === `svc-${String(i).padStart(6, '0')}`);
      ports[at] = changed(ports[at]!, i, change);
      model = { ...model, servicePorts: ports };
      const t = performance.now();
      const c = cpuClock.fn();
      const path = engine.applyChanges({ current: model, added: [], updated: [servicePortKey(ports[at]!)], removed: [], nodeIPsChanged: false });
      total.push(performance.now() - t);
      cpu.push((cpuClock.fn() - c) / 1000);
      if (path !== 'delta') throw new Error(`bench swap: expected a delta, the engine took the ${path} path`);
      inEngine.push(timing.applyDelta);
      // Keep the model sorted as host/model gives it (applyChanges looks changed keys up by key).
      model = { ...model, servicePorts: [...engine.model.servicePorts].sort((a, b) => (servicePortKey(a) < servicePortKey(b) ? -1 : 1)) };
    }
    const st = engine.stats();
    rows.push({ case: `one-service ${change} ${scheduler}`, services: n, endpoints: ENDPOINTS, flows: st.flows, ms: round3(median(total)), engineMs: round3(median(inEngine)), cpuMs: round3(median(cpu)), maxMs: round3(Math.max(...total)), engineMaxMs: round3(Math.max(...inEngine)), memoryBytes: st.memoryBytes });
    console.log(`${n} × ${scheduler} one-service ${change}: median ${round3(median(total))} ms (engine ${round3(median(inEngine))} ms, cpu ${round3(median(cpu))} ms), max ${round3(Math.max(...total))} ms (engine ${round3(Math.max(...inEngine))} ms)`);
  }
  return rows;
}

export async function run(args: string[]): Promise<void> {
  const sizes = (option(args, '--sizes') ?? '10000,100000').split(',').map(Number);
  const schedulers = (option(args, '--schedulers') ?? 'rr,mh').split(',') as SchedulerName[];
  const rounds = Number(option(args, '--rounds') ?? 20);
  const rows: Row[] = [];
  for (const n of sizes) for (const s of schedulers) rows.push(...(await sizeRows(n, s, rounds)));
  report('swap', rows);
}
