/**
 * Places a delta's service ports (delta.ts) into the serving generation. Every per-service-port
 * run of records (backends, hot records, pools, members, member inverse, source ranges) is
 * contiguous, so a replaced service port writes its new runs over its old ones when they fit and
 * appends them at the arrays' high-water marks otherwise (the old runs become garbage, counted,
 * until the next full snapshot). dh/sh/mh tables have fixed sizes and are reused through free
 * lists. Indexes inside the copied records are rebased from the delta's own numbering.
 */
import { Generation } from './generation';
import {
  B_WORDS, H_SP, H_WORDS, HASH_TAB_SIZE, MEMBER_ACTIVE, MEMBER_BACKEND, MEMBER_INACTIVE,
  MEMBER_POOL, MEMBER_SP, MEMBER_WORDS, MH_TAB_SIZE, NO_TABLE, POOL_FAMILY_END, POOL_FAMILY_START, POOL_INVERSE, POOL_MEMBER_COUNT,
  POOL_MEMBER_START, POOL_SCHED, POOL_SP, POOL_TABLE, POOL_WORDS, RANGE_WORDS, SCHED_MH, SP_BACKEND_COUNT,
  SP_BACKEND_START, SP_POOL_COUNT, SP_POOL_START, SP_RANGE_COUNT, SP_RANGE_START, SP_WORDS,
} from './layout';
import { Remap } from './remap';
import { KEYS_INSERT, KEYS_REMOVE, KEYS_RENUMBER, buildServiceTable, keyCount, servicePortKeys } from './service-table';
import { buildNameIndex, insertName, removeName, renumberName } from './names';
import { renewSpEpoch } from './flow-decisions';

/** One op of a delta: the old service port's runs and where the new one goes. */
export class Change {
  /** Old service port index (replace, remove), or -1 (append). */
  old: i32 = -1;
  /** Index of the new record in the delta's own generation (replace, append), or -1 (remove). */
  next: i32 = -1;
  backendStart: i32 = 0;
  backendCount: i32 = 0;
  poolStart: i32 = 0;
  poolCount: i32 = 0;
  memberStart: i32 = 0;
  memberCount: i32 = 0;
  inverseStart: i32 = 0;
  inverseCount: i32 = 0;
  rangeStart: i32 = 0;
  rangeCount: i32 = 0;
  // Where the new runs go (planChanges).
  newBackendStart: i32 = 0;
  newPoolStart: i32 = 0;
  newMemberStart: i32 = 0;
  newInverseStart: i32 = 0;
  newRangeStart: i32 = 0;
  /** Old member slot (memberStart + i) → new global slot, or -1 (the flow goes). */
  slotTo: StaticArray<i32> = new StaticArray<i32>(0);
}

/** Members and inverse entries of the pools [start, start + count) of `gen`: first slot, slots, first inverse, inverse entries. */
function memberRuns(gen: Generation, start: i32, count: i32, out: Change, old: bool): void {
  let members = 0;
  let inverse = 0;
  for (let p = start; p < start + count; p++) {
    members += <i32>gen.poolWord(p, POOL_MEMBER_COUNT);
    inverse += <i32>(gen.poolWord(p, POOL_FAMILY_END) - gen.poolWord(p, POOL_FAMILY_START));
  }
  const memberStart = count > 0 ? <i32>gen.poolWord(start, POOL_MEMBER_START) : 0;
  const inverseStart = count > 0 ? <i32>gen.poolWord(start, POOL_INVERSE) : 0;
  if (old) {
    out.memberStart = memberStart;
    out.memberCount = members;
    out.inverseStart = inverseStart;
    out.inverseCount = inverse;
  } else {
    newRuns.memberStart = memberStart;
    newRuns.memberCount = members;
    newRuns.inverseStart = inverseStart;
    newRuns.inverseCount = inverse;
  }
}

/** The delta generation's runs of the service port being placed (scratch for memberRuns). */
const newRuns = new Change();

/** A Change for old service port `old` (-1: append) and new record `next` (-1: remove). */
export function changeOf(gen: Generation, old: i32, next: i32): Change {
  const ch = new Change();
  ch.old = old;
  ch.next = next;
  if (old < 0) return ch;
  ch.backendStart = <i32>gen.spWord(old, SP_BACKEND_START);
  ch.backendCount = <i32>gen.spWord(old, SP_BACKEND_COUNT);
  ch.poolStart = <i32>gen.spWord(old, SP_POOL_START);
  ch.poolCount = <i32>gen.spWord(old, SP_POOL_COUNT);
  ch.rangeStart = <i32>gen.spWord(old, SP_RANGE_START);
  ch.rangeCount = <i32>gen.spWord(old, SP_RANGE_COUNT);
  memberRuns(gen, ch.poolStart, ch.poolCount, ch, true);
  return ch;
}

