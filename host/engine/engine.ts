/**
 * `Engine`: the typed EngineApi over an instantiated engine.wasm (see engine/index.ts for the ABI).
 * Per call only numbers cross the boundary: address words are written into the engine's scratch
 * region through a cached Uint32Array view, results are read back from it into one reused
 * Decision object. Construct through `loadEngine` (node.ts) or `loadEngineFromBytes` (browser.ts).
 */
import type { Address } from './address.js';
import { SnapshotError, Verdict, Via, type Decision, type EngineApi, type EngineOptions, type EngineStats, type FlowTuple } from './api.js';
import type { ServiceModel } from './model.js';
import { SNAPSHOT_ERRORS, SnapshotEncoder, encodeSnapshot } from './snapshot.js';
import { ServicePortOrder, encodeDelta, type ServicePortChanges } from './delta.js';
import { EngineStateView, type StateViewExports } from './state-view.js';
import { EMPTY_MODEL, ReusedDecision, once, type EngineExports, type PlannedChanges } from './abi.js';

export type { EngineExports, PlannedChanges } from './abi.js';

/** The ABI version this wrapper speaks (engine/index.ts abiVersion). */
export const ENGINE_ABI_VERSION = 7;

/** `checkTables`' messages (engine/table.ts CHECK_*; `#` is where the engine found the problem). */
const TABLE_CHECKS: Readonly<Record<number, string>> = {
  1: 'bucket #: its list number is not one of the table\'s lists',
  2: 'bucket #: the entry lies more than MAX_PROBE slots from its home slot',
  3: 'bucket #: a free bucket lies between the entry and its home slot (lookups miss it)',
  4: 'bucket #: the stored hash is not the hash of the stored key',
  5: 'the entry count is not the number of used buckets',
  6: 'list #: a step reaches a free bucket or an entry of another list',
  7: 'list #: an entry\'s prev link does not name the entry before it',
  8: 'list #: the list is longer than the table (it loops)',
  9: 'list #: the tail is not the last entry',
  10: 'some entry is on no list',
  11: 'list #: the table has no such list, but it is not empty',
};
/** engine/flows.ts CHECK_FLOW_*. */
const FLOW_CHECKS: Readonly<Record<number, string>> = {
  16: 'bucket #: the flow names a member slot the serving generation does not have',
  17: 'bucket #: the flow\'s class list or active bit is not one its protocol can have',
  18: 'member slot #: its active or inactive counter is not the number of its flows that are',
};
/** engine/affinity.ts CHECK_AFFINITY_*. */
const AFFINITY_CHECKS: Readonly<Record<number, string>> = {
  16: 'bucket #: the entry\'s timeout is not its list\'s',
  17: 'bucket #: the entry names a pool or backend the serving generation does not have',
};
/** engine/service-table.ts CHECK_MATCH_*. */
const MATCH_CHECKS: Readonly<Record<number, string>> = {
  1: 'slot #: a probe from the key\'s home slot does not find it there',
  2: 'slot #: its copy of its service port\'s meta word or of its pool\'s members or table is not the record\'s',
  3: 'slot #: the pool\'s own slot holds another rr position than the pool record',
  4: 'slot #: its uniform base is not what its pool\'s members make it',
  5: 'the key count is not the number of used slots',
};
/** Each table's messages by the check code's high byte (engine/index.ts checkTables: flow 0, affinity 256, match 512). */
const TABLE_MESSAGES: readonly (readonly [string, Readonly<Record<number, string>>])[] = [
  ['flow', { ...TABLE_CHECKS, ...FLOW_CHECKS }],
  ['affinity', { ...TABLE_CHECKS, ...AFFINITY_CHECKS }],
  ['match', MATCH_CHECKS],
];

/** Words per record of the batch region and the first result word (engine/batch.ts). */
const BATCH_WORDS = 20;
const BATCH_RESULT = 13;
/** engine/delta.ts SNAP_NEEDS_FULL: a well-formed delta only a full snapshot can express. */
const NEEDS_FULL = 20;

