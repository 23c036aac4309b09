/**
 * The ClientIP affinity table: (pool, client address) → backend, like an IPVS persistence
 * template (reference/ipvs-schedulers.md §8.2), which is per virtual service: a pool is one service
 * address (pools.ts), so a client pinned through the clusterIP is not pinned through an externalIP
 * (issue 17). Timeouts are the service port's timeoutSeconds. Same structure as
 * flows.ts: a preallocated slab, an open-addressing index (backward-shift deletion) and one LRU list.
 * Timeouts differ per service port, so `affinityExpire` walks the whole list (bounded by the
 * capacity) and lookups treat an expired entry as absent.
 *
 *   entry (AFF_SIZE = 48 bytes):
 *   0    4       8          24        28         32          36     40     44
 *   +----+-------+----------+---------+----------+-----------+------+------+------+
 *   |pool| family| w0..w3   | backend | last used| timeout ms| prev | next | used |
 *   +----+-------+----------+---------+----------+-----------+------+------+------+
 */
import { finishNH, nhTerm, tableKey } from './hash';
import { elapsed, stats } from './state';

// @ts-ignore: decorator
@inline const AFF_SIZE: usize = 48;
// @ts-ignore: decorator
@inline export const MAX_AFFINITY_CAPACITY: i32 = (1 << 24) - 2;

let slab: usize = 0;
let index: usize = 0;
let indexMask: u32 = 0;
let capacity: i32 = 0;
let count: i32 = 0;
let freeHead: u32 = 0;
let head: u32 = 0;
let tail: u32 = 0;

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
  head = 0;
  tail = 0;
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
  return affinityHash(load<u32>(p), load<u32>(p, 4), load<u32>(p, 8), load<u32>(p, 12), load<u32>(p, 16), load<u32>(p, 20));
}

export function affinityFind(hash: u32, pool: u32, family: u32, w0: u32, w1: u32, w2: u32, w3: u32): i32 {
  const tag = hash & 0xff000000;
  let i = hash & indexMask;
  while (true) {
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
}

function unlink(e: i32): void {
  const p = affPtr(e);
  const prev = load<u32>(p, 36);
  const next = load<u32>(p, 40);
  if (prev != 0) store<u32>(affPtr(<i32>prev - 1), next, 40);
  else head = next;
  if (next != 0) store<u32>(affPtr(<i32>next - 1), prev, 36);
  else tail = prev;
}

function pushHead(e: i32): void {
  const p = affPtr(e);
  store<u32>(p, 0, 36);
  store<u32>(p, head, 40);
  if (head != 0) store<u32>(affPtr(<i32>head - 1), <u32>(e + 1), 36);
  else tail = <u32>(e + 1);
  head = <u32>(e + 1);
}

function indexInsert(hash: u32, e: i32): void {
  let i = hash & indexMask;
  while (load<u32>(index + (<usize>i << 2)) != 0) i = (i + 1) & indexMask;
  store<u32>(index + (<usize>i << 2), (hash & 0xff000000) | <u32>(e + 1));
}

/** Re-arms an entry (a new connection used it): last used = now, to the list head. */
export function affinityTouch(e: i32, now: u32): void {
  store<u32>(affPtr(e), now, 28);
  if (head == <u32>(e + 1)) return;
  unlink(e);
  pushHead(e);
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

/**
 * How many least recently used entries a full table looks at for an expired one before it
 * evicts a live entry. Timeouts differ per service port, so the LRU tail is not always the one
 * that ran out first; a bounded look keeps the insert O(1).
 */
// @ts-ignore: decorator
@inline export const AFFINITY_EVICT_SCAN: i32 = 8;

/**
 * The entry a full table gives up (issue 10): among the AFFINITY_EVICT_SCAN least recently used,
 * the one furthest past its own service port's timeout (ties: the less recently used); when none
 * of them has expired, the least recently used.
 */
function evictionVictim(now: u32): i32 {
  let best = -1;
  let bestOver: i32 = 0;
  let cur = tail;
  for (let k = 0; k < AFFINITY_EVICT_SCAN && cur != 0; k++) {
    const e = <i32>cur - 1;
    const p = affPtr(e);
    const over = <i32>(now - load<u32>(p, 28)) - <i32>load<u32>(p, 32);
    if (over >= 0 && (best < 0 || over > bestOver)) {
      best = e;
      bestOver = over;
    }
    cur = load<u32>(p, 36);
  }
  return best >= 0 ? best : <i32>tail - 1;
}

/** Inserts a new entry, evicting one (evictionVictim) when full. */
export function affinityInsert(hash: u32, pool: u32, family: u32, w0: u32, w1: u32, w2: u32, w3: u32, backend: u32, timeout: u32, now: u32): i32 {
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
  store<u32>(p, 1, 44);
  pushHead(e);
  indexInsert(hash, e);
  count++;
  return e;
}

/** Removes every expired entry; returns how many. O(entries). */
export function affinityExpire(now: u32): i32 {
  let removed = 0;
  let cur = head;
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
  let cur = head;
  while (cur != 0) {
    const e = <i32>cur - 1;
    const p = affPtr(e);
    cur = load<u32>(p, 40);
    const opool = <i32>load<u32>(p);
    const ob = <i32>load<u32>(p, 24);
    const npool = opool < poolOldToNew.length ? unchecked(poolOldToNew[opool]) : -1;
    const nb = ob < backendOldToNew.length ? unchecked(backendOldToNew[ob]) : -1;
    if (npool < 0 || nb < 0 || !keep(npool, nb)) {
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
