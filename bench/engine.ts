/**
 * `npm run bench -- engine`: the engine's per-decision cost seen from JavaScript.
 *
 * Rows `{ case, services, endpoints, flows, nsPerOp }` (bench/results/engine.json):
 * - `new-connection <scheduler>`: match + schedule + flow insert for a TCP SYN to a random service,
 *   at 100, 10k and 100k services × 10 endpoints, with 1M flows already in the table (each batch
 *   of BATCH connections is closed and expired after it, untimed, so the next meets the same 1M);
 * - `established-lookup`: lookup of a random existing flow among those 1M, each hit before since
 *   the last swap (an IPv4 flow then answers from its own bucket);
 * - `established-lookup first after a swap`: one pass over all 1M after a full load, each lookup
 *   the flow's first since (its decision cache dropped: the bucket, then its member record);
 * - `established-lookupMany 16`: the same lookups, 16 per `lookupMany` call (nsPerOp per decision);
 * - `new-connection connectMany 16 rr`: new connections, 16 per `connectMany` call;
 * - `established-lookup (interleaved)` / `js-map established-lookup`: the engine's lookup and a
 *   plain-JS `Map` of the same 1M flows, measured in alternating batches in one window, `ratio`
 *   = JS / engine (issue 10 wants ≥ 4);
 * - `js-map new-connection rr`: the new-connection workload on a plain-JS engine built on `Map`;
 * - `memory-floor dependent-read` / `independent-read`: one random read into as many bytes as the
 *   flow table holds (bench/memory-floor.ts), the machine's floor for any decision over that table;
 * - `floorRatio` (new connections, lookups and their batched forms): the case's cost over the
 *   floor's (dependent reads for single calls, independent ones for batches), each round one batch
 *   of each back to back, median of FLOOR_ROUNDS rounds: the ratio issue 10's targets are written
 *   in, measured in one window, as the floor moves 160-230 ns between runs and within one;
 * - `bytes-per-flow` (`bytes`), `heap-growth 10M decisions` (`bytes`: Wasm linear memory growth,
 *   `jsHeapBytes`: JS heap growth after a forced GC) over decisions that each evict the oldest flow;
 * - `hash-flood connect|lookup <tuples>`: attacker-chosen tuples (one client × many ports; many
 *   clients in one /64) against random ones, 32k flows, with `ratio` to random (bench/hash-flood.ts;
 *   issue 10 wants ≤ 1.5).
 * nsPerOp is the median over tinybench samples of a batch of BATCH calls, divided by BATCH, timed
 * with the process's CPU time (see cpuClock).
 *
 * Options: --sizes 100,10000,100000  --schedulers rr,wlc,...  --time <ms per case>  --decisions N
 */
import { Bench } from 'tinybench';
import { loadEngine } from '../host/engine/node.js';
import type { Engine } from '../host/engine/engine.js';
import { parseAddress, type Address } from '../host/engine/address.js';
import { SCHEDULERS, type ModelServicePort, type SchedulerName, type ServiceModel } from '../host/engine/model.js';
import { encodeSnapshot, resealSnapshot, schedulerId } from '../host/engine/snapshot.js';
import { floorReads, memoryFloor, type FloorReads } from './memory-floor.js';
import { cpuClock, report } from './report.js';
import { hashFloodRows } from './hash-flood.js';

const ENDPOINTS = 10;
export const PREFILL = 1_000_000;
const BATCH = 10_000;
/**
 * Flow table capacity: room for the prefill and a measured batch (each batch's connections go
 * before the next). 3 × 2^20: the table's slots are the next power of two ≥ capacity × 4/3
 * (engine/table.ts), exactly 4M here, so the 1M prefilled flows fill a quarter of them.
 */
export const CAPACITY = 3 << 20;
/**
 * Engine timeouts (s): the prefilled flows (SYN_RECV, as they are never `established`) outlive
 * any run, and a closed measured connection goes after 1 s, so it can be expired between batches.
 */