/** 2^20 slots of 64 bytes at load 3/4: the largest capacity in 64 MiB (engine/table.ts). */
export const DEFAULT_FLOW_CAPACITY = 3 << 18;

export class Engine implements EngineApi {
  private readonly ex: EngineExports;
  private readonly scratchPtr: number;
  private u32: Uint32Array;
  private i32: Int32Array;
  private f64: Float64Array;
  private current: ServiceModel = EMPTY_MODEL;
  /** Where the engine keeps each service port; built on the first `applyChanges` after a full load. */
  private order: ServicePortOrder | null = null;
  /** Counts takings of the engine's snapshot buffer, so a staged load sees another one start while it encodes. */
  private buffers = 0;
  private readonly decision = new ReusedDecision();
  /** Decisions of the last batched call (grown on demand, reused). */
  private readonly batchDecisions: ReusedDecision[] = [];
  private readonly batchOut: Decision[] = [];
  private batchU32: Uint32Array;
  private batchI32: Int32Array;

  /**
   * Models by generation, on a worker of a shared engine (host/engine/shared.ts): the leader
   * changes generations under it, so each decision reads its model by the generation it was made in.
   */
  protected readonly models: Map<number, ServiceModel> | null;

  /**
   * Wraps an initialized (WASI `_initialize` already run) engine instance and applies `options`;
   * or, with `worker`, attaches an instance that did not run `_initialize` to a shared engine's
   * state as that worker (options are the leader's: none applied).
   */
  constructor(instance: { readonly exports: WebAssembly.Exports }, options: EngineOptions = {}, worker?: { readonly id: number; readonly area: number }) {
    this.ex = instance.exports as unknown as EngineExports;
    const abi = this.ex.abiVersion();
    if (abi !== ENGINE_ABI_VERSION) throw new Error(`engine.wasm speaks ABI ${abi}, this host speaks ${ENGINE_ABI_VERSION}: rebuild (npm run build)`);
    this.models = worker ? new Map() : null;
    if (worker) this.ex.attachWorker!(worker.id, worker.area);
    else this.configure(options);
    this.scratchPtr = this.ex.scratch();
    this.u32 = new Uint32Array(this.ex.memory.buffer, this.scratchPtr, 128);
    this.i32 = new Int32Array(this.ex.memory.buffer, this.scratchPtr, 128);
    this.f64 = new Float64Array(this.ex.memory.buffer, this.scratchPtr + 256, 32);
    this.batchU32 = new Uint32Array(this.ex.memory.buffer, this.ex.batchRegion(), this.ex.batchCapacity() * BATCH_WORDS);
    this.batchI32 = new Int32Array(this.batchU32.buffer, this.batchU32.byteOffset, this.batchU32.length);
  }

  private configure(options: EngineOptions): void {
    const t = options.timeouts ?? {};
    for (const [field, v] of Object.entries({ flowCapacity: options.flowCapacity, affinityCapacity: options.affinityCapacity })) {
      if (v !== undefined && (!Number.isInteger(v) || v < 1 || v > (1 << 24) - 2)) {
        throw new Error(`EngineOptions.${field}: ${v} is not an integer in 1..16777214`);
      }
    }
    for (const [field, v] of Object.entries(t)) {
      if (v !== undefined && (!Number.isInteger(v) || v < 1 || v > 2_000_000)) {
        throw new Error(`EngineOptions.timeouts.${field}: ${v} is not a whole number of seconds in 1..2000000`);
      }
    }
    const status = this.ex.init(options.flowCapacity ?? DEFAULT_FLOW_CAPACITY, options.affinityCapacity ?? 1 << 16, (options.seed ?? 1) >>> 0,
      t.tcp ?? 900, t.tcpFin ?? 120, t.udp ?? 300, t.sctp ?? 900, t.tcpSyn ?? 60);
    if (status !== 0) throw new Error(`engine.wasm refused EngineOptions.timeouts (init status ${status})`);
    if (options.hashKey) {
      const k = options.hashKey;
      if (k.length !== 4 || k.some((w) => !Number.isInteger(w) || w < 0 || w > 0xffffffff)) throw new Error('EngineOptions.hashKey: want four 32-bit unsigned words');
      this.ex.seedTables(k[0], k[1], k[2], k[3]);
    }
  }

