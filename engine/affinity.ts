/**
 * The ClientIP affinity table: (pool, client address) → backend, like an IPVS persistence
 * template (reference/ipvs-schedulers.md §8.2), which is per virtual service: a pool is one service
 * address (pools.ts), so a client pinned through the clusterIP is not pinned through an externalIP
 * (issue 17). Timeouts are the service port's timeoutSeconds. Same structure as flows.ts: a
 * preallocated slab and an open-addressing index (backward-shift deletion), with one LRU list per
 * distinct timeout (up to AFFINITY_TIMEOUT_LISTS, then one mixed overflow list), so expiry pops
 * expired tails in O(expired) (issue 10) and a full table finds its most overdue entry among the
 * list tails. A touch sequence number orders entries across lists (least recently used = oldest
 * sequence). Lookups treat an expired entry as absent.
 *
 *   entry (AFF_SIZE = 56 bytes):
 *   0    4       8          24        28         32          36     40     44       48    52
 *   +----+-------+----------+---------+----------+-----------+------+------+--------+-----+------+
 *   |pool| family| w0..w3   | backend | last used| timeout ms| prev | next | list+1 | seq | resv |
 *   +----+-------+----------+---------+----------+-----------+------+------+--------+-----+------+
 *   list+1: 0 = free entry
 */
import { MAX_PROBE, finishNH, nhTerm, probeFits, tableKey } from './hash';
import { elapsed, stats } from './state';

// @ts-ignore: decorator
@inline const AFF_SIZE: usize = 56;
/** LRU lists with one timeout each; more distinct live timeouts share the overflow list. */
// @ts-ignore: decorator
@inline export const AFFINITY_TIMEOUT_LISTS: i32 = 16;
/** The mixed-timeout list: expired entries are found by walking it. */
// @ts-ignore: decorator
@inline const OVERFLOW_LIST: i32 = AFFINITY_TIMEOUT_LISTS;
// @ts-ignore: decorator
@inline const LISTS: i32 = AFFINITY_TIMEOUT_LISTS + 1;
/** Per list: head and tail (entry + 1; 0 = empty) and timeout in ms (0 = list free), static memory. */
const LIST_HEAD: usize = memory.data(4 * LISTS, 4);
const LIST_TAIL: usize = memory.data(4 * LISTS, 4);
const LIST_TIMEOUT: usize = memory.data(4 * LISTS, 4);
/** Touch sequence: larger = more recently used (compared wrap-safe). */
let seq: u32 = 0;

// @ts-ignore: decorator
@inline function listWord(base: usize, l: i32): u32 {
  return load<u32>(base + (<usize>l << 2));
}
// @ts-ignore: decorator
@inline function setListWord(base: usize, l: i32, v: u32): void {
  store<u32>(base + (<usize>l << 2), v);
}
// @ts-ignore: decorator
@inline export const MAX_AFFINITY_CAPACITY: i32 = (1 << 24) - 2;

let slab: usize = 0;
let index: usize = 0;
let indexMask: u32 = 0;
let capacity: i32 = 0;
let count: i32 = 0;
let freeHead: u32 = 0;

// @ts-ignore: decorator
@inline export function affPtr(e: i32): usize {
  return slab + <usize>e * AFF_SIZE;
}

export function affinityCount(): i32 {
  return count;
}

export function affinityCapacity(): i32 {
  return capacity;
}

export function affinityInit(cap: i32): void {
  if (cap < 1) cap = 1;
  if (cap > MAX_AFFINITY_CAPACITY) cap = MAX_AFFINITY_CAPACITY;
  if (slab != 0) heap.free(slab);
  if (index != 0) heap.free(index);
  let slots: u32 = 16;
  while (<u64>slots * 3 < <u64>cap * 4) slots <<= 1;
  capacity = cap;
  slab = heap.alloc(<usize>cap * AFF_SIZE);
  index = heap.alloc(<usize>slots * 4);
  indexMask = slots - 1;
  memory.fill(index, 0, <usize>slots * 4);
  memory.fill(slab, 0, <usize>cap * AFF_SIZE);
  for (let e = 0; e < cap; e++) store<u32>(affPtr(e), e + 2 <= cap ? <u32>(e + 2) : 0, 40);
  freeHead = 1;
  count = 0;
  memory.fill(LIST_HEAD, 0, 4 * LISTS);
  memory.fill(LIST_TAIL, 0, 4 * LISTS);
  memory.fill(LIST_TIMEOUT, 0, 4 * LISTS);
  seq = 0;
}

