/**
 * The flow table: 5-tuple → member slot (backend), like an IPVS connection entry. Preallocated at init with a
 * fixed capacity (like nf_conntrack_max) in raw linear memory: a slab of entries that never move,
 * plus an open-addressing index (linear probing, backward-shift deletion) at load factor ≤ 3/4.
 * Entries sit on one LRU list per timeout class, most recently used at the head, so expiry pops
 * expired tails in O(expired) and eviction takes an expired tail, else the least recently used one, in O(1).
 *
 *   entry (FLOW_SIZE = 56 bytes):
 *   0        16       32      36     40        44     48     52        56
 *   +--------+--------+-------+------+---------+------+------+---------+
 *   | src    | dst    | sport | meta | member  | prev | next | last    |
 *   | w0..w3 | w0..w3 | dport |      | slot    | (+1) | (+1) | used ms |
 *   +--------+--------+-------+------+---------+------+------+---------+
 *   member slot: the destination of the virtual service (pool) the flow was admitted through,
 *   in the serving generation (pools.ts), whose counters the flow is counted in
 *   meta: protocol (8) | src v6 (bit 8) | dst v6 (bit 9) | class (bits 10-12) | active (bit 13)
 *         | in use (bit 31)
 *
 *   index slot (u32): 0 = empty, else hash tag (top 8 bits) << 24 | entry + 1
 */
import { MAX_PROBE, finishNH, nhTerm, probeFits, tableKey } from './hash';
import { Generation } from './generation';
import { H_ACTIVE, H_INACTIVE, H_WORDS, MEMBER_ACTIVE, MEMBER_BACKEND, MEMBER_INACTIVE, MEMBER_WORDS } from './layout';
import { CLASS_TCP_SYN, FLOW_CLASS_COUNT, current, elapsed, stats, timeoutMs } from './state';

// @ts-ignore: decorator
@inline export const FLOW_SIZE: usize = 56;
/** Largest capacity: entry numbers must fit in the index slot's low 24 bits. */
// @ts-ignore: decorator
@inline export const MAX_FLOW_CAPACITY: i32 = (1 << 24) - 2;
// @ts-ignore: decorator
@inline const KEY_META_MASK: u32 = 0x3ff;
// @ts-ignore: decorator
@inline export const META_ACTIVE: u32 = 1 << 13;
// @ts-ignore: decorator
@inline const META_USED: u32 = 1 << 31;

let slab: usize = 0;
let index: usize = 0;
let indexMask: u32 = 0;
let capacity: i32 = 0;
let count: i32 = 0;
/** Free entries, linked through their `next` word (entry + 1; 0 = end). */
let freeHead: u32 = 0;
/**
 * LRU list heads and tails per class (entry + 1; 0 = empty), 4 u32 each in static memory: a
 * managed StaticArray here would cost every caller a shadow stack frame.
 */
const HEADS: usize = memory.data(4 * FLOW_CLASS_COUNT, 4);
const TAILS: usize = memory.data(4 * FLOW_CLASS_COUNT, 4);
// @ts-ignore: decorator
@inline function headOf(cls: u32): u32 {
  return load<u32>(HEADS + (<usize>cls << 2));
}
// @ts-ignore: decorator
@inline function setHead(cls: u32, e1: u32): void {
  store<u32>(HEADS + (<usize>cls << 2), e1);
}
// @ts-ignore: decorator
@inline function tailOf(cls: u32): u32 {
  return load<u32>(TAILS + (<usize>cls << 2));
}
// @ts-ignore: decorator
@inline function setTail(cls: u32, e1: u32): void {
  store<u32>(TAILS + (<usize>cls << 2), e1);
}

// @ts-ignore: decorator
@inline export function flowPtr(e: i32): usize {
  return slab + <usize>e * FLOW_SIZE;
}

export function flowCount(): i32 {
  return count;
}

export function flowCapacity(): i32 {
  return capacity;
}

/** Bytes of linear memory the table uses (slab + index). */
export function flowTableBytes(): usize {
  return <usize>capacity * FLOW_SIZE + (<usize>indexMask + 1) * 4;
}

