/**
 * The ClientIP affinity table: (pool, client address) → backend, like an IPVS persistence
 * template (reference/ipvs-schedulers.md §8.2), which is per virtual service: a pool is one service
 * address (pools.ts), so a client pinned through the clusterIP is not pinned through an externalIP
 * (issue 17). Timeouts are the service port's timeoutSeconds. Same in-place table as flows.ts
 * (table.ts), with one LRU list per distinct timeout (up to AFFINITY_TIMEOUT_LISTS, then one mixed
 * overflow list), so expiry pops expired tails in O(expired) (issue 10) and a full table finds its
 * most overdue entry among the list tails. A touch sequence number orders entries across lists
 * (least recently used = oldest sequence). Lookups treat an expired entry as absent.
 *
 *   affinity bucket (table.ts header, then):
 *   20     24       28          44        48          52    56       64
 *   +------+--------+-----------+---------+-----------+-----+--------+
 *   | pool | family | w0..w3    | backend | timeout ms| seq | unused |
 *   +------+--------+-----------+---------+-----------+-----+--------+
 *   list: the timeout list (AFFINITY_TIMEOUT_LISTS = overflow)
 *
 * An entry is named by its slot, valid until the next insert or removal.
 */
import { finishNH, nhTerm, tableKey } from './hash';
import { current, elapsed, stats } from './state';
import {
  BUCKET_SIZE, B_HASH, CHECK_OK, CHECK_PAYLOAD, corrupt, tableCheck, walkBudget, B_LAST_USED, B_LIST, B_PREV, MAX_PROBE_SLOTS, LISTS_BYTES, MAX_TABLE_CAPACITY, Table, bucket, bucketList, listHead, listNext, listTail,
  homeSlot, nextSlot, tableBytes, tableClaim, tableClear, tableDisplacement, tableInit, tableProbeFits, tableRemove, tableTouch,
} from './table';

// @ts-ignore: decorator
@inline const A_POOL: usize = 20;
// @ts-ignore: decorator
@inline const A_FAMILY: usize = 24;
// @ts-ignore: decorator
@inline const A_ADDR: usize = 28;
// @ts-ignore: decorator
@inline const A_BACKEND: usize = 44;
// @ts-ignore: decorator
@inline const A_TIMEOUT: usize = 48;
// @ts-ignore: decorator
@inline const A_SEQ: usize = 52;
/** LRU lists with one timeout each; more distinct live timeouts share the overflow list. */
// @ts-ignore: decorator
@inline export const AFFINITY_TIMEOUT_LISTS: i32 = 16;
/** The mixed-timeout list: expired entries are found by walking it. */
// @ts-ignore: decorator
@inline const OVERFLOW_LIST: i32 = AFFINITY_TIMEOUT_LISTS;
// @ts-ignore: decorator
@inline const LISTS: i32 = AFFINITY_TIMEOUT_LISTS + 1;
/** Per timeout list: its timeout in ms (0 = list free), static memory. */
const LIST_TIMEOUT: usize = memory.data(4 * LISTS, 4);
/** Touch sequence: larger = more recently used (compared wrap-safe). */
let seq: u32 = 0;

/** The touch sequence, for instances that share one table (lock.ts). */
export function affinitySeq(): u32 {
  return seq;
}
export function setAffinitySeq(s: u32): void {
  seq = s;
}
// @ts-ignore: decorator
@inline export const MAX_AFFINITY_CAPACITY: i32 = MAX_TABLE_CAPACITY;

/** A constant address, not a start-time value: every instance over a shared memory sees it (lock.ts). */
const affTable = changetype<Table>(memory.data(offsetof<Table>(), 8));
affTable.lists = memory.data(<i32>LISTS_BYTES, 8); // at start: the leader's _initialize, into the shared memory

// @ts-ignore: decorator
@inline function listTimeout(l: i32): u32 {
  return load<u32>(LIST_TIMEOUT + (<usize>l << 2));
}
// @ts-ignore: decorator
@inline function setListTimeout(l: i32, v: u32): void {
  store<u32>(LIST_TIMEOUT + (<usize>l << 2), v);
}