  /** Re-creates the scratch views after linear memory grew (a grown memory detaches old views). */
  private views(): void {
    if (this.u32.length !== 0) return;
    const buf = this.ex.memory.buffer;
    this.u32 = new Uint32Array(buf, this.scratchPtr, 128);
    this.i32 = new Int32Array(buf, this.scratchPtr, 128);
    this.f64 = new Float64Array(buf, this.scratchPtr + 256, 32);
    this.batchU32 = new Uint32Array(buf, this.ex.batchRegion(), this.ex.batchCapacity() * BATCH_WORDS);
    this.batchI32 = new Int32Array(buf, this.batchU32.byteOffset, this.batchU32.length);
  }

  get model(): ServiceModel {
    return this.current;
  }

  load(model: ServiceModel): void {
    this.loadSnapshot(encodeSnapshot(model), model);
  }

  loadSnapshot(bytes: Uint8Array, model: ServiceModel): void {
    const code = this.send(bytes, false);
    if (code !== 0) this.reject(code);
    this.current = model;
    this.decision.model = model;
    this.order = null;
  }

  /**
   * Applies what changed (host/model's ServiceChangeTracker output) as a delta snapshot when it
   * can: only the changed service ports are encoded, sent and rebuilt, so one change costs the
   * same at 10 or 100k services. Falls back to a full load on the first call, when node IPs
   * changed, when more than an eighth of the service ports changed, when the engine holds as
   * many orphaned records as live ones (a full load compacts), or when the engine asks for one.
   * Afterwards `model.servicePorts` is in the engine's order (a replaced service port keeps its
   * index, an added one goes last, a removed one's index goes to the last one), which is what
   * decision indexes refer to. Returns which path was taken.
   */
  applyChanges(changes: ServicePortChanges): 'delta' | 'full' {
    return this.planChanges(changes).apply();
  }

  /**
   * `applyChanges` in two steps: the plan says which model the next generation will serve
   * (`model`, in engine order) before anything is sent, and `apply()` sends it; decisions made in
   * that generation index `model`. A shared engine's main thread hands `model` to its workers
   * first (host/engine/shared.ts). `apply()` may be called once; when the engine asks for a full
   * snapshot instead of the delta, `model` is loaded whole, so it stays what is served.
   */
  planChanges(changes: ServicePortChanges): PlannedChanges {
    const count = changes.added.length + changes.updated.length + changes.removed.length;
    const st = this.current === EMPTY_MODEL ? null : this.stats();
    const ops = st === null || changes.nodeIPsChanged || count > Math.max(64, st.servicePorts / 8) ||
      st.garbageRecords > Math.max(4096, st.memberRecords)
      ? null
      : (this.order ??= new ServicePortOrder(this.current)).plan(changes);
    if (ops === null) {
      const model = changes.current;
      return { model, kind: 'full', apply: once(() => (this.load(model), 'full')) };
    }
    const order = this.order!;
    const model: ServiceModel = { ...changes.current, servicePorts: order.preview(ops) };
    return {
      model,
      kind: 'delta',
      apply: once(() => {
        if (ops.length !== 0) {
          const code = this.send(encodeDelta(ops, st!.generation), true);
          if (code === NEEDS_FULL) {
            this.load(model);
            return 'full';
          }
          if (code !== 0) this.reject(code);
        }
        order.apply(ops);
        this.current = model;
        this.decision.model = model;
        return 'delta';
      }),
    };
  }


