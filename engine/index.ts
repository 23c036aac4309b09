/**
 * engine.wasm's exports: the generic host ABI over core.ts. Built as a WASI reactor
 * (`_initialize`) with @assemblyscript/wasi-shim; hosts: host/engine/{node,browser}.ts.
 *
 * Runtime `minimal` (asconfig.json): no shadow stack, so the hot path pays no GC bookkeeping; the
 * garbage collector runs only where this file calls `__collect()` — at the start of `loadSnapshot`
 * and `expire`, when no managed reference is on the Wasm stack (only globals hold any). The
 * per-connection exports allocate nothing (bench/engine.ts checks memory stays flat).
 *
 * Calls pass only numbers. Addresses go through a fixed scratch region (`scratch()`):
 *
 *   u32 word  0: src family   1..4: src w0..w3      5: dst family   6..9: dst w0..w3
 *   i32 word 16: verdict     17: via    18: service port    19: backend index    20: detail
 *            21: kind of address matched
 *   f64 at byte 256..: stats (see `fillStats`)
 *
 * Batched calls (`lookupMany`, `connectMany`) use their own region (`batchRegion`, engine/batch.ts).
 */
import * as core from './core';
import * as flows from './flows';
import * as decisions from './flow-decisions';
import * as affinity from './affinity';
import { snapshotErrorOffset, snapshotErrorServicePort } from './snapshot';
import { BATCH_REGION_BYTES, MAX_BATCH, useBatchRegion } from './batch';
import { enter, leave, setOwnerId } from './lock';
import { matchTableCheck } from './service-table';
import { current } from './state';

/**
 * ABI version: bumped when exports or the scratch layout change (4: batchRegion, lookupMany,
 * connectMany; 5: with delta snapshots and staged loads; 6: the decision's generation at scratch
 * word 22, and the shared-memory exports of lock.ts; 7: checkTables, tableCheckSlot).
 */
export function abiVersion(): u32 {
  return 7;
}

// @ts-ignore: decorator
@inline const SCRATCH_BYTES: usize = 512;
/** This instance's scratch: the static one, or a worker's own area (attachWorker). */
let SCRATCH: usize = memory.data(<i32>SCRATCH_BYTES, 16);

export function scratch(): usize {
  return SCRATCH;
}

/** Bytes of one worker's area: its scratch, then its batch region (engine.shared.wasm). */
export function workerAreaBytes(): usize {
  return SCRATCH_BYTES + BATCH_REGION_BYTES;
}

/**
 * The leader allocates `count` worker areas (pinned: they live as long as the engine) and returns
 * the first; worker `id` uses the one at `first + (id - 1) × workerAreaBytes()`.
 */
export function allocWorkerAreas(count: i32): usize {
  enter();
  const block = new StaticArray<u8>(<i32>workerAreaBytes() * count + 64);
  __pin(changetype<usize>(block));
  leave();
  return (changetype<usize>(block) + 63) & ~<usize>63;
}

/**
 * Makes this instance worker `id` (1..255) of a shared engine: a follower that did not run
 * `_initialize` (lock.ts), deciding over the leader's state with its own scratch and batch region.
 */
export function attachWorker(id: i32, area: usize): void {
  setOwnerId(id);
  SCRATCH = area;
  useBatchRegion(area + SCRATCH_BYTES);
}

export { lockEngine, unlockEngine, releaseLockOf, lockAcquisitions, lockContentions, sharedBlock } from './lock';

/** core.init: INIT_OK (0), or INIT_BAD_TIMEOUT (1) when a timeout exceeds 2,000,000 s (nothing changed). */
export function init(flowCap: i32, affinityCap: i32, seed: u32, tcpS: u32, tcpFinS: u32, udpS: u32, sctpS: u32, synS: u32): i32 {
  enter();
  const r = core.init(flowCap, affinityCap, seed, tcpS, tcpFinS, udpS, sctpS, synS);
  leave();
  return r;
}

let pendingSnapshot = new StaticArray<u8>(0);

/** Allocates a buffer of `len` bytes for the next snapshot; the host writes it, then calls `loadSnapshot`. */
export function snapshotBuffer(len: i32): usize {
  enter();
  pendingSnapshot = new StaticArray<u8>(len);
  leave();
  return changetype<usize>(pendingSnapshot);
}

/** Loads the snapshot written into `snapshotBuffer`; 0 or a rejection code (engine/snapshot.ts). */
export function loadSnapshot(): i32 {
  enter();
  __collect(); // the previous generation's garbage; pendingSnapshot is a global, so it survives
  const bytes = pendingSnapshot;
  pendingSnapshot = new StaticArray<u8>(0);
  const r = core.loadSnapshot(bytes);
  leave();
  return r;
}