/** The list for entries of this timeout: its own, a free one claimed for it, or the overflow list. */
function listFor(timeout: u32): i32 {
  let free = -1;
  for (let l = 0; l < AFFINITY_TIMEOUT_LISTS; l++) {
    const t = listWord(LIST_TIMEOUT, l);
    if (t == timeout) return l;
    if (t == 0 && free < 0) free = l;
  }
  if (free < 0) return OVERFLOW_LIST;
  setListWord(LIST_TIMEOUT, free, timeout);
  return free;
}

/** Hash of an affinity key: an NH sum over its six words (as flows.ts flowHash), then finishNH. */
// @ts-ignore: decorator
@inline export function affinityHash(pool: u32, family: u32, w0: u32, w1: u32, w2: u32, w3: u32): u32 {
  return finishNH(
    nhTerm(w0, tableKey(12), pool, tableKey(13)) +
    nhTerm(w1, tableKey(14), family, tableKey(15)) +
    nhTerm(w2, tableKey(4), w3, tableKey(9)) +
    (<u64>(w0 ^ tableKey(10)) << 32 | <u64>(pool ^ tableKey(11))));
}

function entryHash(p: usize): u32 {
  return entryHashWith(p, load<u32>(p));
}

/** An entry's hash were its pool `pool` (a swap renumbers pools). */
function entryHashWith(p: usize, pool: u32): u32 {
  return affinityHash(pool, load<u32>(p, 4), load<u32>(p, 8), load<u32>(p, 12), load<u32>(p, 16), load<u32>(p, 20));
}

export function affinityFind(hash: u32, pool: u32, family: u32, w0: u32, w1: u32, w2: u32, w3: u32): i32 {
  const tag = hash & 0xff000000;
  let i = hash & indexMask;
  for (let n: u32 = 0; n <= MAX_PROBE; n++) {
    const slot = load<u32>(index + (<usize>i << 2));
    if (slot == 0) return -1;
    if ((slot & 0xff000000) == tag) {
      const e = <i32>(slot & 0xffffff) - 1;
      const p = affPtr(e);
      if (load<u32>(p) == pool && load<u32>(p, 8) == w0 && load<u32>(p, 4) == family && load<u32>(p, 12) == w1 &&
          load<u32>(p, 16) == w2 && load<u32>(p, 20) == w3) return e;
    }
    i = (i + 1) & indexMask;
  }
  return -1;
}

/** Unlinks `e` from its list; a timeout list left empty is freed for another timeout. */
function unlink(e: i32): void {
  const p = affPtr(e);
  const l = <i32>load<u32>(p, 44) - 1;
  const prev = load<u32>(p, 36);
  const next = load<u32>(p, 40);
  if (prev != 0) store<u32>(affPtr(<i32>prev - 1), next, 40);
  else setListWord(LIST_HEAD, l, next);
  if (next != 0) store<u32>(affPtr(<i32>next - 1), prev, 36);
  else setListWord(LIST_TAIL, l, prev);
  if (listWord(LIST_HEAD, l) == 0 && l != OVERFLOW_LIST) setListWord(LIST_TIMEOUT, l, 0);
}

/** Puts `e` at the head of list `l`, as the most recently used (next sequence number). */
function pushHead(e: i32, l: i32): void {
  const p = affPtr(e);
  const head = listWord(LIST_HEAD, l);
  store<u32>(p, <u32>(l + 1), 44);
  store<u32>(p, ++seq, 48);
  store<u32>(p, 0, 36);
  store<u32>(p, head, 40);
  if (head != 0) store<u32>(affPtr(<i32>head - 1), <u32>(e + 1), 36);
  else setListWord(LIST_TAIL, l, <u32>(e + 1));
  setListWord(LIST_HEAD, l, <u32>(e + 1));
}