  /**
   * Loads `model` as `load` does, without blocking decisions for the whole rebuild: the model is
   * encoded straight into the engine's snapshot buffer and the engine builds the next generation,
   * both in steps of at most `budget` records (per stage, for the engine), `pause()` between
   * them (by default one event-loop turn, so connect/lookup calls keep being served by the
   * serving generation), then switches in one call. The result is the one-shot load's at the
   * moment of the switch. Rejects with SnapshotError as `load` throws (and with the Error of an
   * unencodable model, the serving generation untouched); a load, a delta or another staged load
   * started meanwhile supersedes this one (it then rejects with code 21, or the engine's 18).
   */
  async loadInSteps(model: ServiceModel, options: { budget?: number; pause?: () => Promise<void> } = {}): Promise<void> {
    const budget = options.budget ?? 2048;
    const pause = options.pause ?? (() => new Promise<void>((resolve) => setImmediate(resolve)));
    const ticket = ++this.buffers;
    const encoder = new SnapshotEncoder(model);
    while (!encoder.measure(budget)) await this.pauseUnlessSuperseded(pause, ticket);
    const length = encoder.byteLength;
    const ptr = this.ex.snapshotBuffer(length) >>> 0;
    // A fresh view per chunk: decisions between chunks may grow (and so detach) linear memory.
    while (!encoder.write(new Uint8Array(this.ex.memory.buffer, ptr, length), budget)) await this.pauseUnlessSuperseded(pause, ticket);
    this.ex.beginSnapshot();
    this.views();
    // The index deltas need (applyChanges) is built in the same pauses, so the first delta after
    // this load does not build it in one go.
    const order = new ServicePortOrder(model, false);
    for (;;) {
      const code = this.ex.snapshotStep(budget);
      this.views();
      if (code === 0) break;
      if (code !== -1) this.reject(code);
      order.indexMore(budget);
      await pause();
    }
    const code = this.ex.commitSnapshot();
    this.views();
    if (code !== 0) this.reject(code);
    this.current = model;
    this.decision.model = model;
    this.order = order;
  }

  /**
   * Pauses a staged load's encoding, then rejects with code 21 when another load or delta took
   * the engine's snapshot buffer meanwhile (its bytes are no longer this load's to write).
   */
  private async pauseUnlessSuperseded(pause: () => Promise<void>, ticket: number): Promise<void> {
    await pause();
    if (this.buffers !== ticket) {
      throw new SnapshotError(21, `snapshot rejected (code 21): ${SNAPSHOT_ERRORS[21]} while it was encoded; the previous generation keeps serving`);
    }
  }

  /** Copies a snapshot or delta into the engine and loads it; the engine's status code. */
  private send(bytes: Uint8Array, delta: boolean): number {
    this.buffers++;
    // A Wasm i32 comes back signed: past 2 GiB of linear memory (mh at 100k services) the address reads negative.
    const ptr = this.ex.snapshotBuffer(bytes.length) >>> 0;
    new Uint8Array(this.ex.memory.buffer, ptr, bytes.length).set(bytes);
    const code = delta ? this.ex.applyDelta() : this.ex.loadSnapshot();
    this.views();
    return code;
  }

  private reject(code: number): never {
    const sp = this.ex.errorServicePort();
    const where = `at byte ${this.ex.errorOffset()}${sp >= 0 ? `, service port #${sp}` : ''}`;
    throw new SnapshotError(code, `snapshot rejected (code ${code}): ${SNAPSHOT_ERRORS[code] ?? 'unknown error'} ${where}; the previous generation keeps serving`);
  }

  private put(src: Address, dst: Address): void {
    const u = this.u32.length !== 0 ? this.u32 : (this.views(), this.u32);
    u[0] = src.family;
    u[1] = src.w0;
    u[2] = src.w1;
    u[3] = src.w2;
    u[4] = src.w3;
    u[5] = dst.family;
    u[6] = dst.w0;
    u[7] = dst.w1;
    u[8] = dst.w2;
    u[9] = dst.w3;
  }