/** The remap a delta carries through, sized to the serving generation and kept between deltas (all -1 between uses). */
export let deltaRemap = new Remap(0, 0, 0, 0, 0);

function minusOnes(a: StaticArray<i32>, need: i32): StaticArray<i32> {
  if (a.length >= need) return a;
  const b = new StaticArray<i32>(need + (need >> 2) + 64);
  memory.fill(changetype<usize>(b), 0xff, <usize>b.length << 2);
  return b;
}

/** Sizes `deltaRemap` for `gen` and a delta of `newSps` service ports. */
export function ensureDeltaRemap(gen: Generation, newSps: i32): void {
  const r = deltaRemap;
  r.spOldToNew = minusOnes(r.spOldToNew, gen.spCount);
  r.backendOldToNew = minusOnes(r.backendOldToNew, gen.backendCount);
  r.slotOldToNew = minusOnes(r.slotOldToNew, gen.memberCount);
  r.poolOldToNew = minusOnes(r.poolOldToNew, gen.poolCount);
  r.spNewToOld = new StaticArray<i32>(newSps);
  memory.fill(changetype<usize>(r.spNewToOld), 0xff, <usize>newSps << 2);
}

/** Puts back -1 where the delta wrote (the old runs of its changes). */
export function resetDeltaRemap(changes: Array<Change>): void {
  const r = deltaRemap;
  for (let c = 0; c < changes.length; c++) {
    const ch = unchecked(changes[c]);
    if (ch.old < 0) continue;
    unchecked((r.spOldToNew[ch.old] = -1));
    memory.fill(changetype<usize>(r.backendOldToNew) + (<usize>ch.backendStart << 2), 0xff, <usize>ch.backendCount << 2);
    memory.fill(changetype<usize>(r.slotOldToNew) + (<usize>ch.memberStart << 2), 0xff, <usize>ch.memberCount << 2);
    memory.fill(changetype<usize>(r.poolOldToNew) + (<usize>ch.poolStart << 2), 0xff, <usize>ch.poolCount << 2);
  }
}

/** Where a run of `need` records goes: over the old run when it fits, else at the high-water mark `top`. */
// @ts-ignore: decorator
@inline function place(oldStart: i32, oldCount: i32, need: i32, top: i32): i32 {
  return need <= oldCount && oldCount > 0 ? oldStart : top;
}

/**
 * Decides where every new run goes, moves the high-water marks, counts garbage and fills each
 * change's slot map (old member slot → new global slot) from the carry's `remap`.
 */
export function planChanges(gen: Generation, mini: Generation, changes: Array<Change>, remap: Remap): void {
  for (let c = 0; c < changes.length; c++) {
    const ch = unchecked(changes[c]);
    ch.slotTo = new StaticArray<i32>(ch.memberCount);
    memory.fill(changetype<usize>(ch.slotTo), 0xff, <usize>ch.memberCount << 2);
    if (ch.next < 0) {
      gen.garbageBackends += ch.backendCount;
      gen.garbageMembers += ch.memberCount;
      continue;
    }
    const j = ch.next;
    const backends = <i32>mini.spWord(j, SP_BACKEND_COUNT);
    const pools = <i32>mini.spWord(j, SP_POOL_COUNT);
    const ranges = <i32>mini.spWord(j, SP_RANGE_COUNT);
    memberRuns(mini, <i32>mini.spWord(j, SP_POOL_START), pools, newRuns, false);
    const members = newRuns.memberCount;
    ch.newBackendStart = place(ch.backendStart, ch.backendCount, backends, gen.backendCount);
    if (ch.newBackendStart == gen.backendCount) gen.backendCount += backends;
    ch.newPoolStart = place(ch.poolStart, ch.poolCount, pools, gen.poolCount);
    if (ch.newPoolStart == gen.poolCount) gen.poolCount += pools;
    ch.newMemberStart = place(ch.memberStart, ch.memberCount, members, gen.memberCount);
    if (ch.newMemberStart == gen.memberCount) gen.memberCount += members;
    ch.newInverseStart = place(ch.inverseStart, ch.inverseCount, newRuns.inverseCount, gen.inverseUsed);
    if (ch.newInverseStart == gen.inverseUsed) gen.inverseUsed += newRuns.inverseCount;
    ch.newRangeStart = place(ch.rangeStart, ch.rangeCount, ranges, gen.rangeCount);
    if (ch.newRangeStart == gen.rangeCount) gen.rangeCount += ranges;
    gen.garbageBackends += ch.backendCount - (ch.newBackendStart == ch.backendStart && ch.old >= 0 ? backends : 0);
    gen.garbageMembers += ch.memberCount - (ch.newMemberStart == ch.memberStart && ch.old >= 0 ? members : 0);
    for (let i = 0; i < ch.memberCount; i++) {
      const local = unchecked(remap.slotOldToNew[ch.memberStart + i]);
      if (local >= 0) unchecked((ch.slotTo[i] = ch.newMemberStart + local - newRuns.memberStart));
    }
  }
  growArrays(gen);
}