/**
 * Starts building the full snapshot written into `snapshotBuffer` in steps (engine/build.ts):
 * decisions keep using the serving generation until `commitSnapshot`.
 */
export function beginSnapshot(): void {
  enter();
  __collect();
  const bytes = pendingSnapshot;
  pendingSnapshot = new StaticArray<u8>(0);
  core.beginSnapshot(bytes);
  leave();
}

/** Advances the staged build by at most `budget` records per stage: -1 more, 0 ready, else a rejection code. */
export function snapshotStep(budget: i32): i32 {
  enter();
  const r = core.snapshotStep(budget);
  leave();
  return r;
}

/** Switches to the staged build: 0, -1 (not ready), 18 (the serving generation changed meanwhile), 21 (none). */
export function commitSnapshot(): i32 {
  enter();
  const r = core.commitSnapshot();
  leave();
  return r;
}

export function abortSnapshot(): void {
  enter();
  core.abortSnapshot();
  leave();
}

/**
 * Applies the delta snapshot written into `snapshotBuffer` to the serving generation (engine/delta.ts);
 * 0 or a rejection code (20: only a full snapshot can express it).
 */
export function applyDelta(): i32 {
  enter();
  __collect();
  const bytes = pendingSnapshot;
  pendingSnapshot = new StaticArray<u8>(0);
  const r = core.applyDelta(bytes);
  leave();
  return r;
}

export function errorOffset(): i32 {
  return snapshotErrorOffset;
}

export function errorServicePort(): i32 {
  return snapshotErrorServicePort;
}

// @ts-ignore: decorator
@inline function writeDecision(verdict: i32): i32 {
  store<i32>(SCRATCH, verdict, 64);
  store<i32>(SCRATCH, core.decisionVia, 68);
  store<i32>(SCRATCH, core.decisionServicePort, 72);
  store<i32>(SCRATCH, core.decisionBackend, 76);
  store<i32>(SCRATCH, core.decisionDetail, 80);
  store<i32>(SCRATCH, core.decisionKind, 84);
  store<u32>(SCRATCH, core.generation(), 88);
  leave();
  return verdict;
}

export function connect(proto: u32, sport: u32, dport: u32, nowMs: f64): i32 {
  enter();
  const s = SCRATCH;
  return writeDecision(core.connect(proto, load<u32>(s), load<u32>(s, 4), load<u32>(s, 8), load<u32>(s, 12), load<u32>(s, 16), sport,
    load<u32>(s, 20), load<u32>(s, 24), load<u32>(s, 28), load<u32>(s, 32), load<u32>(s, 36), dport, nowMs));
}

export function lookup(proto: u32, sport: u32, dport: u32, nowMs: f64): i32 {
  enter();
  const s = SCRATCH;
  return writeDecision(core.lookup(proto, load<u32>(s), load<u32>(s, 4), load<u32>(s, 8), load<u32>(s, 12), load<u32>(s, 16), sport,
    load<u32>(s, 20), load<u32>(s, 24), load<u32>(s, 28), load<u32>(s, 32), load<u32>(s, 36), dport, nowMs));
}

export function established(proto: u32, sport: u32, dport: u32, nowMs: f64): bool {
  enter();
  const s = SCRATCH;
  const r = core.established(proto, load<u32>(s), load<u32>(s, 4), load<u32>(s, 8), load<u32>(s, 12), load<u32>(s, 16), sport,
    load<u32>(s, 20), load<u32>(s, 24), load<u32>(s, 28), load<u32>(s, 32), load<u32>(s, 36), dport, nowMs);
  leave();
  return r;
}

export function close(proto: u32, sport: u32, dport: u32, nowMs: f64): bool {
  enter();
  const s = SCRATCH;
  const r = core.close(proto, load<u32>(s), load<u32>(s, 4), load<u32>(s, 8), load<u32>(s, 12), load<u32>(s, 16), sport,
    load<u32>(s, 20), load<u32>(s, 24), load<u32>(s, 28), load<u32>(s, 32), load<u32>(s, 36), dport, nowMs);
  leave();
  return r;
}

export function rebind(proto: u32, sport: u32, dport: u32, k: i32, nowMs: f64): bool {
  enter();
  const s = SCRATCH;
  const r = core.rebind(proto, load<u32>(s), load<u32>(s, 4), load<u32>(s, 8), load<u32>(s, 12), load<u32>(s, 16), sport,
    load<u32>(s, 20), load<u32>(s, 24), load<u32>(s, 28), load<u32>(s, 32), load<u32>(s, 36), dport, k, nowMs);
  leave();
  return r;
}

/**
 * Batched decisions (engine/batch.ts): the host writes up to `batchCapacity()` tuples into
 * `batchRegion()` (layout there), calls one of these, and reads each record's decision back.
 */