export const BENCH_TIMEOUTS = { tcp: 2_000_000, tcpSyn: 2_000_000, tcpFin: 1 };
/**
 * Closes measured connections `from`..`to` - 1 (client and port of i, to service spread(i + 7, n)
 * at `vip(service)`) and expires them past tcpFin; returns the new `now`.
 */
export function releaseMeasured(engine: Engine, from: number, to: number, n: number, vip: (service: number) => Address, now: number): number {
  for (let i = from; i < to; i++) engine.close(TCP, client(measuredClients, i), sourcePort(i), vip(spread(i + 7, n)), 80, now);
  const later = now + BENCH_TIMEOUTS.tcpFin * 1000 + 1;
  engine.expire(later);
  return later;
}
/** Tuples per batched call in the batched rows (issue 10: batches ≥ 8). */
export const MANY = 16;
const TCP = 6;

/** `bytes`: bytes per flow entry, or Wasm memory growth; `jsHeapBytes`: JS heap growth after GC (noise level is a few KB). */
type Row = { case: string; services: number; endpoints: number; flows: number; nsPerOp: number; bytes?: number; jsHeapBytes?: number; ratio?: number; floorRatio?: number };

export function option(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

export function v4(w0: number): Address {
  return { family: 4, w0: w0 >>> 0, w1: 0, w2: 0, w3: 0, text: '' };
}

function text(w: number): string {
  return `${w >>> 24}.${(w >>> 16) & 255}.${(w >>> 8) & 255}.${w & 255}`;
}

/** N services: clusterIP 10.96.0.0/12 + i, port 80, 10 endpoints each in 10.128.0.0/9. */
export function buildModel(n: number, scheduler: SchedulerName): ServiceModel {
  const servicePorts: ModelServicePort[] = [];
  for (let i = 0; i < n; i++) {
    const backends = [];
    for (let k = 0; k < ENDPOINTS; k++) {
      backends.push({ ip: text(0x0a800000 + i * 16 + k), port: 8080, weight: 1, ready: true, serving: true, terminating: false, local: false, cluster: true, external: true });
    }
    servicePorts.push({
      namespace: 'bench', name: `svc-${i}`, portName: '', type: 'ClusterIP', protocol: 'TCP', port: 80,
      clusterIPs: [text(0x0a600000 + i)], nodePort: 0, externalIPs: [], loadBalancerIPs: [], loadBalancerSourceRanges: [],
      scheduler, schedulerFlags: { port: false, fallback: false }, sessionAffinity: 'None', affinityTimeoutSeconds: 10800,
      externalTrafficPolicy: 'Cluster', internalTrafficPolicy: 'Cluster', healthCheckNodePort: 0, hasEndpoints: true, backends,
    });
  }
  return { nodeIPs: [], servicePorts };
}

/**
 * The same snapshot with every service port's scheduler replaced (walks docs/snapshot.md's
 * layout), so the large models are encoded once per size rather than once per scheduler.
 */
function withScheduler(bytes: Uint8Array, scheduler: SchedulerName): Uint8Array {
  const out = bytes.slice();
  const view = new DataView(out.buffer);
  let off = 32 + view.getUint32(12, true) * 20;
  for (let s = view.getUint32(16, true); s > 0; s--) {
    out[off + 1] = schedulerId(scheduler);
    const addrs = view.getUint16(off + 12, true) + view.getUint16(off + 14, true) + view.getUint16(off + 16, true);
    const strs = view.getUint16(off + 24, true) + view.getUint16(off + 26, true) + view.getUint16(off + 28, true);
    off += 32 + addrs * 20 + view.getUint16(off + 18, true) * 24 + view.getUint32(off + 20, true) * 28 + ((strs + 3) & ~3);
  }
  return resealSnapshot(out);
}

/** Deterministic pseudo-random service for op i (Knuth multiplicative hash). */
function serviceOf(i: number, n: number): number {
  return spread(i, n);
}

/**
 * A pseudo-random number in [0, n) for op i (Knuth multiplicative hash). The product is shifted
 * by 1, not 0: a value below 2^31 is a small integer to V8, and its `%` is an integer division
 * (1.7-3 ns), where `>>> 0` gives a double and a floating-point remainder (15 ns). Each lookup
 * and each new connection takes one or two of these: bench-loop time that the memory floor's
 * dependent loop has none of.
 */
export function spread(i: number, n: number): number {
  return (Math.imul(i, 2654435761) >>> 1) % n;
}

/**
 * Client addresses: a host has the client's Address fresh in cache (it just parsed it), so the
 * bench cycles through a small set of objects and makes flows unique through the source port.
 */
export const CLIENTS = 1024;
export const measuredClients = Array.from({ length: CLIENTS }, (_, i) => v4(0xc6120000 + i)); // 198.18.0.0/22
export const prefillClients = Array.from({ length: CLIENTS }, (_, i) => v4(0xc6130000 + i)); // 198.19.0.0/22
/** Client and source port of flow number i (unique up to 1024 × 64000 flows). */
export const client = (pool: Address[], i: number): Address => pool[i & (CLIENTS - 1)]!;
export const sourcePort = (i: number): number => 1024 + ((i >>> 10) % 64000);
/**
 * Destination (clusterIP of service i, 10.96.0.0/12 + i) in one reused Address, as a host that
 * parses each packet's or socket's address into a scratch object would hold it. Drawing it from an
 * array of n Address objects instead would add a JS-heap cache miss per op that grows with n and
 * is the bench's own cost, not the engine's (about +50 ns at 10k and +350 ns at 100k services).
 */
const destination: { -readonly [K in keyof Address]: Address[K] } = v4(0x0a600000);
const vip = (i: number): Address => {
  destination.w0 = (0x0a600000 + i) >>> 0;
  return destination;
};

/** The plain-JS baseline: Maps keyed by numbers/strings, rr, per-backend counters, LRU by insertion order. */
class JsMapEngine {
  private readonly services = new Map<number, number>();
  private readonly flows = new Map<string, number>();
  private readonly rr: Int32Array;
  private readonly active: Int32Array;
  constructor(model: ServiceModel, private readonly capacity: number) {
    model.servicePorts.forEach((sp, i) => {
      for (const ip of sp.clusterIPs) this.services.set(parseAddress(ip).w0 * 65536 + sp.port, i);
    });
    this.rr = new Int32Array(model.servicePorts.length);
    this.active = new Int32Array(model.servicePorts.length * ENDPOINTS);
  }
  /** An existing flow's backend, or -1 (refreshing its LRU place, as the engine's lookup does). */
  lookup(src: Address, sport: number, dst: Address, dport: number): number {
    const key = `${src.w0}:${sport}>${dst.w0}:${dport}`;
    const f = this.flows.get(key);
    if (f === undefined) return -1;
    this.flows.delete(key);
    this.flows.set(key, f);
    return f;
  }
  connect(src: Address, sport: number, dst: Address, dport: number): number {
    const key = `${src.w0}:${sport}>${dst.w0}:${dport}`;
    const f = this.flows.get(key);
    if (f !== undefined) return f;
    const sp = this.services.get(dst.w0 * 65536 + dport);
    if (sp === undefined) return -1;
    const k = this.rr[sp]!;
    this.rr[sp] = k + 1 === ENDPOINTS ? 0 : k + 1;
    const b = sp * ENDPOINTS + k;
    this.active[b]!++;
    if (this.flows.size >= this.capacity) {
      const oldest = this.flows.entries().next().value!;
      this.flows.delete(oldest[0]);
      this.active[oldest[1]]!--;
    }
    this.flows.set(key, b);
    return b;
  }
  /** The connection ended: its flow goes (the engine keeps a closed TCP flow for tcpFin; the bench expires it). */
  close(src: Address, sport: number, dst: Address, dport: number): void {
    const key = `${src.w0}:${sport}>${dst.w0}:${dport}`;
    const f = this.flows.get(key);
    if (f === undefined) return;
    this.flows.delete(key);
    this.active[f]!--;
  }
}


/**
 * Two batch functions measured in alternating rounds in one window (a busy neighbour slows both
 * alike): median CPU ns per call of each, over `rounds` rounds of one batch each, `per` calls a batch.
 */
function interleaved(a: () => void, b: () => void, rounds: number, per: number): [number, number] {
  const ta: number[] = [];
  const tb: number[] = [];
  for (let r = 0; r < rounds; r++) {
    let t0 = cpuClock.fn();
    a();
    ta.push(cpuClock.fn() - t0);
    t0 = cpuClock.fn();
    b();
    tb.push(cpuClock.fn() - t0);
  }
  const median = (xs: number[]) => xs.sort((x, y) => x - y)[xs.length >> 1]! * 1000 / per;
  return [median(ta), median(tb)];
}

export type MutableAddress = { -readonly [K in keyof Address]: Address[K] };
/** A FlowTuple whose destination words the bench rewrites in place. */
type BenchTuple = { protocol: number; src: Address; srcPort: number; dst: MutableAddress; dstPort: number };
/** MANY reusable tuples for the batched rows (their fields are rewritten per batch). */
const manyTuples: BenchTuple[] = Array.from({ length: MANY }, () => ({ protocol: TCP, src: v4(0), srcPort: 0, dst: v4(0), dstPort: 80 }));

/** Tuple of flow number i from `clients` to service `svc` (-1: service of a prefilled flow, serviceOf(i)). */
let servicesNow = 1;
function setTuple(t: BenchTuple, clients: Address[], i: number, svc: number): void {
  t.src = client(clients, i);
  t.srcPort = sourcePort(i);
  t.dst.w0 = (0x0a600000 + (svc >= 0 ? svc : serviceOf(i, servicesNow))) >>> 0;
}

/**
 * The engine's established lookup and a plain-JS Map of the same 1M flows (string keys, LRU
 * refresh by re-insertion), in alternating batches in one window; `ratio` = JS / engine.
 */
function jsMapLookupRows(n: number, model: ServiceModel, engineBatch: () => void, time: number): Row[] {
  const js = new JsMapEngine(model, CAPACITY);
  for (let i = 0; i < PREFILL; i++) js.connect(client(prefillClients, i), sourcePort(i), vip(serviceOf(i, n)), 80);
  let ji = 0;
  let found = 0;
  const jsBatch = () => {
    for (let j = 0; j < BATCH; j++) {
      const i = spread(ji++, PREFILL);
      if (js.lookup(client(prefillClients, i), sourcePort(i), vip(serviceOf(i, n)), 80) >= 0) found++;
    }
  };
  const [engineNs, jsNs] = interleaved(engineBatch, jsBatch, Math.max(11, Math.round(time / 15)), BATCH);
  if (found === 0) throw new Error('bench engine: the JS Map baseline found none of its flows');
  console.log(`interleaved: engine established-lookup ${round(engineNs)} ns, js-map ${round(jsNs)} ns (${round(jsNs / engineNs)}×)`);
  return [
    { case: 'established-lookup (interleaved)', services: n, endpoints: ENDPOINTS, flows: PREFILL, nsPerOp: round(engineNs) },
    { case: 'js-map established-lookup', services: n, endpoints: ENDPOINTS, flows: PREFILL, nsPerOp: round(jsNs), ratio: round(jsNs / engineNs) },
  ];
}

/**
 * ns per call of `fn` (one batch) over `time` ms; `afterEach`, if given, runs after each batch
 * outside the timed call (tinybench's hook).
 */
/** Rounds of `floorRatio`, and batches of each side per round. */
const FLOOR_ROUNDS = 15;
const FLOOR_BATCHES = 10;

/**
 * The median over FLOOR_ROUNDS rounds of (ns per op of `fn`) / (ns per read of `floor`), each
 * round FLOOR_BATCHES batches (BATCH ops, BATCH reads) of one, then of the other; `after` runs
 * after each `fn` batch, untimed. A side starts each round with the other's lines and page-table
 * entries in the caches: over 10 batches that costs a few percent; over one it was a third of the
 * floor's time, and the ratios came out low.
 */
function floorRatio(fn: () => void, floor: () => void, after?: () => void): number {
  const ratios: number[] = [];
  for (let r = 0; r < FLOOR_ROUNDS; r++) {
    let caseMs = 0;
    for (let b = 0; b < FLOOR_BATCHES; b++) {
      const t0 = cpuClock.fn();
      fn();
      caseMs += cpuClock.fn() - t0;
      after?.();
    }
    const t0 = cpuClock.fn();
    for (let b = 0; b < FLOOR_BATCHES; b++) floor();
    ratios.push(caseMs / (cpuClock.fn() - t0));
  }
  return Math.round(ratios.sort((a, b) => a - b)[FLOOR_ROUNDS >> 1]! * 100) / 100;
}

async function measure(name: string, time: number, fn: () => void, afterEach?: () => void): Promise<number> {
  const bench = new Bench({ time, warmupTime: Math.min(200, time / 2), throws: true, timestampProvider: cpuClock });
  bench.add(name, fn, afterEach === undefined ? undefined : { afterEach });
  await bench.run();
  const r = bench.tasks[0]!.result as unknown as { latency: { p50: number } };
  return (r.latency.p50 * 1e6) / BATCH;
}

export async function run(args: string[]): Promise<void> {
  const sizes = (option(args, '--sizes') ?? '100,10000,100000').split(',').map(Number);
  const schedulers = (option(args, '--schedulers') ?? SCHEDULERS.join(',')).split(',') as SchedulerName[];
  const time = Number(option(args, '--time') ?? 250);
  const decisions = Number(option(args, '--decisions') ?? 10_000_000);
  for (const s of schedulers) if (!SCHEDULERS.includes(s)) throw new Error(`bench engine: --schedulers: unknown scheduler "${s}"`);
  const rows: Row[] = [];
  const gc = (globalThis as { gc?: () => void }).gc;
  /** The floor's reads over as many bytes as the flow table holds (the same at every size: CAPACITY). */
  let floor: FloorReads | null = null;

  for (const n of sizes) {
    console.log(`-- ${n} services × ${ENDPOINTS} endpoints`);
    const engine: Engine = await loadEngine({ flowCapacity: CAPACITY, timeouts: BENCH_TIMEOUTS });
    let now = 1000;
    servicesNow = n;
    const base = buildModel(n, schedulers[0]!);
    const encoded = encodeSnapshot(base);
    engine.loadSnapshot(encoded, base);
    for (let i = 0; i < PREFILL; i++) {
      engine.connect(TCP, client(prefillClients, i), sourcePort(i), vip(serviceOf(i, n)), 80, now);
    }
    floor ??= floorReads(engine.flowTableBytes(), BATCH);
    const reads = floor;
    let op = 0;
    // The measured connections go again after each batch, untimed (close, then expire past
    // tcpFin): every batch then meets the 1M prefilled flows and at most one batch of its own, as
    // the rows say. Kept until the end of a measurement instead, they took the table from 1M to
    // 2M flows as it ran (longer probes), and a full table would evict prefilled flows (the
    // oldest SYN_RECV ones), so the lookups below would measure misses.
    let released = 0;
    const release = () => {
      now = releaseMeasured(engine, released, op, n, vip, now);
      released = op;
    };
    const connectBatch = () => {
      for (let j = 0; j < BATCH; j++, op++) {
        engine.connect(TCP, client(measuredClients, op), sourcePort(op), vip(serviceOf(op + 7, n)), 80, now);
      }
    };
    for (const sched of schedulers) {
      engine.loadSnapshot(withScheduler(encoded, sched), { ...base, servicePorts: base.servicePorts.map((sp) => ({ ...sp, scheduler: sched })) });
      gc?.();
      const start = op;
      const ns = await measure(`new-connection ${sched}`, time, connectBatch, release);
      const ops = op - start;
      const connectRatio = floorRatio(connectBatch, reads.dependent, release);
      rows.push({ case: `new-connection ${sched}`, services: n, endpoints: ENDPOINTS, flows: PREFILL, nsPerOp: round(ns), floorRatio: connectRatio });
      console.log(`new-connection ${sched}: ${round(ns)} ns (${ops} ops), ${connectRatio}× the dependent-read floor`);
      if (sched === schedulers[0]) {
        const manyBatch = () => {
          for (let j = 0; j < BATCH; j += MANY) {
            for (let k = 0; k < MANY; k++, op++) setTuple(manyTuples[k]!, measuredClients, op, serviceOf(op + 7, n));
            engine.connectMany(manyTuples, now);
          }
        };
        const manyNs = await measure(`new-connection connectMany ${MANY} ${sched}`, time, manyBatch, release);
        const manyRatio = floorRatio(manyBatch, reads.independent, release);
        rows.push({ case: `new-connection connectMany ${MANY} ${sched}`, services: n, endpoints: ENDPOINTS, flows: PREFILL, nsPerOp: round(manyNs), floorRatio: manyRatio });
        console.log(`new-connection connectMany ${MANY} ${sched}: ${round(manyNs)} ns per decision, ${manyRatio}× the independent-read floor`);
      }
      op = 0;
      released = 0;
    }
    if (engine.stats().flows !== PREFILL) throw new Error(`engine bench: ${engine.stats().flows} flows before the lookups, not the ${PREFILL} prefilled`);
    // The scheduler swaps above were full loads, which drop every flow's cached decision
    // (engine/flows.ts). First, what a flow's first packet after a swap costs: one pass over every
    // prefilled flow in random order (each lookup a first hit), which also caches them all again.
    {
      const t0 = cpuClock.fn();
      for (let j = 0; j < PREFILL; j++) {
        const i = (j * 7919 + 13) % PREFILL; // a permutation (7919 is prime to 10^6): each flow once
        engine.lookup(TCP, client(prefillClients, i), sourcePort(i), vip(serviceOf(i, n)), 80, now);
      }
      const firstNs = ((cpuClock.fn() - t0) * 1000) / PREFILL;
      rows.push({ case: 'established-lookup first after a swap', services: n, endpoints: ENDPOINTS, flows: engine.stats().flows, nsPerOp: round(firstNs) });
      console.log(`established-lookup, first hit after a swap: ${round(firstNs)} ns`);
    }
    let li = 0;
    const lookupBatch = () => {
      for (let j = 0; j < BATCH; j++) {
        const i = spread(li++, PREFILL);
        engine.lookup(TCP, client(prefillClients, i), sourcePort(i), vip(serviceOf(i, n)), 80, now);
      }
    };
    const lookupNs = await measure('established-lookup', time, lookupBatch);
    const lookupRatio = floorRatio(lookupBatch, reads.dependent);
    rows.push({ case: 'established-lookup', services: n, endpoints: ENDPOINTS, flows: engine.stats().flows, nsPerOp: round(lookupNs), floorRatio: lookupRatio });
    console.log(`established-lookup: ${round(lookupNs)} ns, ${lookupRatio}× the dependent-read floor`);
    const lookupManyBatch = () => {
      for (let j = 0; j < BATCH; j += MANY) {
        for (let k = 0; k < MANY; k++) setTuple(manyTuples[k]!, prefillClients, spread(li++, PREFILL), -1);
        engine.lookupMany(manyTuples, now);
      }
    };
    const manyNs = await measure(`established-lookupMany ${MANY}`, time, lookupManyBatch);
    const lookupManyRatio = floorRatio(lookupManyBatch, reads.independent);
    rows.push({ case: `established-lookupMany ${MANY}`, services: n, endpoints: ENDPOINTS, flows: engine.stats().flows, nsPerOp: round(manyNs), floorRatio: lookupManyRatio });
    console.log(`established-lookupMany ${MANY}: ${round(manyNs)} ns per decision, ${lookupManyRatio}× the independent-read floor`);
    rows.push(...jsMapLookupRows(n, base, lookupBatch, time));
    if (n === sizes[0]) {
      const tableBytes = engine.flowTableBytes();
      rows.push({ case: 'bytes-per-flow', services: n, endpoints: ENDPOINTS, flows: engine.stats().flowCapacity, nsPerOp: 0, bytes: round(tableBytes / engine.stats().flowCapacity) });
      gc?.();
      const measured = await memoryFloor(reads, (name, fn) => measure(name, time, fn));
      for (const [kind, ns] of [['dependent', measured.dependentNs], ['independent', measured.independentNs]] as const) {
        rows.push({ case: `memory-floor ${kind}-read`, services: 0, endpoints: 0, flows: 0, nsPerOp: round(ns), bytes: tableBytes });
      }
      console.log(`memory floor over ${(tableBytes / 2 ** 20).toFixed(0)} MiB: dependent read ${round(measured.dependentNs)} ns, independent ${round(measured.independentNs)} ns`);
      gc?.();
    }

    // The plain-JS baseline, same workload (1M prefilled flows, random services, new clients).
    const js = new JsMapEngine(base, CAPACITY);
    for (let i = 0; i < PREFILL; i++) js.connect(client(prefillClients, i), sourcePort(i), vip(serviceOf(i, n)), 80);
    let jop = 0;
    let jreleased = 0;
    const jsNs = await measure('js-map new-connection rr', time, () => {
      for (let j = 0; j < BATCH; j++, jop++) js.connect(client(measuredClients, jop), sourcePort(jop), vip(serviceOf(jop + 7, n)), 80);
    }, () => {
      // As the engine's: each batch meets the 1M prefilled flows and no earlier batch.
      for (; jreleased < jop; jreleased++) js.close(client(measuredClients, jreleased), sourcePort(jreleased), vip(serviceOf(jreleased + 7, n)), 80);
    });
    rows.push({ case: 'js-map new-connection rr', services: n, endpoints: ENDPOINTS, flows: PREFILL, nsPerOp: round(jsNs) });
    console.log(`js-map new-connection rr: ${round(jsNs)} ns`);
  }

  // Heap growth over many decisions: a full table, so every new flow evicts the oldest.
  {
    const n = 10_000;
    const engine = await loadEngine({ flowCapacity: 1 << 20 });
    engine.load(buildModel(n, 'wlc'));
    const one = (i: number) => engine.connect(TCP, client(measuredClients, i), sourcePort(i), vip(serviceOf(i, n)), 80, 1000 + (i >>> 10));
    for (let i = 0; i < 1 << 20; i++) one(i); // fill
    gc?.();
    const wasmBefore = engine.stats().memoryBytes;
    const heapBefore = process.memoryUsage().heapUsed;
    const t0 = cpuClock.fn();
    for (let i = 1 << 20; i < (1 << 20) + decisions; i++) one(i);
    const elapsed = (cpuClock.fn() - t0) * 1000;
    gc?.();
    const wasmGrowth = engine.stats().memoryBytes - wasmBefore;
    const jsGrowth = process.memoryUsage().heapUsed - heapBefore;
    rows.push({ case: `heap-growth ${decisions / 1e6}M decisions`, services: n, endpoints: ENDPOINTS, flows: engine.stats().flows, nsPerOp: round(elapsed / decisions), bytes: wasmGrowth, jsHeapBytes: jsGrowth });
    console.log(`heap growth over ${decisions} decisions: wasm ${wasmGrowth} B, js heap ${jsGrowth} B (after GC)`);
  }
  rows.push(...(await hashFloodRows()));
  report('engine', rows);
}

function round(x: number): number {
  return Math.round(x * 10) / 10;
}