/** The bucket of affinity entry `e` (its slot). */
// @ts-ignore: decorator
@inline export function affPtr(e: i32): usize {
  return bucket(affTable, <u32>e);
}

export function affinityCount(): i32 {
  return affTable.count;
}

export function affinityCapacity(): i32 {
  return affTable.capacity;
}

/** Bytes of linear memory the table uses. */
export function affinityTableBytes(): usize {
  return tableBytes(affTable);
}

export function affinityInit(cap: i32): void {
  tableInit(affTable, cap, false);
  memory.fill(LIST_TIMEOUT, 0, 4 * LISTS);
  seq = 0;
}

/** The list for entries of this timeout: its own, a free one claimed for it, or the overflow list. */
function listFor(timeout: u32): i32 {
  let free = -1;
  for (let l = 0; l < AFFINITY_TIMEOUT_LISTS; l++) {
    const t = listTimeout(l);
    if (t == timeout) return l;
    if (t == 0 && free < 0) free = l;
  }
  if (free < 0) return OVERFLOW_LIST;
  setListTimeout(free, timeout);
  return free;
}

/** Hash of an affinity key: an NH sum over its six words (as flow-key.ts flowHash), then finishNH. */
// @ts-ignore: decorator
@inline export function affinityHash(pool: u32, family: u32, w0: u32, w1: u32, w2: u32, w3: u32): u32 {
  return finishNH(
    nhTerm(w0, tableKey(12), pool, tableKey(13)) +
    nhTerm(w1, tableKey(14), family, tableKey(15)) +
    nhTerm(w2, tableKey(4), w3, tableKey(9)) +
    (<u64>(w0 ^ tableKey(10)) << 32 | <u64>(pool ^ tableKey(11))));
}

/** The entry for this key, or -1 (at most MAX_PROBE + 1 buckets, compared in place). */
export function affinityFind(hash: u32, pool: u32, family: u32, w0: u32, w1: u32, w2: u32, w3: u32): i32 {
  const t = affTable;
  if (t.slots == 0) return -1;
  let i = homeSlot(t, hash);
  for (let n: u32 = 0; n < MAX_PROBE_SLOTS; n++) {
    const p = bucket(t, i);
    if (load<u32>(p, B_LIST) == 0) return -1;
    if (load<u32>(p, B_HASH) == hash && load<u32>(p, A_POOL) == pool && load<u32>(p, A_ADDR) == w0 && load<u32>(p, A_FAMILY) == family &&
        load<u32>(p, A_ADDR + 4) == w1 && load<u32>(p, A_ADDR + 8) == w2 && load<u32>(p, A_ADDR + 12) == w3) return <i32>i;
    i = nextSlot(t, i);
  }
  return -1;
}

// @ts-ignore: decorator
@inline function listOf(e: i32): i32 {
  return <i32>bucketList(affPtr(e));
}

/** Re-arms an entry (a new connection used it): last used = now, to its list's head, next sequence. */
export function affinityTouch(e: i32, now: u32): void {
  tableTouch(affTable, <u32>e, <u32>listOf(e), now);
  store<u32>(affPtr(e), ++seq, A_SEQ);
}

/** Removes entry `e`; a timeout list left empty is freed for another timeout. */
export function affinityRemove(e: i32): void {
  const l = listOf(e);
  tableRemove(affTable, <u32>e);
  if (l != OVERFLOW_LIST && listHead(affTable, l) == 0) setListTimeout(l, 0);
}

// @ts-ignore: decorator
@inline export function affinityExpired(e: i32, now: u32): bool {
  const p = affPtr(e);
  return elapsed(now, load<u32>(p, B_LAST_USED), load<u32>(p, A_TIMEOUT));
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
    const t = listTail(affTable, l);
    if (t == 0) continue;
    const e = <i32>t - 1;
    const p = affPtr(e);
    const s = load<u32>(p, A_SEQ);
    const over = <i32>(now - load<u32>(p, B_LAST_USED)) - <i32>load<u32>(p, A_TIMEOUT);
    if (over >= 0 && (best < 0 || over > bestOver || (over == bestOver && olderSeq(s, load<u32>(affPtr(best), A_SEQ))))) {
      best = e;
      bestOver = over;
    }
    if (lru < 0 || olderSeq(s, load<u32>(affPtr(lru), A_SEQ))) lru = e;
  }
  return best >= 0 ? best : lru;
}