function indexInsert(hash: u32, e: i32): void {
  let i = hash & indexMask;
  while (load<u32>(index + (<usize>i << 2)) != 0) i = (i + 1) & indexMask;
  store<u32>(index + (<usize>i << 2), (hash & 0xff000000) | <u32>(e + 1));
}

/** Re-arms an entry (a new connection used it): last used = now, to its list's head. */
export function affinityTouch(e: i32, now: u32): void {
  const p = affPtr(e);
  store<u32>(p, now, 28);
  const l = <i32>load<u32>(p, 44) - 1;
  if (listWord(LIST_HEAD, l) == <u32>(e + 1)) {
    store<u32>(p, ++seq, 48);
    return;
  }
  unlink(e);
  pushHead(e, l);
}

export function affinityRemove(e: i32): void {
  const p = affPtr(e);
  let i = entryHash(p) & indexMask;
  const mine = <u32>(e + 1);
  while ((load<u32>(index + (<usize>i << 2)) & 0xffffff) != mine) i = (i + 1) & indexMask;
  let j = i;
  while (true) {
    j = (j + 1) & indexMask;
    const slot = load<u32>(index + (<usize>j << 2));
    if (slot == 0) break;
    const k = entryHash(affPtr(<i32>(slot & 0xffffff) - 1)) & indexMask;
    const between = i <= j ? k > i && k <= j : k > i || k <= j;
    if (!between) {
      store<u32>(index + (<usize>i << 2), slot);
      i = j;
    }
  }
  store<u32>(index + (<usize>i << 2), 0);
  unlink(e);
  store<u32>(p, 0, 44);
  store<u32>(p, freeHead, 40);
  freeHead = mine;
  count--;
}

// @ts-ignore: decorator
@inline export function affinityExpired(e: i32, now: u32): bool {
  const p = affPtr(e);
  return elapsed(now, load<u32>(p, 28), load<u32>(p, 32));
}

/** Whether sequence `a` is older (less recently used) than `b`, wrap-safe. */
// @ts-ignore: decorator
@inline function olderSeq(a: u32, b: u32): bool {
  return <i32>(a - b) < 0;
}

/**
 * The entry a full table gives up (issue 10): the one furthest past its own service port's
 * timeout (each timeout list's tail is its most overdue entry; ties: the less recently used),
 * else the least recently used (the oldest sequence among the list tails).
 */
function evictionVictim(now: u32): i32 {
  let best = -1;
  let bestOver: i32 = 0;
  let lru = -1;
  for (let l = 0; l < LISTS; l++) {
    const t = listWord(LIST_TAIL, l);
    if (t == 0) continue;
    const e = <i32>t - 1;
    const p = affPtr(e);
    const s = load<u32>(p, 48);
    const over = <i32>(now - load<u32>(p, 28)) - <i32>load<u32>(p, 32);
    if (over >= 0 && (best < 0 || over > bestOver || (over == bestOver && olderSeq(s, load<u32>(affPtr(best), 48))))) {
      best = e;
      bestOver = over;
    }
    if (lru < 0 || olderSeq(s, load<u32>(affPtr(lru), 48))) lru = e;
  }
  return best >= 0 ? best : lru;
}

/**
 * Inserts a new entry, evicting one (evictionVictim) when full. Returns it, or -1 when the key's
 * probe chain is already MAX_PROBE long: the client is not pinned (counted in affinitiesUntracked).
 */