function grownU32(a: StaticArray<u32>, need: i32): StaticArray<u32> {
  if (a.length >= need) return a;
  const b = new StaticArray<u32>(need + (need >> 2) + 64);
  memory.copy(changetype<usize>(b), changetype<usize>(a), <usize>a.length << 2);
  return b;
}

function grownI32(a: StaticArray<i32>, need: i32): StaticArray<i32> {
  if (a.length >= need) return a;
  const b = new StaticArray<i32>(need + (need >> 2) + 64);
  memory.copy(changetype<usize>(b), changetype<usize>(a), <usize>a.length << 2);
  return b;
}

/** Grows the record arrays to the high-water marks (by a quarter more, so growth is amortized). */
function growArrays(gen: Generation): void {
  gen.backends = grownU32(gen.backends, gen.backendCount * B_WORDS);
  gen.hot = grownU32(gen.hot, gen.backendCount * H_WORDS);
  gen.pools = grownU32(gen.pools, gen.poolCount * POOL_WORDS);
  gen.members = grownU32(gen.members, gen.memberCount * MEMBER_WORDS);
  gen.memberOf = grownI32(gen.memberOf, gen.inverseUsed);
  gen.ranges = grownU32(gen.ranges, gen.rangeCount * RANGE_WORDS);
}

/** Survivors keep their connection counts (their flows stay with them, moveFlows). */
export function carryCounts(gen: Generation, mini: Generation, changes: Array<Change>, remap: Remap): void {
  for (let c = 0; c < changes.length; c++) {
    const ch = unchecked(changes[c]);
    for (let i = 0; i < ch.memberCount; i++) {
      const local = unchecked(remap.slotOldToNew[ch.memberStart + i]);
      if (local < 0 || unchecked(ch.slotTo[i]) < 0) continue;
      mini.setMemberWord(local, MEMBER_ACTIVE, gen.memberWord(ch.memberStart + i, MEMBER_ACTIVE));
      mini.setMemberWord(local, MEMBER_INACTIVE, gen.memberWord(ch.memberStart + i, MEMBER_INACTIVE));
    }
  }
}

/** A dh/sh (256) or mh (4093) table offset for a pool of scheduler `sched`: a freed one, else a new one. */
function tableFor(gen: Generation, sched: u32): i32 {
  const mh = sched == SCHED_MH;
  const free = mh ? gen.freeMHTables : gen.freeHashTables;
  if (free.length > 0) return free.pop();
  const size = mh ? MH_TAB_SIZE : HASH_TAB_SIZE;
  const at = gen.tablesUsed;
  gen.tablesUsed += size;
  if (gen.tables.length < gen.tablesUsed) {
    const need = gen.tablesUsed;
    const b = new StaticArray<u16>(need + (need >> 2) + MH_TAB_SIZE);
    memory.copy(changetype<usize>(b), changetype<usize>(gen.tables), <usize>gen.tables.length << 1);
    gen.tables = b;
  }
  return at;
}

/** Releases the old service port's keys, name and tables (its records are still intact). */
function release(gen: Generation, ch: Change, keys: bool, names: bool): void {
  if (keys) servicePortKeys(gen, ch.old, KEYS_REMOVE, 0);
  if (names) removeName(gen, ch.old);
  for (let p = ch.poolStart; p < ch.poolStart + ch.poolCount; p++) {
    const t = <i32>gen.poolWord(p, POOL_TABLE);
    if (t == <i32>NO_TABLE) continue;
    if ((gen.poolWord(p, POOL_SCHED) & 0xff) == SCHED_MH) gen.freeMHTables.push(t);
    else gen.freeHashTables.push(t);
  }
}