/** Claims a bucket for a key on list `l` and writes the payload. */
function place(hash: u32, l: i32, pool: u32, family: u32, w0: u32, w1: u32, w2: u32, w3: u32, backend: u32, timeout: u32, now: u32, s: u32): i32 {
  const e = tableClaim(affTable, hash, <u32>l, now);
  const p = bucket(affTable, e);
  store<u32>(p, pool, A_POOL);
  store<u32>(p, family, A_FAMILY);
  store<u32>(p, w0, A_ADDR);
  store<u32>(p, w1, A_ADDR + 4);
  store<u32>(p, w2, A_ADDR + 8);
  store<u32>(p, w3, A_ADDR + 12);
  store<u32>(p, backend, A_BACKEND);
  store<u32>(p, timeout, A_TIMEOUT);
  store<u32>(p, s, A_SEQ);
  return <i32>e;
}

/**
 * Inserts a new entry, evicting one (evictionVictim) when full. Returns it, or -1 when the key's
 * probe chain is already MAX_PROBE long: the client is not pinned (counted in affinitiesUntracked).
 */
export function affinityInsert(hash: u32, pool: u32, family: u32, w0: u32, w1: u32, w2: u32, w3: u32, backend: u32, timeout: u32, now: u32): i32 {
  if (!tableProbeFits(affTable, hash)) {
    stats.affinitiesUntracked++;
    return -1;
  }
  if (affTable.count >= affTable.capacity) {
    const victim = evictionVictim(now);
    if (affinityExpired(victim, now)) stats.affinityExpirations++;
    else stats.affinityEvictions++;
    affinityRemove(victim);
  }
  return place(hash, listFor(timeout), pool, family, w0, w1, w2, w3, backend, timeout, now, ++seq);
}

/**
 * Removes every expired entry; returns how many. O(expired) per timeout list (each pops its
 * expired tail), plus a walk of the overflow list when more than AFFINITY_TIMEOUT_LISTS distinct
 * timeouts are live.
 */
export function affinityExpire(now: u32): i32 {
  let removed = 0;
  let steps = walkBudget(affTable);
  for (let l = 0; l < AFFINITY_TIMEOUT_LISTS; l++) {
    let t = listTail(affTable, l);
    while (t != 0 && affinityExpired(<i32>t - 1, now)) {
      if (--steps < 0) corrupt();
      affinityRemove(<i32>t - 1);
      removed++;
      t = listTail(affTable, l);
    }
  }
  // The overflow list in any order: restart from its tail after each removal (moves may reorder
  // nothing on the list, but may change the slots of entries not yet visited).
  let cur = listTail(affTable, OVERFLOW_LIST);
  while (cur != 0) {
    if (--steps < 0) corrupt();
    const e = <i32>cur - 1;
    const prev = load<u32>(affPtr(e), B_PREV);
    if (affinityExpired(e, now)) {
      affTable.watch = prev;
      affinityRemove(e);
      removed++;
      cur = affTable.watch;
    } else {
      cur = prev;
    }
  }
  stats.affinityExpirations += removed;
  return removed;
}

/**
 * Snapshot swap: rewrites every entry's pool and backend through the maps (-1 = gone, entry
 * dropped; `keep(pool, backend)` false = dropped too) and rehashes the table, since the pool is
 * part of the key: the live entries are copied out in list order (tail first), the buckets
 * cleared, and the kept ones placed again on the same lists with the same last use and sequence.
 */
