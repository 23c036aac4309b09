/**
 * The slab/probe/list structure the flow table (flows.ts) and the ClientIP affinity table
 * (affinity.ts) share (issue 10): an open-addressing table whose entries live IN the probe array,
 * one 64-byte, cache-line-aligned bucket each, so a lookup reads one cache line: the stored hash
 * and the key are compared in place, and the value and last-use time sit beside them. Linear
 * probing from `homeSlot(hash)`, at most MAX_PROBE slots from home (hash.ts), backward-shift
 * deletion (no tombstones), load ≤ 3/4.
 *
 * Every entry is on one doubly linked list (flows: one per timeout class; affinity: one per
 * timeout), most recently used at the head, so expiry pops expired tails in O(expired) and a full
 * table finds its victim among the tails in O(lists). A move to the head writes into the two list
 * neighbours' buckets: the flow table makes it for a lookup hit at most once per queue epoch, and
 * defers it (flows.ts), so a hit's only dependent miss is its own bucket and the deferred moves are
 * made in batches whose neighbour misses overlap. The reference model keeps the same order
 * (test/reference/tables.ts).
 *
 * Backward shift moves entries between slots; a move copies the bucket and re-points its list
 * neighbours (and the list head/tail). A walk that removes entries as it goes watches its next
 * slot with `tableWatch` so a move does not lose it.
 *
 * `tableCheck` checks every invariant above (tests run it after each step of the differential
 * tests). The code itself trusts them, except where a broken one would not end: a claim, a
 * backward shift and a list walk are bounded, and trap (`corrupt`) past the bound instead of
 * looping forever inside Wasm.
 *
 *   bucket (BUCKET_SIZE = 64 bytes), common header, then the table's payload:
 *   0      4        8       12      16          20                                   64
 *   +------+--------+-------+-------+-----------+------------------------------------+
 *   | hash | list+1 | prev  | next  | last used | payload (flows.ts / affinity.ts)   |
 *   |      | 0=free,| slot+1| slot+1| ms tick   | 44 bytes                           |
 *   |      | tag<<8 |       |       |           |                                    |
 *   +------+--------+-------+-------+-----------+------------------------------------+
 */
import { MAX_PROBE } from './hash';

// @ts-ignore: decorator
@inline export const BUCKET_SIZE: usize = 64;
// @ts-ignore: decorator
@inline const BUCKET_SHIFT: usize = 6;
/** The entry's full table hash: a cheap first compare, and its home slot for backward shift. */
// @ts-ignore: decorator
@inline export const B_HASH: usize = 0;
/**
 * The entry's list number + 1 in the low byte (0 marks a free bucket), and above it a 24-bit tag
 * the table keeps with the entry's place in its list (flows: the epoch it was queued in; flows.ts).
 */
// @ts-ignore: decorator
@inline export const B_LIST: usize = 4;
// @ts-ignore: decorator
@inline const LIST_BITS: u32 = 8;
// @ts-ignore: decorator
@inline export const B_PREV: usize = 8;
// @ts-ignore: decorator
@inline export const B_NEXT: usize = 12;
/** Host time of the last use, ms as a u32 tick (state.ts toTick). */
// @ts-ignore: decorator
@inline export const B_LAST_USED: usize = 16;
/** First payload byte. */
// @ts-ignore: decorator
@inline export const B_PAYLOAD: usize = 20;
/** Buckets a lookup reads at most: its home slot and MAX_PROBE more. */
// @ts-ignore: decorator
@inline export const MAX_PROBE_SLOTS: u32 = MAX_PROBE + 1;
/** Most lists a table has (affinity: 16 timeout lists + overflow). */
// @ts-ignore: decorator
@inline export const MAX_LISTS: i32 = 17;
/** Largest capacity (as before the in-place layout: EngineOptions validates 1..2^24 − 2). */
// @ts-ignore: decorator
@inline export const MAX_TABLE_CAPACITY: i32 = (1 << 24) - 2;

/** Bytes of a table's list heads and tails. */
// @ts-ignore: decorator
@inline export const LISTS_BYTES: usize = 8 * MAX_LISTS;