  private read(verdict: number): Decision {
    const d = this.decision;
    // The call may have grown memory (the tables allocate their buckets at the first insert).
    const i = this.i32.length !== 0 ? this.i32 : (this.views(), this.i32);
    d.verdict = verdict as Verdict;
    d.via = i[17] as Via;
    const sp = i[18]!;
    const b = i[19]!;
    d.servicePortIndex = sp;
    d.backendIndex = b;
    d.detail = i[20]!;
    if (this.models !== null) d.model = this.models.get(i[22]! >>> 0) ?? EMPTY_MODEL;
    return d;
  }

  connect(protocol: number, src: Address, srcPort: number, dst: Address, dstPort: number, nowMs: number): Decision {
    this.put(src, dst);
    return this.read(this.ex.connect(protocol, srcPort, dstPort, nowMs));
  }

  lookup(protocol: number, src: Address, srcPort: number, dst: Address, dstPort: number, nowMs: number): Decision {
    this.put(src, dst);
    return this.read(this.ex.lookup(protocol, srcPort, dstPort, nowMs));
  }

  established(protocol: number, src: Address, srcPort: number, dst: Address, dstPort: number, nowMs: number): boolean {
    this.put(src, dst);
    return this.ex.established(protocol, srcPort, dstPort, nowMs) !== 0;
  }

  close(protocol: number, src: Address, srcPort: number, dst: Address, dstPort: number, nowMs: number): boolean {
    this.put(src, dst);
    return this.ex.close(protocol, srcPort, dstPort, nowMs) !== 0;
  }

  rebind(protocol: number, src: Address, srcPort: number, dst: Address, dstPort: number, backendIndex: number, nowMs: number): boolean {
    this.put(src, dst);
    return this.ex.rebind(protocol, srcPort, dstPort, backendIndex, nowMs) !== 0;
  }

  lookupMany(tuples: readonly FlowTuple[], nowMs: number): readonly Decision[] {
    return this.many(tuples, nowMs, false);
  }

  connectMany(tuples: readonly FlowTuple[], nowMs: number): readonly Decision[] {
    return this.many(tuples, nowMs, true);
  }

  /** Writes the tuples into the batch region (engine/batch.ts layout) in chunks, decides, reads back. */
  private many(tuples: readonly FlowTuple[], nowMs: number, connect: boolean): readonly Decision[] {
    const out = this.batchOut;
    while (this.batchDecisions.length < tuples.length) this.batchDecisions.push(new ReusedDecision());
    out.length = tuples.length;
    const cap = this.ex.batchCapacity();
    for (let start = 0; start < tuples.length; start += cap) {
      const n = Math.min(cap, tuples.length - start);
      if (this.batchU32.length === 0) this.views();
      const u = this.batchU32;
      for (let k = 0; k < n; k++) {
        const t = tuples[start + k]!;
        const o = k * BATCH_WORDS;
        u[o] = t.protocol;
        u[o + 1] = t.srcPort;
        u[o + 2] = t.dstPort;
        u[o + 3] = t.src.family;
        u[o + 4] = t.src.w0;
        u[o + 5] = t.src.w1;
        u[o + 6] = t.src.w2;
        u[o + 7] = t.src.w3;
        u[o + 8] = t.dst.family;
        u[o + 9] = t.dst.w0;
        u[o + 10] = t.dst.w1;
        u[o + 11] = t.dst.w2;
        u[o + 12] = t.dst.w3;
      }
      if (connect) this.ex.connectMany(n, nowMs);
      else this.ex.lookupMany(n, nowMs);
      if (this.batchI32.length === 0) this.views();
      const r = this.batchI32;
      for (let k = 0; k < n; k++) {
        const d = this.batchDecisions[start + k]!;
        const o = k * BATCH_WORDS + BATCH_RESULT;
        d.model = this.current;
        d.verdict = r[o] as Verdict;
        d.via = r[o + 1] as Via;
        d.servicePortIndex = r[o + 2]!;
        d.backendIndex = r[o + 3]!;
        d.detail = r[o + 4]!;
        out[start + k] = d;
      }
    }
    return out;
  }