/** (Re)allocates the table for `cap` entries; every flow is forgotten. */
export function flowsInit(cap: i32): void {
  if (cap < 1) cap = 1;
  if (cap > MAX_FLOW_CAPACITY) cap = MAX_FLOW_CAPACITY;
  if (slab != 0) heap.free(slab);
  if (index != 0) heap.free(index);
  let slots: u32 = 16;
  while (<u64>slots * 3 < <u64>cap * 4) slots <<= 1;
  capacity = cap;
  slab = heap.alloc(<usize>cap * FLOW_SIZE);
  index = heap.alloc(<usize>slots * 4);
  indexMask = slots - 1;
  memory.fill(index, 0, <usize>slots * 4);
  memory.fill(slab, 0, <usize>cap * FLOW_SIZE);
  for (let e = 0; e < cap; e++) store<u32>(flowPtr(e), e + 2 <= cap ? <u32>(e + 2) : 0, 48);
  freeHead = 1;
  count = 0;
  for (let c = 0; c < FLOW_CLASS_COUNT; c++) {
    setHead(c, 0);
    setTail(c, 0);
  }
}

/**
 * Hash of a flow key (protocol and families in `keyMeta`): an NH sum over the key's ten words
 * (hash.ts nhTerm, the secret table key), then finishNH. The pairs put each IPv4 key word (s0, d0,
 * ports) with a different partner, so IPv4 keys, whose other words are 0, still mix every bit.
 */
// @ts-ignore: decorator
@inline export function flowHash(keyMeta: u32, s0: u32, s1: u32, s2: u32, s3: u32, ports: u32, d0: u32, d1: u32, d2: u32, d3: u32): u32 {
  return finishNH(
    nhTerm(s0, tableKey(0), ports, tableKey(1)) +
    nhTerm(d0, tableKey(2), keyMeta, tableKey(3)) +
    nhTerm(s1, tableKey(4), s2, tableKey(5)) +
    nhTerm(s3, tableKey(6), d1, tableKey(7)) +
    nhTerm(d2, tableKey(8), d3, tableKey(9)) +
    (<u64>(s0 ^ tableKey(10)) << 32 | <u64>(d0 ^ tableKey(11))));
}

function entryHash(p: usize): u32 {
  return flowHash(load<u32>(p, 36) & KEY_META_MASK, load<u32>(p), load<u32>(p, 4), load<u32>(p, 8), load<u32>(p, 12),
    load<u32>(p, 32), load<u32>(p, 16), load<u32>(p, 20), load<u32>(p, 24), load<u32>(p, 28));
}

/** The entry holding this key, or -1. `hash` is flowHash of the same key. At most MAX_PROBE + 1 slots. */
// @ts-ignore: decorator
@inline export function flowFind(hash: u32, keyMeta: u32, s0: u32, s1: u32, s2: u32, s3: u32, ports: u32, d0: u32, d1: u32, d2: u32, d3: u32): i32 {
  const tag = hash & 0xff000000;
  let i = hash & indexMask;
  for (let n: u32 = 0; n <= MAX_PROBE; n++) {
    const slot = load<u32>(index + (<usize>i << 2));
    if (slot == 0) return -1;
    if ((slot & 0xff000000) == tag) {
      const e = <i32>(slot & 0xffffff) - 1;
      const p = flowPtr(e);
      if (load<u32>(p) == s0 && load<u32>(p, 32) == ports && load<u32>(p, 16) == d0 &&
          (load<u32>(p, 36) & KEY_META_MASK) == keyMeta && load<u32>(p, 4) == s1 && load<u32>(p, 8) == s2 &&
          load<u32>(p, 12) == s3 && load<u32>(p, 20) == d1 && load<u32>(p, 24) == d2 && load<u32>(p, 28) == d3) {
        return e;
      }
    }
    i = (i + 1) & indexMask;
  }
  return -1;
}

function listUnlink(e: i32, cls: u32): void {
  const p = flowPtr(e);
  const prev = load<u32>(p, 44);
  const next = load<u32>(p, 48);
  if (prev != 0) store<u32>(flowPtr(<i32>prev - 1), next, 48);
  else setHead(cls, next);
  if (next != 0) store<u32>(flowPtr(<i32>next - 1), prev, 44);
  else setTail(cls, prev);
}