/** Copies `words` u32 words from `from[src]` to `to[dst]` (record runs). */
// @ts-ignore: decorator
@inline function copyWords<T>(to: StaticArray<T>, dst: i32, from: StaticArray<T>, src: i32, words: i32): void {
  memory.copy(changetype<usize>(to) + (<usize>dst << alignof<T>()), changetype<usize>(from) + (<usize>src << alignof<T>()), <usize>words << alignof<T>());
}

/** Writes new record `ch.next` of `mini` as service port `sp` of `gen`, rebasing every index. */
function write(gen: Generation, mini: Generation, ch: Change, sp: i32): void {
  const j = ch.next;
  const mb = <i32>mini.spWord(j, SP_BACKEND_START);
  const backends = <i32>mini.spWord(j, SP_BACKEND_COUNT);
  const mp = <i32>mini.spWord(j, SP_POOL_START);
  const pools = <i32>mini.spWord(j, SP_POOL_COUNT);
  memberRuns(mini, mp, pools, newRuns, false);
  const dBackend = ch.newBackendStart - mb;
  const dPool = ch.newPoolStart - mp;
  const dMember = ch.newMemberStart - newRuns.memberStart;
  copyWords(gen.backends, ch.newBackendStart * B_WORDS, mini.backends, mb * B_WORDS, backends * B_WORDS);
  copyWords(gen.hot, ch.newBackendStart * H_WORDS, mini.hot, mb * H_WORDS, backends * H_WORDS);
  for (let b = ch.newBackendStart; b < ch.newBackendStart + backends; b++) {
    gen.setHotWord(b, H_SP, sp);
  }
  const mr = <i32>mini.spWord(j, SP_RANGE_START);
  copyWords(gen.ranges, ch.newRangeStart * RANGE_WORDS, mini.ranges, mr * RANGE_WORDS, <i32>mini.spWord(j, SP_RANGE_COUNT) * RANGE_WORDS);
  copyWords(gen.members, ch.newMemberStart * MEMBER_WORDS, mini.members, newRuns.memberStart * MEMBER_WORDS, newRuns.memberCount * MEMBER_WORDS);
  for (let s = ch.newMemberStart; s < ch.newMemberStart + newRuns.memberCount; s++) {
    const b = <i32>gen.memberWord(s, MEMBER_BACKEND) + dBackend;
    gen.setMemberWord(s, MEMBER_BACKEND, b);
    gen.setMemberWord(s, MEMBER_POOL, gen.memberWord(s, MEMBER_POOL) + dPool);
    gen.setMemberWord(s, MEMBER_SP, sp);
  }
  for (let i = 0; i < newRuns.inverseCount; i++) {
    const m = unchecked(mini.memberOf[newRuns.inverseStart + i]);
    unchecked((gen.memberOf[ch.newInverseStart + i] = m < 0 ? -1 : m + dMember));
  }
  copyWords(gen.pools, ch.newPoolStart * POOL_WORDS, mini.pools, mp * POOL_WORDS, pools * POOL_WORDS);
  for (let p = ch.newPoolStart; p < ch.newPoolStart + pools; p++) {
    gen.setPoolWord(p, POOL_MEMBER_START, gen.poolWord(p, POOL_MEMBER_START) + dMember);
    gen.setPoolWord(p, POOL_SP, sp);
    gen.setPoolWord(p, POOL_FAMILY_START, gen.poolWord(p, POOL_FAMILY_START) + dBackend);
    gen.setPoolWord(p, POOL_FAMILY_END, gen.poolWord(p, POOL_FAMILY_END) + dBackend);
    gen.setPoolWord(p, POOL_INVERSE, gen.poolWord(p, POOL_INVERSE) - newRuns.inverseStart + ch.newInverseStart);
    const mt = <i32>gen.poolWord(p, POOL_TABLE);
    if (mt == <i32>NO_TABLE) continue;
    const sched = gen.poolWord(p, POOL_SCHED) & 0xff;
    const t = tableFor(gen, sched);
    copyWords(gen.tables, t, mini.tables, mt, sched == SCHED_MH ? MH_TAB_SIZE : HASH_TAB_SIZE);
    gen.setPoolWord(p, POOL_TABLE, t);
  }
  copyWords(gen.sps, sp * SP_WORDS, mini.sps, j * SP_WORDS, SP_WORDS);
  unchecked((gen.sps[sp * SP_WORDS + SP_BACKEND_START] = ch.newBackendStart));
  unchecked((gen.sps[sp * SP_WORDS + SP_POOL_START] = ch.newPoolStart));
  unchecked((gen.sps[sp * SP_WORDS + SP_RANGE_START] = ch.newRangeStart));
}

