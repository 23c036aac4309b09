/**
 * A full snapshot built in bounded steps (issue 10: a full rebuild must not block decisions). In
 * one Wasm instance on one thread the host drives `buildStep(budget)` across event-loop turns
 * while connect/lookup keep deciding on the serving generation, then `commit` switches in one
 * call. The steps are exactly the one-shot load's (core.ts loadSnapshot runs them with no budget),
 * so the result is the same: validation, decoding, matching each service port to its old self,
 * pools and their carried state, dh/sh/mh tables, the match table, the name index, and the
 * scratch a later delta carries through (splice.ts).
 *
 * What decisions change meanwhile in the serving generation is read at commit, not before: flows
 * and affinity entries are carried then (flows recounted), and every carried rr/wrr pool whose old
 * position or cw moved since its carry gets them carried again (pool-carry.ts), so the switch
 * gives what a one-shot load at commit time would.
 */
import { Generation } from './generation';
import {
  POOL_CW, POOL_DI, POOL_FAMILY_END, POOL_FAMILY_START, POOL_INVERSE, POOL_MW, POOL_POS, POOL_SCHED,
  MEMBER_LOCAL_INDEX, MEMBER_SP, SCHED_MH, SCHED_RR, SCHED_WRR,
} from './layout';
import { SNAP_OK, SnapshotCursor, checksumStep, decodeHeader, decodeStep, validateHeader, validateNodeIPs, validateStep } from './snapshot';
import { Remap, matchServicePort } from './remap';
import { identityFind, identityInsertStep, newIdentityIndex } from './identity';
import { addPoolsStep, beginPools, beginTables, buildTableAt, carryPoolAt } from './pools';
import { WrrCarry, carryRRPosition, lastWrrCarry, wrrCarriedCw } from './pool-carry';
import { KEYS_INSERT, beginServiceTable, refreshSlotPosition, servicePortKeys } from './service-table';
import { insertName } from './names';
import { ensureDeltaRemap } from './splice';
import { renewAllSpEpochs, setFlowDecision } from './flow-decisions';
import { META_ACTIVE, flowListHead, flowListNext, flowMember, flowMeta, flowRemove, flowWatch, flowWatched, setFlowMember } from './flows';
import { affinityRemap } from './affinity';
import { FLOW_CLASS_COUNT, current, setCurrent, stats } from './state';

// Stages, in order. Each runs in steps of at most `budget` records unless it is O(1).
const HEADER = 0;
const CHECKSUM = 1;
const NODE_IPS = 2;
const VALIDATE = 3;
const DECODE_HEADER = 4;
const DECODE = 5;
const IDENTITY = 6;
const REMAP = 7;
const POOLS_HEADER = 8;
const POOLS = 9;
const CARRY = 10;
const TABLES_HEADER = 11;
const TABLES = 12;
const MATCH_HEADER = 13;
const MATCH = 14;
const NAMES = 15;
const DELTA_SCRATCH = 16;
const READY = 17;

/** `buildStep` status: more steps to go. */
export const BUILD_MORE: i32 = -1;
/** `commit` status: the serving generation changed under the build (another load or a delta); it was discarded. */
export const BUILD_STALE: i32 = 18;
/** Bytes hashed per budget unit: a service port's record is about this long. */
// @ts-ignore: decorator
@inline const BYTES_PER_UNIT: i32 = 256;
/**
 * An mh table costs this many budget units (records) to build: about 0.3 ms, measured (bench/swap.ts)
 * against a few µs for the other stages' records; a dh/sh table costs one.
 */
// @ts-ignore: decorator
@inline const MH_TABLE_UNITS: i32 = 128;

export class StagedBuild {
  gen: Generation = new Generation();
  cur: SnapshotCursor = new SnapshotCursor();
  remap: Remap = new Remap(0, 0, 0, 0, 0);
  identity: StaticArray<i32> = new StaticArray<i32>(0);
  stage: i32 = HEADER;
  /** Next record of the current stage. */
  at: i32 = 0;
  /** Per new pool: the old pool whose rr/wrr state it carried (-1: none), and that state as carried. */
  carriedFrom: StaticArray<i32> = new StaticArray<i32>(0);
  seenPos: StaticArray<u32> = new StaticArray<u32>(0);
  seenCw: StaticArray<u32> = new StaticArray<u32>(0);
  wrrCarries: Map<i32, WrrCarry> = new Map<i32, WrrCarry>();

  constructor(public bytes: StaticArray<u8>, public old: Generation) {}
}

/** Where a stage over `count` records stops this step: `budget` records past `b.at`, or the end. */
function advance(b: StagedBuild, count: i32, budget: i32): i32 {
  return count - b.at > budget ? b.at + budget : count;
}

/** The next stage, from its first record. */
function next(b: StagedBuild): i32 {
  b.stage++;
  b.at = 0;
  return BUILD_MORE;
}

/** Stages finished in one step at most (each at most `budget` records), so a step stays bounded. */
// @ts-ignore: decorator
@inline const STAGES_PER_STEP: i32 = 4;