export function affinityRemap(poolOldToNew: StaticArray<i32>, backendOldToNew: StaticArray<i32>, keep: (pool: i32, b: i32) => bool): i32 {
  const n = affTable.count;
  if (n == 0) return 0;
  const saved = heap.alloc(<usize>n * BUCKET_SIZE);
  let k = 0;
  for (let l = 0; l < LISTS; l++) {
    let cur = listTail(affTable, l);
    while (cur != 0) {
      if (k == n) corrupt(); // the lists hold more than `count` entries
      const p = affPtr(<i32>cur - 1);
      memory.copy(saved + <usize>k * BUCKET_SIZE, p, BUCKET_SIZE);
      k++;
      cur = load<u32>(p, B_PREV);
    }
  }
  tableClear(affTable);
  let dropped = 0;
  for (let i = 0; i < k; i++) {
    const p = saved + <usize>i * BUCKET_SIZE;
    const opool = <i32>load<u32>(p, A_POOL);
    const ob = <i32>load<u32>(p, A_BACKEND);
    const npool = opool < poolOldToNew.length ? unchecked(poolOldToNew[opool]) : -1;
    const nb = ob < backendOldToNew.length ? unchecked(backendOldToNew[ob]) : -1;
    const family = load<u32>(p, A_FAMILY);
    const w0 = load<u32>(p, A_ADDR), w1 = load<u32>(p, A_ADDR + 4), w2 = load<u32>(p, A_ADDR + 8), w3 = load<u32>(p, A_ADDR + 12);
    const h = affinityHash(<u32>npool, family, w0, w1, w2, w3);
    if (npool < 0 || nb < 0 || !keep(npool, nb) || !tableProbeFits(affTable, h)) {
      dropped++;
      continue;
    }
    place(h, <i32>bucketList(p), <u32>npool, family, w0, w1, w2, w3, <u32>nb, load<u32>(p, A_TIMEOUT), load<u32>(p, B_LAST_USED), load<u32>(p, A_SEQ));
  }
  heap.free(saved);
  for (let l = 0; l < AFFINITY_TIMEOUT_LISTS; l++) if (listHead(affTable, l) == 0) setListTimeout(l, 0);
  return dropped;
}

/** The backend an entry points to. */
// @ts-ignore: decorator
@inline export function affinityBackend(e: i32): u32 {
  return load<u32>(affPtr(e), A_BACKEND);
}
// @ts-ignore: decorator
@inline export function setAffinityBackend(e: i32, b: u32): void {
  store<u32>(affPtr(e), b, A_BACKEND);
}
/** Last use (ms tick) and timeout (ms) of an entry, for explain. */
export function affinityLastUsed(e: i32): u32 {
  return load<u32>(affPtr(e), B_LAST_USED);
}
export function affinityTimeout(e: i32): u32 {
  return load<u32>(affPtr(e), A_TIMEOUT);
}

/** `affinityTableCheck`: an entry on a timeout list has another timeout than the list's. */
// @ts-ignore: decorator
@inline export const CHECK_AFFINITY_TIMEOUT: i32 = CHECK_PAYLOAD;
/** `affinityTableCheck`: an entry names a pool or backend the serving generation does not have. */
// @ts-ignore: decorator
@inline export const CHECK_AFFINITY_TARGET: i32 = CHECK_PAYLOAD + 1;

function storedAffinityHash(p: usize): u32 {
  return affinityHash(load<u32>(p, A_POOL), load<u32>(p, A_FAMILY),
    load<u32>(p, A_ADDR), load<u32>(p, A_ADDR + 4), load<u32>(p, A_ADDR + 8), load<u32>(p, A_ADDR + 12));
}

function affinityPayloadCheck(p: usize): i32 {
  const l = <i32>bucketList(p);
  if (l != OVERFLOW_LIST && listTimeout(l) != load<u32>(p, A_TIMEOUT)) return CHECK_AFFINITY_TIMEOUT;
  const gen = current;
  if (load<u32>(p, A_POOL) >= <u32>gen.poolCount || load<u32>(p, A_BACKEND) >= <u32>gen.backendCount) return CHECK_AFFINITY_TARGET;
  return CHECK_OK;
}

/**
 * Diagnostics and tests, O(slots): the shared table invariants (table.ts tableCheck), each
 * entry's stored hash against its key, its timeout against its list's, and its pool and backend
 * against the serving generation. CHECK_OK or the first problem, at `tableCheckSlot`.
 */
export function affinityTableCheck(): i32 {
  return tableCheck(affTable, <u32>LISTS, storedAffinityHash, affinityPayloadCheck);
}

/** Diagnostics: total probe distance of every entry from its home slot (as flows.ts). */
export function affinityIndexDisplacement(): u64 {
  return tableDisplacement(affTable);
}