/** One table's header, in static memory (unmanaged: no GC, no shadow stack on the hot path). */
@unmanaged
export class Table {
  /** First bucket (64-byte aligned). */
  base: usize = 0;
  /** The heap block the buckets live in, and its usable bytes (a re-init that fits reuses it). */
  region: usize = 0;
  regionBytes: usize = 0;
  /**
   * Slot count: the smallest power of two ≥ capacity × 4/3 (at least 16), so the home slot is the
   * hash's low bits, as the probe-bound tests aim them. Memory is 64 × slots: about 85 bytes per
   * flow at a capacity of 3 × 2^k, 128 at 2^k.
   */
  slots: u32 = 0;
  /** The slot count `tableEnsure` allocates (slots is 0 until then: lookups find nothing). */
  plannedSlots: u32 = 0;
  capacity: i32 = 0;
  count: i32 = 0;
  /** Slot + 1 a walk watches across removals (0 = none); updated when backward shift moves it. */
  watch: u32 = 0;
  /** Per list: head slot + 1 (u32), tail slot + 1 (u32), at lists + 8 × list. */
  lists: usize = 0;
}

/** Home slot of a hash: its low bits. */
// @ts-ignore: decorator
@inline export function homeSlot(t: Table, hash: u32): u32 {
  return hash & (t.slots - 1);
}

/** The slot after `i`, wrapping. */
// @ts-ignore: decorator
@inline export function nextSlot(t: Table, i: u32): u32 {
  return (i + 1) & (t.slots - 1);
}

// @ts-ignore: decorator
@inline export function bucket(t: Table, slot: u32): usize {
  return t.base + (<usize>slot << BUCKET_SHIFT);
}

/** The B_LIST word of an entry on list `l` whose place carries `tag` (< 2^24). */
// @ts-ignore: decorator
@inline function listWord(l: u32, tag: u32): u32 {
  return (tag << LIST_BITS) | (l + 1);
}

/** The list of the entry in bucket `p`. */
// @ts-ignore: decorator
@inline export function bucketList(p: usize): u32 {
  return (load<u32>(p, B_LIST) & ((1 << LIST_BITS) - 1)) - 1;
}

/** The tag stored with the entry's list place (listPushHead). */
// @ts-ignore: decorator
@inline export function bucketListTag(p: usize): u32 {
  return load<u32>(p, B_LIST) >>> LIST_BITS;
}

// @ts-ignore: decorator
@inline export function listHead(t: Table, l: u32): u32 {
  return load<u32>(t.lists + (<usize>l << 3));
}
// @ts-ignore: decorator
@inline export function listTail(t: Table, l: u32): u32 {
  return load<u32>(t.lists + (<usize>l << 3), 4);
}
// @ts-ignore: decorator
@inline function setListHead(t: Table, l: u32, s1: u32): void {
  store<u32>(t.lists + (<usize>l << 3), s1);
}
// @ts-ignore: decorator
@inline function setListTail(t: Table, l: u32, s1: u32): void {
  store<u32>(t.lists + (<usize>l << 3), s1, 4);
}

/**
 * Sets `t` up for `cap` entries (clamped to 1..MAX_TABLE_CAPACITY); every entry is forgotten. The
 * buckets are allocated now when `eager`, else at the first insert (`tableEnsure`, called by
 * tableProbeFits): memory on demand, e.g. the affinity table's 8 MiB (default capacity) are never
 * needed when no Service uses ClientIP affinity. The first insert pays the allocation and
 * zeroing once (about 1 ms per 8 MiB).
 */
export function tableInit(t: Table, cap: i32, eager: bool): void {
  if (cap < 1) cap = 1;
  if (cap > MAX_TABLE_CAPACITY) cap = MAX_TABLE_CAPACITY;
  let slots: u32 = 16;
  while (<u64>slots * 3 < <u64>cap * 4) slots <<= 1;
  t.plannedSlots = slots;
  t.slots = 0;
  t.capacity = cap;
  t.count = 0;
  t.watch = 0;
  memory.fill(t.lists, 0, LISTS_BYTES);
  // A shared engine's workers must never allocate (engine/lock.ts): there, buckets are allocated now.
  if (eager || ASC_FEATURE_THREADS || t.regionBytes != 0) tableEnsure(t);
}

/** Allocates (or reuses) and clears the buckets unless they are in place. */
export function tableEnsure(t: Table): void {
  if (t.slots != 0) return;
  const bytes = <usize>t.plannedSlots << BUCKET_SHIFT;
  if (t.regionBytes < bytes) {
    // The heap aligns blocks to 16 bytes: 48 more make room to align the buckets to cache lines.
    if (t.region != 0) heap.free(t.region);
    t.region = heap.alloc(bytes + BUCKET_SIZE - 16);
    t.base = (t.region + BUCKET_SIZE - 1) & ~(BUCKET_SIZE - 1);
    t.regionBytes = bytes;
  }
  memory.fill(t.base, 0, bytes);
  t.slots = t.plannedSlots;
}