/**
 * Runs the build on by at most `budget` records per stage (all of it with i32.MAX_VALUE):
 * BUILD_MORE, SNAP_OK (ready to commit) or a rejection code (the build is then useless).
 */
export function buildStep(b: StagedBuild, budget: i32): i32 {
  for (let i = 0; i < STAGES_PER_STEP || budget == i32.MAX_VALUE; i++) {
    if (b.stage == READY) return SNAP_OK;
    const code = stageStep(b, budget);
    if (code != BUILD_MORE) return code;
    if (b.at != 0) break;
  }
  return b.stage == READY ? SNAP_OK : BUILD_MORE;
}

function stageStep(b: StagedBuild, budget: i32): i32 {
  const base = changetype<usize>(b.bytes);
  const len = b.bytes.length;
  const gen = b.gen;
  const stage = b.stage;
  if (stage == HEADER) {
    const code = validateHeader(base, len, b.cur);
    return code != SNAP_OK ? code : next(b);
  }
  if (stage == CHECKSUM) {
    const units = <i64>budget * BYTES_PER_UNIT > <i64>i32.MAX_VALUE ? i32.MAX_VALUE : budget * BYTES_PER_UNIT;
    const code = checksumStep(base, len, b.cur, units);
    return code == BUILD_MORE ? code : code != SNAP_OK ? code : next(b);
  }
  if (stage == NODE_IPS) {
    const code = validateNodeIPs(base, len, b.cur);
    return code != SNAP_OK ? code : next(b);
  }
  if (stage == VALIDATE) {
    const code = validateStep(base, len, b.cur, budget);
    return code == BUILD_MORE ? code : code != SNAP_OK ? code : next(b);
  }
  if (stage == DECODE_HEADER) {
    decodeHeader(b.bytes, gen, b.cur);
    return next(b);
  }
  if (stage == DECODE) return decodeStep(gen, b.cur, budget) ? next(b) : BUILD_MORE;
  if (stage == IDENTITY) {
    if (b.at == 0) b.identity = newIdentityIndex(b.old);
    const to = advance(b, b.old.spCount, budget);
    identityInsertStep(b.old, b.identity, b.at, to);
    b.at = to;
    return to == b.old.spCount ? next(b) : BUILD_MORE;
  }
  if (stage == REMAP) {
    const old = b.old;
    if (b.at == 0) b.remap = new Remap(gen.spCount, old.spCount, old.backendCount, old.memberCount, old.poolCount);
    const to = advance(b, gen.spCount, budget);
    for (let s = b.at; s < to; s++) {
      const o = identityFind(old, b.identity, gen, s);
      if (o >= 0) matchServicePort(b.remap, old, o, gen, s);
    }
    b.at = to;
    return to == gen.spCount ? next(b) : BUILD_MORE;
  }
  return poolStage(b, budget);
}

function poolStage(b: StagedBuild, budget: i32): i32 {
  const gen = b.gen;
  const stage = b.stage;
  if (stage == POOLS_HEADER) {
    beginPools(gen);
    return next(b);
  }
  if (stage == POOLS) {
    const to = advance(b, gen.spCount, budget);
    addPoolsStep(gen, b.at, to);
    b.at = to;
    return to == gen.spCount ? next(b) : BUILD_MORE;
  }
  if (stage == CARRY) {
    if (b.at == 0) {
      b.carriedFrom = new StaticArray<i32>(gen.poolCount);
      b.seenPos = new StaticArray<u32>(gen.poolCount);
      b.seenCw = new StaticArray<u32>(gen.poolCount);
    }
    const to = advance(b, gen.poolCount, budget);
    for (let p = b.at; p < to; p++) {
      const op = carryPoolAt(gen, p, b.old, b.remap);
      unchecked((b.carriedFrom[p] = op));
      if (op < 0) continue;
      unchecked((b.seenPos[p] = b.old.poolWord(op, POOL_POS)));
      unchecked((b.seenCw[p] = b.old.poolWord(op, POOL_CW)));
      const carry = lastWrrCarry;
      if (carry !== null) b.wrrCarries.set(p, carry);
    }
    b.at = to;
    return to == gen.poolCount ? next(b) : BUILD_MORE;
  }
  if (stage == TABLES_HEADER) {
    beginTables(gen);
    return next(b);
  }
  if (stage == TABLES) {
    let units = 0;
    let p = b.at;
    for (; p < gen.poolCount && units < budget; p++) {
      buildTableAt(gen, p);
      units += (gen.poolWord(p, POOL_SCHED) & 0xff) == SCHED_MH ? MH_TABLE_UNITS : 1;
    }
    b.at = p;
    return p == gen.poolCount ? next(b) : BUILD_MORE;
  }
  return indexStage(b, budget);
}