export { batchRegion, connectMany, lookupMany } from './batch';
export function batchCapacity(): i32 {
  return MAX_BATCH;
}

export function expire(nowMs: f64): i32 {
  enter();
  __collect(); // whatever the non-hot exports (stats, names) allocated since the last call
  const r = core.expire(nowMs);
  leave();
  return r;
}

export function backendActive(sp: i32, k: i32): u32 {
  enter();
  const r = core.backendActive(sp, k);
  leave();
  return r;
}

export function backendInactive(sp: i32, k: i32): u32 {
  enter();
  const r = core.backendInactive(sp, k);
  leave();
  return r;
}

/**
 * Writes stats as f64 at scratch byte 256: generation, service ports, backends, flows, flow
 * capacity, affinities, affinity capacity, flow evictions, affinity evictions, flow expirations,
 * affinity expirations, flows dropped on swap, affinities dropped on swap, memory bytes,
 * flow table bytes, flows untracked, affinities untracked, records orphaned by deltas, member records.
 */
export function fillStats(): void {
  enter();
  const p = SCRATCH + 256;
  const st = core.stats;
  store<f64>(p, <f64>core.generation(), 0);
  store<f64>(p, <f64>core.servicePortCount(), 8);
  store<f64>(p, <f64>core.backendCount(), 16);
  store<f64>(p, <f64>core.flows(), 24);
  store<f64>(p, <f64>core.flowsCapacity(), 32);
  store<f64>(p, <f64>core.affinities(), 40);
  store<f64>(p, <f64>core.affinitiesCapacity(), 48);
  store<f64>(p, <f64>st.flowEvictions, 56);
  store<f64>(p, <f64>st.affinityEvictions, 64);
  store<f64>(p, <f64>st.flowExpirations, 72);
  store<f64>(p, <f64>st.affinityExpirations, 80);
  store<f64>(p, <f64>st.flowsDroppedOnSwap, 88);
  store<f64>(p, <f64>st.affinitiesDroppedOnSwap, 96);
  store<f64>(p, <f64>(<u64>memory.size() << 16), 104);
  store<f64>(p, <f64>core.flowBytes(), 112);
  store<f64>(p, <f64>st.flowsUntracked, 120);
  store<f64>(p, <f64>st.affinitiesUntracked, 128);
  store<f64>(p, <f64>core.garbageRecords(), 136);
  store<f64>(p, <f64>core.memberRecords(), 144);
  leave();
}

/** Service port by name for hosts that route by DNS name: UTF-8 of namespace then name in the snapshot buffer region. */
export function servicePortByName(nsPtr: usize, nsLen: i32, namePtr: usize, nameLen: i32, port: u32, proto: u32): i32 {
  enter();
  const r = core.servicePortByName(nsPtr, nsLen, namePtr, nameLen, port, proto);
  leave();
  return r;
}

/** Diagnostics: total displacement of the flow index (probe length sum). */
export function seedTables(a: u32, b: u32, c: u32, d: u32): void {
  enter();
  core.seedTables(a, b, c, d);
  leave();
}

export function affinityIndexDisplacement(): f64 {
  return <f64>affinity.affinityIndexDisplacement();
}

export function flowIndexDisplacement(): f64 {
  return <f64>flows.flowIndexDisplacement();
}

/**
 * Diagnostics and tests, O(capacity): checks the flow table, the affinity table and the serving
 * generation's match table (flows.ts flowTableCheck, affinity.ts affinityTableCheck,
 * service-table.ts matchTableCheck). 0 when every invariant holds, else the first problem: its
 * code (table.ts CHECK_*) for the flow table, 256 + its code for the affinity table, 512 + its
 * code for the match table; `tableCheckSlot` says where.
 */
export function checkTables(): i32 {
  enter();
  let problem = flows.flowTableCheck(); // settles the queue (pending.ts) first
  if (problem == 0) {
    problem = affinity.affinityTableCheck();
    if (problem != 0) problem += 256;
  }
  if (problem == 0) {
    problem = matchTableCheck(current);
    if (problem != 0) problem += 512;
  }
  leave();
  return problem;
}

export { tableCheckSlot } from './table';

/** Tests: the last epoch of IPv4 flows' cached decisions handed out (flow-decisions.ts), to reach its wrap. */
export function flowDecisionEpoch(): u32 {
  return decisions.flowDecisionEpoch();
}
export function setFlowDecisionEpoch(epoch: u32): void {
  enter();
  decisions.setFlowDecisionEpoch(epoch);
  leave();
}

/** Read-only views for `vipwasm explain` (issue 13); off the per-packet path. */
export * from './explain-views';