/** Forgets every entry, keeping the buckets. */
export function tableClear(t: Table): void {
  memory.fill(t.base, 0, tableBytes(t)); // 0 bytes while not allocated
  t.count = 0;
  t.watch = 0;
  memory.fill(t.lists, 0, 8 * MAX_LISTS);
}

/** Bytes of linear memory the buckets take. */
export function tableBytes(t: Table): usize {
  return <usize>t.slots << BUCKET_SHIFT;
}

/**
 * Whether a new key with this hash would land within MAX_PROBE slots of its home slot (the
 * tables refuse a key whose chain would be longer, so every lookup stops after MAX_PROBE + 1).
 */
export function tableProbeFits(t: Table, hash: u32): bool {
  tableEnsure(t);
  let i = homeSlot(t, hash);
  for (let n: u32 = 0; n <= MAX_PROBE; n++) {
    if (load<u32>(bucket(t, i), B_LIST) == 0) return true;
    i = nextSlot(t, i);
  }
  return false;
}

/**
 * Claims the first free slot of `hash`'s chain for a new entry (call tableProbeFits first, and
 * make room when full): stores hash, list and last use, links it at its list's head. The caller
 * writes the payload. Returns the slot.
 */
export function tableClaim(t: Table, hash: u32, list: u32, now: u32, tag: u32 = 0): u32 {
  let i = homeSlot(t, hash);
  for (let n: u32 = 0; load<u32>(bucket(t, i), B_LIST) != 0; n++) {
    if (n == MAX_PROBE) corrupt(); // tableProbeFits said there was room
    i = nextSlot(t, i);
  }
  return tableClaimAt(t, i, hash, list, now, tag);
}

/** `tableClaim` when the caller's own probe already found `i`, the first free slot of the chain. */
export function tableClaimAt(t: Table, i: u32, hash: u32, list: u32, now: u32, tag: u32 = 0): u32 {
  const p = bucket(t, i);
  // A stale free slot would overwrite a live entry, or put this one where lookups never look.
  if (load<u32>(p, B_LIST) != 0 || ((i - homeSlot(t, hash)) & (t.slots - 1)) > MAX_PROBE) corrupt();
  store<u32>(p, hash, B_HASH);
  store<u32>(p, now, B_LAST_USED);
  listPushHead(t, i, list, tag);
  t.count++;
  return i;
}

/** Unlinks `slot` from its list (stores into the neighbours; no reads of them). */
// @ts-ignore: decorator
@inline export function listUnlink(t: Table, slot: u32): void {
  const p = bucket(t, slot);
  const l = bucketList(p);
  const prev = load<u32>(p, B_PREV);
  const next = load<u32>(p, B_NEXT);
  if (prev != 0) store<u32>(bucket(t, prev - 1), next, B_NEXT);
  else setListHead(t, l, next);
  if (next != 0) store<u32>(bucket(t, next - 1), prev, B_PREV);
  else setListTail(t, l, prev);
}

/** Links `slot` at the head of list `l` (most recently used) and records `l` and `tag` (< 2^24) in the bucket. */
// @ts-ignore: decorator
@inline export function listPushHead(t: Table, slot: u32, l: u32, tag: u32): void {
  const p = bucket(t, slot);
  const head = listHead(t, l);
  store<u32>(p, listWord(l, tag), B_LIST);
  store<u32>(p, 0, B_PREV);
  store<u32>(p, head, B_NEXT);
  if (head != 0) store<u32>(bucket(t, head - 1), slot + 1, B_PREV);
  else setListTail(t, l, slot + 1);
  setListHead(t, l, slot + 1);
}

/** A hit: last use = now, and to the head of list `l` (its own or another) with `tag`, unless already there. */
// @ts-ignore: decorator
@inline export function tableTouch(t: Table, slot: u32, l: u32, now: u32, tag: u32 = 0): void {
  const p = bucket(t, slot);
  store<u32>(p, now, B_LAST_USED);
  if (bucketList(p) == l && listHead(t, l) == slot + 1) {
    store<u32>(p, listWord(l, tag), B_LIST);
    return;
  }
  listUnlink(t, slot);
  listPushHead(t, slot, l, tag);
}