/** Moves service port `from`'s record to index `to` (removal fills its hole with the last one). */
function renumber(gen: Generation, from: i32, to: i32, keys: bool, names: bool): void {
  if (keys) servicePortKeys(gen, from, KEYS_RENUMBER, to);
  if (names) renumberName(gen, from, to);
  copyWords(gen.sps, to * SP_WORDS, gen.sps, from * SP_WORDS, SP_WORDS);
  const b0 = <i32>gen.spWord(to, SP_BACKEND_START);
  for (let b = b0; b < b0 + <i32>gen.spWord(to, SP_BACKEND_COUNT); b++) gen.setHotWord(b, H_SP, to);
  const p0 = <i32>gen.spWord(to, SP_POOL_START);
  for (let p = p0; p < p0 + <i32>gen.spWord(to, SP_POOL_COUNT); p++) {
    gen.setPoolWord(p, POOL_SP, to);
    const m0 = <i32>gen.poolWord(p, POOL_MEMBER_START);
    for (let m = m0; m < m0 + <i32>gen.poolWord(p, POOL_MEMBER_COUNT); m++) gen.setMemberWord(m, MEMBER_SP, to);
  }
}

/**
 * Applies the planned changes: releases the old service ports' keys, names and tables, writes
 * replaced and appended records, then removes in descending index order. When the match table
 * or the name index would pass load factor 1/2 it is rebuilt once at the end instead.
 */
export function writeChanges(gen: Generation, mini: Generation, changes: Array<Change>): void {
  let keys = gen.matchKeys;
  let names = gen.nameCount;
  let appends = 0;
  for (let c = 0; c < changes.length; c++) {
    const ch = unchecked(changes[c]);
    if (ch.old >= 0) {
      keys -= keyCount(gen, ch.old);
      names--;
    }
    if (ch.next >= 0) {
      keys += keyCount(mini, ch.next);
      names++;
    }
    if (ch.old < 0) appends++;
  }
  const keysFit = <i64>keys * 2 <= <i64>gen.matchMask + 1;
  const namesFit = names * 2 <= gen.names.length;
  gen.sps = grownU32(gen.sps, (gen.spCount + appends) * SP_WORDS);
  gen.spEpochs = grownU32(gen.spEpochs, gen.spCount + appends);
  for (let c = 0; c < changes.length; c++) {
    const ch = unchecked(changes[c]);
    if (ch.old >= 0) release(gen, ch, keysFit, namesFit);
  }
  for (let c = 0; c < changes.length; c++) {
    const ch = unchecked(changes[c]);
    if (ch.next < 0) continue;
    const sp = ch.old >= 0 ? ch.old : gen.spCount++;
    // A new index: no flow's cache may match it (flow-decisions.ts).
    if (ch.old < 0) renewSpEpoch(gen, sp);
    write(gen, mini, ch, sp);
    if (keysFit) servicePortKeys(gen, sp, KEYS_INSERT, 0);
    if (namesFit) insertName(gen, sp);
  }
  // Removes, highest index first, so the last record never is one still to be removed.
  const removes = new Array<i32>();
  for (let c = 0; c < changes.length; c++) if (unchecked(changes[c]).next < 0) removes.push(unchecked(changes[c]).old);
  removes.sort((a: i32, b: i32): i32 => b - a);
  for (let r = 0; r < removes.length; r++) {
    const t = unchecked(removes[r]);
    const last = gen.spCount - 1;
    if (t != last) {
      renumber(gen, last, t, keysFit, namesFit);
      // Every index whose occupant changes gets a new epoch (flow-decisions.ts). The moved service port's
      // flows cached `last`: out of range now, and renewed when an append takes it again.
      renewSpEpoch(gen, t);
    }
    gen.spCount--;
  }
  if (!keysFit) buildServiceTable(gen, <i64>keys);
  if (!namesFit) gen.names = buildNameIndex(gen, names);
}