export function affinityInsert(hash: u32, pool: u32, family: u32, w0: u32, w1: u32, w2: u32, w3: u32, backend: u32, timeout: u32, now: u32): i32 {
  if (!probeFits(index, indexMask, hash)) {
    stats.affinitiesUntracked++;
    return -1;
  }
  if (count >= capacity) {
    const victim = evictionVictim(now);
    if (affinityExpired(victim, now)) stats.affinityExpirations++;
    else stats.affinityEvictions++;
    affinityRemove(victim);
  }
  const e = <i32>freeHead - 1;
  const p = affPtr(e);
  freeHead = load<u32>(p, 40);
  store<u32>(p, pool);
  store<u32>(p, family, 4);
  store<u32>(p, w0, 8);
  store<u32>(p, w1, 12);
  store<u32>(p, w2, 16);
  store<u32>(p, w3, 20);
  store<u32>(p, backend, 24);
  store<u32>(p, now, 28);
  store<u32>(p, timeout, 32);
  pushHead(e, listFor(timeout));
  indexInsert(hash, e);
  count++;
  return e;
}

/**
 * Removes every expired entry; returns how many. O(expired) per timeout list (each pops its
 * expired tail), plus a walk of the overflow list when more than AFFINITY_TIMEOUT_LISTS distinct
 * timeouts are live.
 */
export function affinityExpire(now: u32): i32 {
  let removed = 0;
  for (let l = 0; l < AFFINITY_TIMEOUT_LISTS; l++) {
    let t = listWord(LIST_TAIL, l);
    while (t != 0 && affinityExpired(<i32>t - 1, now)) {
      affinityRemove(<i32>t - 1);
      removed++;
      t = listWord(LIST_TAIL, l);
    }
  }
  let cur = listWord(LIST_HEAD, OVERFLOW_LIST);
  while (cur != 0) {
    const e = <i32>cur - 1;
    cur = load<u32>(affPtr(e), 40);
    if (affinityExpired(e, now)) {
      affinityRemove(e);
      removed++;
    }
  }
  stats.affinityExpirations += removed;
  return removed;
}

/**
 * Snapshot swap: rewrites every entry's pool and backend through the maps (-1 = gone, entry
 * dropped; `keep(pool, backend)` false = dropped too) and rebuilds the index, since the pool is
 * part of the key.
 */
export function affinityRemap(poolOldToNew: StaticArray<i32>, backendOldToNew: StaticArray<i32>, keep: (pool: i32, b: i32) => bool): i32 {
  memory.fill(index, 0, (<usize>indexMask + 1) * 4);
  let dropped = 0;
  for (let l = 0; l < LISTS; l++) dropped += remapList(l, poolOldToNew, backendOldToNew, keep);
  return dropped;
}

function remapList(l: i32, poolOldToNew: StaticArray<i32>, backendOldToNew: StaticArray<i32>, keep: (pool: i32, b: i32) => bool): i32 {
  let dropped = 0;
  let cur = listWord(LIST_HEAD, l);
  while (cur != 0) {
    const e = <i32>cur - 1;
    const p = affPtr(e);
    cur = load<u32>(p, 40);
    const opool = <i32>load<u32>(p);
    const ob = <i32>load<u32>(p, 24);
    const npool = opool < poolOldToNew.length ? unchecked(poolOldToNew[opool]) : -1;
    const nb = ob < backendOldToNew.length ? unchecked(backendOldToNew[ob]) : -1;
    if (npool < 0 || nb < 0 || !keep(npool, nb) || !probeFits(index, indexMask, entryHashWith(p, npool))) {
      unlink(e);
      store<u32>(p, 0, 44);
      store<u32>(p, freeHead, 40);
      freeHead = <u32>(e + 1);
      count--;
      dropped++;
      continue;
    }
    store<u32>(p, npool);
    store<u32>(p, nb, 24);
    indexInsert(entryHash(p), e);
  }
  return dropped;
}

/** The backend an entry points to. */
// @ts-ignore: decorator
@inline export function affinityBackend(e: i32): u32 {
  return load<u32>(affPtr(e), 24);
}

/** Diagnostics: total probe distance of every indexed entry from its home slot (as flows.ts). */
export function affinityIndexDisplacement(): u64 {
  let total: u64 = 0;
  for (let i: u32 = 0; i <= indexMask; i++) {
    const slot = load<u32>(index + (<usize>i << 2));
    if (slot == 0) continue;
    const home = entryHash(affPtr(<i32>(slot & 0xffffff) - 1)) & indexMask;
    total += <u64>((i - home) & indexMask);
  }
  return total;
}