function listPushHead(e: i32, cls: u32): void {
  const p = flowPtr(e);
  const head = headOf(cls);
  store<u32>(p, 0, 44);
  store<u32>(p, head, 48);
  if (head != 0) store<u32>(flowPtr(<i32>head - 1), <u32>(e + 1), 44);
  else setTail(cls, <u32>(e + 1));
  setHead(cls, <u32>(e + 1));
}

// @ts-ignore: decorator
@inline export function flowClass(meta: u32): u32 {
  return (meta >>> 10) & 7;
}

/** Refreshes an entry: last used = now, moved to the head of (possibly another) class list. */
export function flowTouch(e: i32, now: u32, cls: u32): void {
  const p = flowPtr(e);
  const meta = load<u32>(p, 36);
  const old = flowClass(meta);
  store<u32>(p, now, 52);
  if (old == cls && headOf(cls) == <u32>(e + 1)) return;
  listUnlink(e, old);
  store<u32>(p, (meta & ~(<u32>7 << 10)) | (cls << 10), 36);
  listPushHead(e, cls);
}

/**
 * Releases an entry's count from its member (and the member's backend total) when it goes away.
 * Reads the serving generation through raw pointers: holding `current` in a local would give
 * flowRemove a shadow stack frame (a memory.fill per call) under the incremental runtime.
 */
// @ts-ignore: decorator
@inline export function uncount(slot: u32, meta: u32): void {
  const gen = changetype<usize>(current);
  if (slot >= <u32>load<i32>(gen + offsetof<Generation>('memberCount'))) return;
  const active = (meta & META_ACTIVE) != 0;
  const members = load<usize>(gen + offsetof<Generation>('members'));
  const m = members + ((<usize>slot * MEMBER_WORDS + (active ? MEMBER_ACTIVE : MEMBER_INACTIVE)) << 2);
  store<u32>(m, load<u32>(m) - 1);
  const backend = load<u32>(members + ((<usize>slot * MEMBER_WORDS + MEMBER_BACKEND) << 2));
  const h = load<usize>(gen + offsetof<Generation>('hot')) + ((<usize>backend * H_WORDS + (active ? H_ACTIVE : H_INACTIVE)) << 2);
  store<u32>(h, load<u32>(h) - 1);
}

/** Removes entry `e`: index slot (backward shift), list, counters; the entry goes to the free list. */
export function flowRemove(e: i32): void {
  const p = flowPtr(e);
  const meta = load<u32>(p, 36);
  uncount(load<u32>(p, 40), meta);
  let i = entryHash(p) & indexMask;
  const mine = <u32>(e + 1);
  while ((load<u32>(index + (<usize>i << 2)) & 0xffffff) != mine) i = (i + 1) & indexMask;
  let j = i;
  while (true) {
    j = (j + 1) & indexMask;
    const slot = load<u32>(index + (<usize>j << 2));
    if (slot == 0) break;
    const k = entryHash(flowPtr(<i32>(slot & 0xffffff) - 1)) & indexMask;
    // Move slot j back into the hole at i unless its home k lies cyclically in (i, j].
    const between = i <= j ? k > i && k <= j : k > i || k <= j;
    if (!between) {
      store<u32>(index + (<usize>i << 2), slot);
      i = j;
    }
  }
  store<u32>(index + (<usize>i << 2), 0);
  listUnlink(e, flowClass(meta));
  store<u32>(p, 0, 36);
  store<u32>(p, freeHead, 48);
  freeHead = mine;
  count--;
}

/**
 * The entry a full table gives up (issue 10), as IPVS's ip_vs_random_dropentry and conntrack's
 * early drop choose: an expired one first — the class tail furthest past its class timeout (each
 * class list is in last-use order under one timeout, so its tail is its most overdue entry) —
 * then the least recently used embryonic (SYN_RECV) one, so a SYN flood cannot push out
 * established connections, then the least recently used tail. Ties go to the lower class.
 * -1 when empty.
 */