  expire(nowMs: number): number {
    return this.ex.expire(nowMs);
  }

  counters(servicePortIndex: number): { active: number; inactive: number }[] {
    const sp = this.current.servicePorts[servicePortIndex];
    if (!sp) throw new RangeError(`counters: no service port #${servicePortIndex} (the model has ${this.current.servicePorts.length})`);
    return sp.backends.map((_, k) => ({
      active: this.ex.backendActive(servicePortIndex, k),
      inactive: this.ex.backendInactive(servicePortIndex, k),
    }));
  }

  /**
   * Diagnostics, O(capacity): the summed distance of every flow and affinity entry from its home
   * slot in its open-addressing index. Stays near the entry count unless the hash is flooded.
   */
  tableDisplacement(): { flows: number; affinity: number } {
    return { flows: this.ex.flowIndexDisplacement(), affinity: this.ex.affinityIndexDisplacement() };
  }

  /**
   * Diagnostics and tests, O(capacity): checks the flow and affinity tables' invariants (probe
   * chains, stored hashes, LRU lists, counters against flows; engine/table.ts tableCheck) and the
   * match table's (keys in their chains, the copies of service port and pool fields, rr
   * positions) and returns the first problem found, or null when every one holds. Only an engine
   * bug breaks one.
   */
  checkTables(): string | null {
    const code = this.ex.checkTables();
    if (code === 0) return null;
    const [table, messages] = TABLE_MESSAGES[code >> 8] ?? [`table ${code >> 8}`, {}];
    const what = messages[code & 0xff] ?? `problem ${code & 0xff}`;
    return `${table} table: ${what.replace('#', `#${this.ex.tableCheckSlot()}`)}`;
  }

  stats(): EngineStats {
    this.ex.fillStats();
    this.views();
    const f = this.f64;
    return {
      generation: f[0]!,
      servicePorts: f[1]!,
      backends: f[2]!,
      flows: f[3]!,
      flowCapacity: f[4]!,
      affinities: f[5]!,
      affinityCapacity: f[6]!,
      flowEvictions: f[7]!,
      affinityEvictions: f[8]!,
      flowExpirations: f[9]!,
      affinityExpirations: f[10]!,
      flowsDroppedOnSwap: f[11]!,
      affinitiesDroppedOnSwap: f[12]!,
      memoryBytes: f[13]!,
      flowsUntracked: f[15]!,
      affinitiesUntracked: f[16]!,
      garbageRecords: f[17]!,
      memberRecords: f[18]!,
    };
  }

  /** Affinity entries dropped on swaps (their backend left): `stats().affinitiesDroppedOnSwap`. */
  affinitiesDroppedOnSwap(): number {
    return this.stats().affinitiesDroppedOnSwap;
  }

  /** Read-only view of the decision state (pools, counters, flow and affinity entries), for explain. */
  stateView(): EngineStateView {
    return new EngineStateView(this.ex as unknown as StateViewExports);
  }

  /** Bytes the flow table occupies (its 64-byte buckets; 0 before the first flow), for the bytes-per-flow benchmark. */
  flowTableBytes(): number {
    this.ex.fillStats();
    this.views();
    return this.f64[14]!;
  }
}

/** A fresh 128-bit table-hash key from the platform's CSPRNG (Node and browsers). */
export function randomHashKey(): [number, number, number, number] {
  const w = globalThis.crypto.getRandomValues(new Uint32Array(4));
  return [w[0]!, w[1]!, w[2]!, w[3]!];
}