/** Moves the entry in slot `from` to the free slot `to`, re-pointing its list neighbours. */
function moveEntry(t: Table, from: u32, to: u32): void {
  const src = bucket(t, from);
  memory.copy(bucket(t, to), src, BUCKET_SIZE);
  const l = bucketList(src);
  const prev = load<u32>(src, B_PREV);
  const next = load<u32>(src, B_NEXT);
  if (prev != 0) store<u32>(bucket(t, prev - 1), to + 1, B_NEXT);
  else setListHead(t, l, to + 1);
  if (next != 0) store<u32>(bucket(t, next - 1), to + 1, B_PREV);
  else setListTail(t, l, to + 1);
  if (t.watch == from + 1) t.watch = to + 1;
}

/**
 * Removes the entry in `slot`: off its list, then backward shift (Knuth 6.4 Algorithm R): each
 * later entry of the run moves back into the hole unless its home lies cyclically in (hole, it].
 */
export function tableRemove(t: Table, slot: u32): void {
  if (load<u32>(bucket(t, slot), B_LIST) == 0) corrupt();
  listUnlink(t, slot);
  if (t.watch == slot + 1) t.watch = 0;
  let i = slot;
  let j = slot;
  // A run ends at a free bucket, and at load ≤ 3/4 there is one within `slots` steps.
  for (let n: u32 = 0; ; n++) {
    if (n == t.slots) corrupt();
    j = nextSlot(t, j);
    const q = bucket(t, j);
    if (load<u32>(q, B_LIST) == 0) break;
    const k = homeSlot(t, load<u32>(q, B_HASH));
    const between = i <= j ? k > i && k <= j : k > i || k <= j;
    if (!between) {
      moveEntry(t, j, i);
      i = j;
    }
  }
  store<u32>(bucket(t, i), 0, B_LIST);
  t.count--;
}

/** Starts watching `slot` across removals (see Table.watch); read it back with `tableWatched`. */
// @ts-ignore: decorator
@inline export function tableWatch(t: Table, s1: u32): void {
  t.watch = s1;
}
// @ts-ignore: decorator
@inline export function tableWatched(t: Table): u32 {
  return t.watch;
}

/** Next entry after `slot` on its list (slot + 1, 0 = end). */
// @ts-ignore: decorator
@inline export function listNext(t: Table, slot: u32): u32 {
  return load<u32>(bucket(t, slot), B_NEXT);
}

/** The entry before `slot` on its list, towards the head (slot + 1, 0 = `slot` is the head). */
// @ts-ignore: decorator
@inline export function listPrev(t: Table, slot: u32): u32 {
  return load<u32>(bucket(t, slot), B_PREV);
}

/**
 * A table's invariants do not hold: trap (the host sees a RuntimeError, "unreachable") rather than
 * loop forever or write past a buffer. Only a bug in the engine gets here; `tableCheck` says what.
 */
// @ts-ignore: decorator
@inline export function corrupt(): void {
  unreachable();
}

/**
 * Step `n` (from 0) of a probe in an open-addressing table of `mask` + 1 slots: past the last
 * slot the table is full, which its load factor forbids (a sizing bug), so trap rather than spin.
 */
// @ts-ignore: decorator
@inline export function probeBound(n: u32, mask: u32): void {
  if (n > mask) corrupt();
}

/**
 * A walk of `t`'s lists that may step at most once per entry: each step takes one from the
 * budget, and a step past it (a list that loops) traps. Set per walk with `walkBudget`.
 */
export function walkBudget(t: Table): i32 {
  return t.count + 1;
}

/** What `tableCheck` found (0: every invariant holds); `tableCheckSlot` is the slot it found it at. */
// @ts-ignore: decorator
@inline export const CHECK_OK: i32 = 0;
/** A used bucket's list number is not one of the table's lists. */
// @ts-ignore: decorator
@inline export const CHECK_LIST_NUMBER: i32 = 1;
/** An entry lies more than MAX_PROBE slots from its home slot. */
// @ts-ignore: decorator
@inline export const CHECK_DISPLACEMENT: i32 = 2;
/** A free bucket lies between an entry and its home slot: lookups stop there and miss it. */
// @ts-ignore: decorator
@inline export const CHECK_HOLE: i32 = 3;
/** The stored hash is not the hash of the stored key. */
// @ts-ignore: decorator
@inline export const CHECK_HASH: i32 = 4;
/** Table.count is not the number of used buckets. */
// @ts-ignore: decorator
@inline export const CHECK_COUNT: i32 = 5;
/** A list step reaches a free bucket, or an entry of another list. */
// @ts-ignore: decorator
@inline export const CHECK_LIST_MEMBER: i32 = 6;
/** An entry's prev link does not name the entry before it on its list. */
// @ts-ignore: decorator
@inline export const CHECK_PREV: i32 = 7;
/** A list is longer than the table (it loops). */
// @ts-ignore: decorator
@inline export const CHECK_LOOP: i32 = 8;
/** A list's tail is not its last entry. */
// @ts-ignore: decorator
@inline export const CHECK_TAIL: i32 = 9;
/** Some entry is on no list. */
// @ts-ignore: decorator
@inline export const CHECK_UNLISTED: i32 = 10;
/** A list past the table's own lists is not empty. */
// @ts-ignore: decorator
@inline export const CHECK_EXTRA_LIST: i32 = 11;
/** First code a table's own payload check (`tableCheck`'s `payload`) may return. */
// @ts-ignore: decorator
@inline export const CHECK_PAYLOAD: i32 = 16;