function victim(now: u32): i32 {
  let expired = -1;
  let expiredOver: i32 = 0;
  let lru = -1;
  let lruAge: i32 = -1;
  for (let c = 0; c < FLOW_CLASS_COUNT; c++) {
    const t = tailOf(c);
    if (t == 0) continue;
    const age = <i32>(now - load<u32>(flowPtr(<i32>t - 1), 52));
    const over = age - <i32>unchecked(timeoutMs[c]);
    if (over >= 0 && (expired < 0 || over > expiredOver)) {
      expired = <i32>t - 1;
      expiredOver = over;
    }
    if (lru < 0 || age > lruAge) {
      lru = <i32>t - 1;
      lruAge = age;
    }
  }
  if (expired >= 0) return expired;
  const syn = tailOf(CLASS_TCP_SYN);
  return syn != 0 ? <i32>syn - 1 : lru;
}

/**
 * Inserts a key that `flowFind` did not find, evicting one entry (`victim`) when the table is full
 * (an expired one counts as an expiration, not an eviction). Returns the entry, or -1 when the
 * key's probe chain is already MAX_PROBE long: the key is not tracked (nothing changes; counted in
 * `flowsUntracked`).
 */
export function flowInsert(hash: u32, keyMeta: u32, s0: u32, s1: u32, s2: u32, s3: u32, ports: u32, d0: u32, d1: u32, d2: u32, d3: u32,
  flags: u32, cls: u32, slot: u32, now: u32): i32 {
  if (!probeFits(index, indexMask, hash)) {
    stats.flowsUntracked++;
    return -1;
  }
  if (count >= capacity) {
    const v = victim(now);
    const vp = flowPtr(v);
    if (elapsed(now, load<u32>(vp, 52), unchecked(timeoutMs[flowClass(load<u32>(vp, 36))]))) stats.flowExpirations++;
    else stats.flowEvictions++;
    flowRemove(v);
  }
  const e = <i32>freeHead - 1;
  const p = flowPtr(e);
  freeHead = load<u32>(p, 48);
  store<u32>(p, s0);
  store<u32>(p, s1, 4);
  store<u32>(p, s2, 8);
  store<u32>(p, s3, 12);
  store<u32>(p, d0, 16);
  store<u32>(p, d1, 20);
  store<u32>(p, d2, 24);
  store<u32>(p, d3, 28);
  store<u32>(p, ports, 32);
  store<u32>(p, keyMeta | flags | (cls << 10) | META_USED, 36);
  store<u32>(p, slot, 40);
  store<u32>(p, now, 52);
  listPushHead(e, cls);
  let i = hash & indexMask;
  while (load<u32>(index + (<usize>i << 2)) != 0) i = (i + 1) & indexMask;
  store<u32>(index + (<usize>i << 2), (hash & 0xff000000) | <u32>(e + 1));
  count++;
  return e;
}

/** Whether entry `e` has outlived its class timeout at `now`. */
// @ts-ignore: decorator
@inline export function flowExpired(e: i32, now: u32): bool {
  const p = flowPtr(e);
  return elapsed(now, load<u32>(p, 52), unchecked(timeoutMs[flowClass(load<u32>(p, 36))]));
}

/** Removes every expired entry (tails of each class list); returns how many. */
export function flowsExpire(now: u32): i32 {
  let removed = 0;
  for (let c: u32 = 0; c < <u32>FLOW_CLASS_COUNT; c++) {
    const span = unchecked(timeoutMs[c]);
    while (true) {
      const t = tailOf(c);
      if (t == 0) break;
      const e = <i32>t - 1;
      if (!elapsed(now, load<u32>(flowPtr(e), 52), span)) break;
      flowRemove(e);
      removed++;
    }
  }
  stats.flowExpirations += removed;
  return removed;
}

/** First entry of class list `cls` (entry + 1, 0 = none), for walks that may remove entries. */
export function flowListHead(cls: u32): u32 {
  return headOf(cls);
}

/** Next entry after `e` on its list (entry + 1, 0 = end). */
export function flowListNext(e: i32): u32 {
  return load<u32>(flowPtr(e), 48);
}

/** Diagnostics: total probe distance of every indexed entry from its home slot. */
export function flowIndexDisplacement(): u64 {
  let total: u64 = 0;
  for (let i: u32 = 0; i <= indexMask; i++) {
    const slot = load<u32>(index + (<usize>i << 2));
    if (slot == 0) continue;
    const home = entryHash(flowPtr(<i32>(slot & 0xffffff) - 1)) & indexMask;
    total += <u64>((i - home) & indexMask);
  }
  return total;
}