function indexStage(b: StagedBuild, budget: i32): i32 {
  const gen = b.gen;
  if (b.stage == MATCH_HEADER) {
    beginServiceTable(gen);
    return next(b);
  }
  if (b.stage == MATCH || b.stage == NAMES) {
    if (b.stage == NAMES && b.at == 0) {
      let size = 16;
      while (size < gen.spCount * 2) size <<= 1;
      gen.names = new StaticArray<i32>(size);
      gen.nameCount = 0;
    }
    const to = advance(b, gen.spCount, budget);
    for (let s = b.at; s < to; s++) {
      if (b.stage == MATCH) servicePortKeys(gen, s, KEYS_INSERT, 0);
      else insertName(gen, s);
    }
    b.at = to;
    return to == gen.spCount ? next(b) : BUILD_MORE;
  }
  if (b.stage == DELTA_SCRATCH) {
    // Sized now, so the first delta on this generation does not allocate and fill it.
    ensureDeltaRemap(gen, 0);
    return next(b);
  }
  return SNAP_OK;
}

/**
 * Decisions ran on the old generation between the steps: carry again the rr position or wrr cw of
 * every pool whose old state moved after it was carried (the rest of its carry does not read
 * anything decisions change).
 */
function recarryMovedState(b: StagedBuild): void {
  const gen = b.gen;
  const old = b.old;
  for (let p = 0; p < gen.poolCount; p++) {
    const op = unchecked(b.carriedFrom[p]);
    if (op < 0) continue;
    const pos = old.poolWord(op, POOL_POS);
    const cw = old.poolWord(op, POOL_CW);
    if (pos == unchecked(b.seenPos[p]) && cw == unchecked(b.seenCw[p])) continue;
    const sched = gen.poolWord(p, POOL_SCHED) & 0xff;
    if (sched == SCHED_RR) {
      carryRRPosition(gen, p, old, op, b.remap);
      // Its key went into the match table in an earlier step, with the position carried then.
      refreshSlotPosition(gen, p);
    }
    else if (sched == SCHED_WRR && b.wrrCarries.has(p)) gen.setPoolWord(p, POOL_CW, <u32>wrrCarriedCw(old, op, <i32>cw, b.wrrCarries.get(p)));
    else if (sched == SCHED_WRR) {
      gen.setPoolWord(p, POOL_POS, pos);
      gen.setPoolWord(p, POOL_CW, cw);
      gen.setPoolWord(p, POOL_MW, old.poolWord(op, POOL_MW));
      gen.setPoolWord(p, POOL_DI, old.poolWord(op, POOL_DI));
    }
  }
}

let committing: Generation = current;

/** An affinity entry survives a swap while its backend is still a destination of its pool. */
function keepAffinity(pool: i32, b: i32): bool {
  const gen = committing;
  const from = <i32>gen.poolWord(pool, POOL_FAMILY_START);
  if (b < from || b >= <i32>gen.poolWord(pool, POOL_FAMILY_END)) return false;
  return unchecked(gen.memberOf[<i32>gen.poolWord(pool, POOL_INVERSE) + b - from]) >= 0;
}

/**
 * Switches to the built generation: carries flows (recounted; dropped and counted when their
 * destination left its pool, kubernetes #19029) and affinity entries, and makes it current.
 * SNAP_OK, or BUILD_STALE when another load or a delta replaced the generation it was built from.
 */
export function commit(b: StagedBuild): i32 {
  if (b.stage != READY) return BUILD_MORE;
  if (current !== b.old) return BUILD_STALE;
  recarryMovedState(b);
  const gen = b.gen;
  const remap = b.remap;
  gen.id = b.old.id + 1;
  // Fresh epochs (flow-decisions.ts) first: the walk caches each carried flow's new decision.
  renewAllSpEpochs(gen);
  let dropped = 0;
  for (let c: u32 = 0; c < <u32>FLOW_CLASS_COUNT; c++) {
    let cur = flowListHead(c);
    while (cur != 0) {
      const e = <i32>cur - 1;
      cur = flowListNext(e);
      const meta = flowMeta(e);
      const os = <i32>flowMember(e);
      // The same destination of the same virtual service (pool-carry.ts), or the flow goes.
      const ns = os < remap.slotOldToNew.length ? unchecked(remap.slotOldToNew[os]) : -1;
      if (ns < 0) {
        // The removal's backward shift may move the next entry of the walk: follow it.
        flowWatch(cur);
        flowRemove(e);
        cur = flowWatched();
        dropped++;
        continue;
      }
      setFlowMember(e, ns);
      gen.count(ns, (meta & META_ACTIVE) != 0, 1);
      const sp = gen.memberWord(ns, MEMBER_SP);
      setFlowDecision(e, sp, gen.memberWord(ns, MEMBER_LOCAL_INDEX));
    }
  }
  stats.flowsDroppedOnSwap += dropped;
  committing = gen;
  stats.affinitiesDroppedOnSwap += affinityRemap(remap.poolOldToNew, remap.backendOldToNew, keepAffinity);
  setCurrent(gen);
  return SNAP_OK;
}