let checkSlot: u32 = 0;

/** The slot (or, for a list problem, the list) where the last failed `tableCheck` found its problem. */
export function tableCheckSlot(): u32 {
  return checkSlot;
}
/** Where a check of its own (flows.ts counters, service-table.ts matchTableCheck) found its problem. */
export function setCheckSlot(at: u32): void {
  checkSlot = at;
}

/**
 * Diagnostics and tests, O(slots): checks `t`'s invariants and returns the first problem found
 * (CHECK_*), or CHECK_OK. Every used bucket: its list is one of the first `lists`, it lies within
 * MAX_PROBE slots of its home slot with no free bucket between, `keyHash` of it is its stored
 * hash, and `payload` of it returns 0 (else its code, ≥ CHECK_PAYLOAD). Table.count is the number
 * of used buckets. Every list, walked from its head: each step reaches a used bucket of that list
 * whose prev link names the step before, it ends at its tail, and the lists hold every entry once.
 */
export function tableCheck(t: Table, lists: u32, keyHash: (p: usize) => u32, payload: (p: usize) => i32): i32 {
  let used = 0;
  for (let i: u32 = 0; i < t.slots; i++) {
    const p = bucket(t, i);
    if (load<u32>(p, B_LIST) == 0) continue;
    used++;
    checkSlot = i;
    if (bucketList(p) >= lists) return CHECK_LIST_NUMBER;
    const hash = load<u32>(p, B_HASH);
    const home = homeSlot(t, hash);
    const d = (i - home) & (t.slots - 1);
    if (d > MAX_PROBE) return CHECK_DISPLACEMENT;
    for (let k: u32 = home; k != i; k = nextSlot(t, k)) {
      if (load<u32>(bucket(t, k), B_LIST) == 0) return CHECK_HOLE;
    }
    if (keyHash(p) != hash) return CHECK_HASH;
    const own = payload(p);
    if (own != CHECK_OK) return own;
  }
  checkSlot = 0;
  if (used != t.count) return CHECK_COUNT;
  let listed = 0;
  for (let l: u32 = 0; l < <u32>MAX_LISTS; l++) {
    checkSlot = l;
    let prev: u32 = 0;
    let cur = listHead(t, l);
    if (l >= lists && (cur != 0 || listTail(t, l) != 0)) return CHECK_EXTRA_LIST;
    while (cur != 0) {
      if (cur > t.slots) return CHECK_LIST_MEMBER;
      const p = bucket(t, cur - 1);
      if (load<u32>(p, B_LIST) == 0 || bucketList(p) != l) return CHECK_LIST_MEMBER;
      if (load<u32>(p, B_PREV) != prev) return CHECK_PREV;
      // (A loop breaks a prev link first; this bound is what makes the walk end whatever the links.)
    if (++listed > used) return CHECK_LOOP;
      prev = cur;
      cur = load<u32>(p, B_NEXT);
    }
    if (listTail(t, l) != prev) return CHECK_TAIL;
  }
  checkSlot = 0;
  return listed != used ? CHECK_UNLISTED : CHECK_OK;
}

/** Diagnostics: total probe distance of every entry from its home slot. */
export function tableDisplacement(t: Table): u64 {
  let total: u64 = 0;
  for (let i: u32 = 0; i < t.slots; i++) {
    const p = bucket(t, i);
    if (load<u32>(p, B_LIST) == 0) continue;
    const home = homeSlot(t, load<u32>(p, B_HASH));
    total += <u64>(i >= home ? i - home : i + t.slots - home);
  }
  return total;
}
