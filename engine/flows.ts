/**
 * The flow table: 5-tuple → member slot (backend), like an IPVS connection entry. Preallocated at
 * init with a fixed capacity (like nf_conntrack_max) in the shared in-place table (table.ts): the
 * key, the member slot and the last-use time share one 64-byte bucket, so an established lookup
 * reads one cache line (issue 10). Entries sit on one list per timeout class in the order they
 * were last queued, most recent at the head; a lookup requeues its flow at most once per queue
 * epoch (EPOCH_MS below), so the order is use order to within one epoch. Expiry walks expired
 * tails in O(expired) and eviction takes an expired tail, else an embryonic one, else the least
 * recently queued one, in O(classes).
 *
 *   flow bucket (table.ts header, then):
 *   20            36            52      56     60       64
 *   +-------------+-------------+-------+------+--------+
 *   | src w0..w3  | dst w0..w3  | sport | meta | member |
 *   |             |             | dport |      | slot   |
 *   +-------------+-------------+-------+------+--------+
 *   list: the timeout class (state.ts CLASS_*)
 *   member slot: the destination of the virtual service (pool) the flow was admitted through,
 *   in the serving generation (pools.ts), whose counters the flow is counted in
 *   meta: protocol (8) | src v6 (bit 8) | dst v6 (bit 9) | active (bit 13)
 *
 * An IPv4 flow's key uses only w0 of each address, so src w1..w3 hold its cached decision
 * instead (flow-decisions.ts); IPv6 (and mixed-family) flows keep every key word.
 *
 * An entry is named by its slot, valid until the next insert or removal (backward shift moves
 * entries).
 */
import { Generation } from './generation';
import { META_DST_V6, META_SRC_V6, dstWordMask, flowHash, srcWordMask } from './flow-key';
import { MEMBER_ACTIVE, MEMBER_INACTIVE, MEMBER_WORDS, PROTO_TCP, PROTO_UDP } from './layout';
import { settle } from './pending';
import { CLASS_SCTP, CLASS_TCP_SYN, CLASS_UDP, FLOW_CLASS_COUNT, current, elapsed, stats, timeoutMs } from './state';
import {
  CHECK_OK, CHECK_PAYLOAD, setCheckSlot, tableCheck,
  B_HASH, B_LAST_USED, B_LIST, B_NEXT, B_PREV, LISTS_BYTES, MAX_TABLE_CAPACITY, MAX_PROBE_SLOTS, Table, bucket, bucketList, bucketListTag, listHead, listNext,
  listPrev, listTail, homeSlot, nextSlot,
  corrupt, tableBytes, tableClaim, tableClaimAt, tableDisplacement, tableInit, tableProbeFits, tableRemove, tableTouch, tableWatch, tableWatched, walkBudget,
} from './table';

/** Source address words w0..w3. */
// @ts-ignore: decorator
@inline export const F_SRC: usize = 20;
/** Destination address words w0..w3. */
// @ts-ignore: decorator
@inline export const F_DST: usize = 36;
/** sport << 16 | dport. */
// @ts-ignore: decorator
@inline export const F_PORTS: usize = 52;
// @ts-ignore: decorator
@inline export const F_META: usize = 56;
// @ts-ignore: decorator
@inline export const F_MEMBER: usize = 60;
/** Largest capacity. */
// @ts-ignore: decorator
@inline export const MAX_FLOW_CAPACITY: i32 = MAX_TABLE_CAPACITY;
/** The key part of meta: protocol and the two family bits. */
// @ts-ignore: decorator
@inline const KEY_META_MASK: u32 = 0x3ff;
// @ts-ignore: decorator
@inline export const META_ACTIVE: u32 = 1 << 13;
/** The key meta's family bits (src v6, dst v6): 0 for an IPv4 flow, the one kind with a decision cache. */
// @ts-ignore: decorator
@inline export const META_V6: u32 = META_SRC_V6 | META_DST_V6;
/** An IPv4 flow's cached service port (in src w1, not key there; flow-decisions.ts). */
// @ts-ignore: decorator
@inline export const F_CACHE_SP: usize = F_SRC + 4;
/** An IPv4 flow's cached local index (src w2). */
// @ts-ignore: decorator
@inline export const F_CACHE_LOCAL: usize = F_SRC + 8;
/** The epoch count when the cache was written (or last found right); 0 = none (src w3). */
// @ts-ignore: decorator
@inline export const F_CACHE_TAG: usize = F_SRC + 12;

/** A constant address, not a start-time value: every instance over a shared memory sees it (lock.ts). */
const flowTable = changetype<Table>(memory.data(offsetof<Table>(), 8));
flowTable.lists = memory.data(<i32>LISTS_BYTES, 8); // at start: the leader's _initialize, into the shared memory

/** The bucket of flow `e` (its slot). */
// @ts-ignore: decorator
@inline export function flowPtr(e: i32): usize {
  return bucket(flowTable, <u32>e);
}

/** Slots of the table (entries are slots 0..n-1 with `flowSlotUsed`): for walks over every bucket. */
export function flowSlotCount(): u32 {
  return flowTable.slots;
}
// @ts-ignore: decorator
@inline export function flowSlotUsed(e: i32): bool {
  return load<u32>(flowPtr(e), B_LIST) != 0;
}

export function flowCount(): i32 {
  return flowTable.count;
}

export function flowCapacity(): i32 {
  return flowTable.capacity;
}

/** Bytes of linear memory the table uses (its buckets). */
export function flowTableBytes(): usize {
  return tableBytes(flowTable);
}

/**
 * Sizes the table for `cap` entries; every flow is forgotten. The buckets (128 MiB at the default
 * capacity) are allocated by the first insert (table.ts tableEnsure): an engine that tracks no
 * flow (tools, an idle worker) never holds them, and no bucket memory sits in the heap while the
 * first snapshots are swapped in.
 */
export function flowsInit(cap: i32): void {
  hitCount = 0;
  tableInit(flowTable, cap, false);
}

/**
 * The first word of a flow hash's home bucket (0 before the buckets exist): batches read it early
 * so the misses overlap.
 */
// @ts-ignore: decorator
@inline export function flowHomeWord(hash: u32): u32 {
  const t = flowTable;
  return t.slots != 0 ? load<u32>(bucket(t, homeSlot(t, hash))) : 0;
}

/**
 * When the last `flowFind` missed at a free bucket (within the probe bound), that bucket: where
 * `flowInsert` puts the same key while the table is unchanged (`free`); else -1.
 */
export let missFree: i32 = -1;

/** After a removal (backward shift moves entries), no earlier miss's free bucket holds. */
export function forgetMissFree(): void {
  missFree = -1;
}

/**
 * The entry holding this key, or -1 (and `missFree`). `hash` is flow-key.ts flowHash of the same key. At most MAX_PROBE + 1
 * buckets, compared in place (stored hash first, then the key, in the same cache line).
 */
// @ts-ignore: decorator
@inline export function flowFind(hash: u32, keyMeta: u32, s0: u32, s1: u32, s2: u32, s3: u32, ports: u32, d0: u32, d1: u32, d2: u32, d3: u32): i32 {
  const t = flowTable;
  if (t.slots == 0) {
    missFree = -1;
    return -1;
  }
  const sm = srcWordMask(keyMeta);
  const dm = dstWordMask(keyMeta);
  let i = homeSlot(t, hash);
  for (let n: u32 = 0; n < MAX_PROBE_SLOTS; n++) {
    const p = bucket(t, i);
    if (load<u32>(p, B_LIST) == 0) {
      missFree = <i32>i;
      return -1;
    }
    // An IPv4 address is its w0 alone (an IPv4 flow's src w1..w3 hold its decision cache); an
    // IPv6 one compares all four words (a v4 side of a mixed key is stored as zeros).
    if (load<u32>(p, B_HASH) == hash && load<u32>(p, F_SRC) == s0 && load<u32>(p, F_PORTS) == ports && load<u32>(p, F_DST) == d0 &&
        (load<u32>(p, F_META) & KEY_META_MASK) == keyMeta &&
        ((keyMeta & META_V6) == 0 || (
          load<u32>(p, F_SRC + 4) == (s1 & sm) && load<u32>(p, F_SRC + 8) == (s2 & sm) && load<u32>(p, F_SRC + 12) == (s3 & sm) &&
          load<u32>(p, F_DST + 4) == (d1 & dm) && load<u32>(p, F_DST + 8) == (d2 & dm) && load<u32>(p, F_DST + 12) == (d3 & dm)))) {
      return <i32>i;
    }
    i = nextSlot(t, i);
  }
  missFree = -1;
  return -1;
}

/** Timeout class of flow `e` (state.ts CLASS_*): the list it is on. */
// @ts-ignore: decorator
@inline export function flowClassOf(e: i32): u32 {
  return bucketList(flowPtr(e));
}

/** Flow `e`'s meta word (protocol, families, active). */
// @ts-ignore: decorator
@inline export function flowMeta(e: i32): u32 {
  return load<u32>(flowPtr(e), F_META);
}
// @ts-ignore: decorator
@inline export function setFlowMeta(e: i32, meta: u32): void {
  store<u32>(flowPtr(e), meta, F_META);
}

/** Member slot of flow `e`. */
// @ts-ignore: decorator
@inline export function flowMember(e: i32): u32 {
  return load<u32>(flowPtr(e), F_MEMBER);
}
/**
 * Flow `e`'s destination moved to another slot of the same service port, whose index a delta's
 * replace keeps: the cached decision stays (delta.ts renews the service port's epoch when the
 * backend's index within it changed).
 */
// @ts-ignore: decorator
@inline export function moveFlowMember(e: i32, slot: u32): void {
  store<u32>(flowPtr(e), slot, F_MEMBER);
}

/** Moves flow `e` to another member slot; an IPv4 flow's decision cache goes with the old one. */
// @ts-ignore: decorator
@inline export function setFlowMember(e: i32, slot: u32): void {
  const p = flowPtr(e);
  store<u32>(p, slot, F_MEMBER);
  if ((load<u32>(p, F_META) & META_V6) == 0) store<u32>(p, 0, F_CACHE_TAG);
}

/** Last use of flow `e` (ms tick). */
// @ts-ignore: decorator
@inline export function flowLastUsed(e: i32): u32 {
  return load<u32>(flowPtr(e), B_LAST_USED);
}

/**
 * Queue epochs: a flow's list place records the epoch (EPOCH_MS of host time) it was queued in,
 * and a lookup hit (`flowHit`) moves it to its list head only when that epoch has passed. A flow
 * seen by many packets a second then costs one list move a second instead of one per packet,
 * whose two list neighbours are random cache misses at a million flows, and a hit inside the
 * epoch writes nothing but its own bucket (issue 10). So each class list is in queue order, and a
 * flow's last use lies in its queue epoch (moves are only deferred within one call, HITS below):
 * the tail is the least recently used flow to within one epoch. Expiry stays exact
 * (`flowsExpire`); eviction takes list tails (`victim`). Connects, state changes and rebinds
 * still move the flow at once (`flowTouch`).
 */
// @ts-ignore: decorator
@inline export const EPOCH_SHIFT: u32 = 10;
// @ts-ignore: decorator
@inline export const EPOCH_MS: u32 = 1 << EPOCH_SHIFT;

/** The queue epoch of host tick `now` (22 bits, fits the list tag). */
// @ts-ignore: decorator
@inline export function epochOf(now: u32): u32 {
  return now >>> EPOCH_SHIFT;
}

/** The flow's queue epoch. */
// @ts-ignore: decorator
@inline export function flowQueueEpoch(e: i32): u32 {
  return bucketListTag(flowPtr(e));
}

/**
 * Hits whose move to their list head is still to be made, in hit order (slots, static memory):
 * those whose queue epoch had passed. Such a hit (`flowHit`) writes only its own bucket and
 * appends its slot here, a cache-resident ring; the moves are made in the same order, in one
 * batch whose neighbour stores overlap, before anything that reads list order or moves a bucket
 * (every other function below starts with `applyHits`), so the lists are exactly as if each such
 * hit had moved at once.
 */
// @ts-ignore: decorator
@inline const HIT_RING: i32 = 64;
const HITS: usize = memory.data(4 * HIT_RING, 64);
let hitCount: i32 = 0;

/** The pending hit count, for instances that share one table (lock.ts). */
export function pendingHits(): i32 {
  return hitCount;
}
export function setPendingHits(n: i32): void {
  hitCount = n;
}
/** Keeps applyHits' neighbour reads alive. */
let neighbourSink: u32 = 0;

/** Makes the pending hits' list moves, oldest first. */
export function applyHits(): void {
  const n = hitCount;
  if (n == 0) return;
  hitCount = 0;
  // First read every list neighbour a move will write: independent misses the CPU overlaps,
  // where the stores alone would queue behind a full store buffer.
  let sink: u32 = 0;
  for (let k = 0; k < n; k++) {
    const p = bucket(flowTable, load<u32>(HITS + (<usize>k << 2)));
    const prev = load<u32>(p, B_PREV);
    const next = load<u32>(p, B_NEXT);
    if (prev != 0) sink += load<u32>(bucket(flowTable, prev - 1), B_NEXT);
    if (next != 0) sink += load<u32>(bucket(flowTable, next - 1), B_PREV);
  }
  neighbourSink += sink;
  for (let k = 0; k < n; k++) {
    const slot = load<u32>(HITS + (<usize>k << 2));
    const p = bucket(flowTable, slot);
    const used = load<u32>(p, B_LAST_USED);
    tableTouch(flowTable, slot, bucketList(p), used, epochOf(used));
  }
}

/**
 * A packet of an existing flow: last used = now; when its queue epoch has passed, it moves to its
 * list head (deferred: HITS).
 */
// @ts-ignore: decorator
@inline export function flowHit(e: i32, now: u32): void {
  const p = flowPtr(e);
  store<u32>(p, now, B_LAST_USED);
  if (bucketListTag(p) == epochOf(now)) return;
  if (hitCount == HIT_RING) applyHits();
  store<u32>(HITS + (<usize>hitCount << 2), <u32>e);
  hitCount++;
}

/** Refreshes an entry: last used = now, at the head of (possibly another) class list. */
export function flowTouch(e: i32, now: u32, cls: u32): void {
  applyHits();
  tableTouch(flowTable, <u32>e, cls, now, epochOf(now));
}

/**
 * Releases an entry's count from its member when it goes away.
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
}

/** Removes entry `e`: its member's counters, its list, its bucket (backward shift). */
export function flowRemove(e: i32): void {
  applyHits();
  uncount(flowMember(e), flowMeta(e));
  tableRemove(flowTable, <u32>e);
}

/**
 * The entry a full table gives up (issue 10), as IPVS's ip_vs_random_dropentry and conntrack's
 * early drop choose: an expired one first — the class tail furthest past its class timeout (each
 * class list is in queue order under one timeout, so its tail is its most overdue entry to within
 * one queue epoch) — then the least recently queued embryonic (SYN_RECV) one, so a SYN flood
 * cannot push out established connections, then the class tail used longest ago. Ties go to the
 * lower class. -1 when empty.
 */
function victim(now: u32): i32 {
  let expired = -1;
  let expiredOver: i32 = 0;
  let lru = -1;
  let lruAge: i32 = -1;
  for (let c = 0; c < FLOW_CLASS_COUNT; c++) {
    const t = listTail(flowTable, c);
    if (t == 0) continue;
    const age = <i32>(now - flowLastUsed(<i32>t - 1));
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
  const syn = listTail(flowTable, CLASS_TCP_SYN);
  return syn != 0 ? <i32>syn - 1 : lru;
}

/**
 * Inserts a key that `flowFind` did not find, evicting one entry (`victim`) when the table is full
 * (an expired one counts as an expiration, not an eviction). Returns the entry, or -1 when the
 * key's probe chain is already MAX_PROBE long: the key is not tracked (nothing changes; counted in
 * `flowsUntracked`). `free`: the `missFree` of the caller's own `flowFind` of this key, if no
 * entry was removed or inserted since, else -1.
 */
export function flowInsert(hash: u32, keyMeta: u32, s0: u32, s1: u32, s2: u32, s3: u32, ports: u32, d0: u32, d1: u32, d2: u32, d3: u32,
  flags: u32, cls: u32, slot: u32, now: u32, free: i32 = -1): i32 {
  const t = flowTable;
  applyHits();
  // The caller's miss found the chain's free bucket, and no entry has moved since: no probe.
  const e = free >= 0 && t.count < t.capacity
    ? tableClaimAt(t, <u32>free, hash, cls, now, epochOf(now))
    : claimByProbe(t, hash, cls, now);
  if (e < 0) return -1;
  writeFlowKey(bucket(t, <u32>e), keyMeta, s0, s1, s2, s3, ports, d0, d1, d2, d3, flags, slot);
  return e;
}

/** Makes room if the table is full and claims the chain's first free bucket; -1 if the chain is too long. */
function claimByProbe(t: Table, hash: u32, cls: u32, now: u32): i32 {
  if (!tableProbeFits(t, hash)) {
    stats.flowsUntracked++;
    return -1;
  }
  if (t.count >= t.capacity) {
    const v = victim(now);
    if (flowExpired(v, now)) stats.flowExpirations++;
    else stats.flowEvictions++;
    flowRemove(v);
    // Backward shift can only shorten chains: the key still fits.
  }
  return <i32>tableClaim(t, hash, cls, now, epochOf(now));
}

/**
 * The key and payload of a claimed bucket. An IPv4 address's words 1..3 are stored as 0: an IPv4
 * flow starts with no cached decision (tag 0 in src w3; flow-decisions.ts setFlowDecision writes one).
 */
// @ts-ignore: decorator
@inline function writeFlowKey(p: usize, keyMeta: u32, s0: u32, s1: u32, s2: u32, s3: u32, ports: u32, d0: u32, d1: u32, d2: u32, d3: u32,
  flags: u32, slot: u32): void {
  const sm = srcWordMask(keyMeta);
  const dm = dstWordMask(keyMeta);
  store<u32>(p, s0, F_SRC);
  store<u32>(p, s1 & sm, F_SRC + 4);
  store<u32>(p, s2 & sm, F_SRC + 8);
  store<u32>(p, s3 & sm, F_SRC + 12);
  store<u32>(p, d0, F_DST);
  store<u32>(p, d1 & dm, F_DST + 4);
  store<u32>(p, d2 & dm, F_DST + 8);
  store<u32>(p, d3 & dm, F_DST + 12);
  store<u32>(p, ports, F_PORTS);
  store<u32>(p, keyMeta | flags, F_META);
  store<u32>(p, slot, F_MEMBER);
}

/** Whether entry `e` has outlived its class timeout at `now`. */
// @ts-ignore: decorator
@inline export function flowExpired(e: i32, now: u32): bool {
  return elapsed(now, flowLastUsed(e), unchecked(timeoutMs[flowClassOf(e)]));
}

/**
 * Removes every expired entry; returns how many. Each class list is walked from its tail while
 * the queue epoch is old enough to hold an expired flow (a flow's last use lies in its queue
 * epoch, and epochs only grow towards the head): every flow of an earlier epoch is expired, and
 * those of the last such epoch are checked one by one. The flows that pass the check were used in
 * the one epoch-long window ending a timeout ago, so each is checked by at most
 * EPOCH_MS / (time between sweeps) + 1 sweeps before it expires (2 with the forwarder's 1 s
 * sweeps, 11 with the Envoy filter's fastest 100 ms tick): O(expired) over time.
 */
export function flowsExpire(now: u32): i32 {
  applyHits();
  let removed = 0;
  let steps = walkBudget(flowTable);
  for (let c: u32 = 0; c < <u32>FLOW_CLASS_COUNT; c++) {
    const span = unchecked(timeoutMs[c]);
    let cur = listTail(flowTable, c);
    while (cur != 0) {
      if (--steps < 0) corrupt();
      const e = <i32>cur - 1;
      if (!elapsed(now, flowQueueEpoch(e) << EPOCH_SHIFT, span)) break;
      cur = listPrev(flowTable, <u32>e);
      if (!elapsed(now, flowLastUsed(e), span)) continue;
      tableWatch(flowTable, cur);
      flowRemove(e);
      cur = tableWatched(flowTable);
      removed++;
    }
  }
  stats.flowExpirations += removed;
  return removed;
}

/** Steps left to the current list walk (table.ts walkBudget). */
let walkSteps: i32 = 0;

/** First entry of class list `cls` (entry + 1, 0 = none), for walks that may remove entries. */
export function flowListHead(cls: u32): u32 {
  applyHits();
  walkSteps = walkBudget(flowTable);
  return listHead(flowTable, cls);
}

/**
 * Next entry after `e` on its list (entry + 1, 0 = end). A walk that may remove `e` calls
 * `flowWatch` with this value before the removal and `flowWatched` after it (the removal's
 * backward shift may move that entry).
 */
export function flowListNext(e: i32): u32 {
  if (--walkSteps < 0) corrupt();
  return listNext(flowTable, <u32>e);
}
export function flowWatch(e1: u32): void {
  tableWatch(flowTable, e1);
}
export function flowWatched(): u32 {
  return tableWatched(flowTable);
}

/** `flowTableCheck`: a flow names a member slot the serving generation does not have. */
// @ts-ignore: decorator
@inline export const CHECK_FLOW_MEMBER: i32 = CHECK_PAYLOAD;
/** `flowTableCheck`: a flow's class list or active bit is not one its protocol can have. */
// @ts-ignore: decorator
@inline export const CHECK_FLOW_STATE: i32 = CHECK_PAYLOAD + 1;
/** `flowTableCheck`: a member's active or inactive counter is not the number of its flows that are. */
// @ts-ignore: decorator
@inline export const CHECK_FLOW_COUNTERS: i32 = CHECK_PAYLOAD + 2;

/** The flow hash of the key stored in bucket `p` (an IPv4 side's words 1..3 hold no key: flowHash masks them). */
function storedFlowHash(p: usize): u32 {
  return flowHash(load<u32>(p, F_META) & KEY_META_MASK,
    load<u32>(p, F_SRC), load<u32>(p, F_SRC + 4), load<u32>(p, F_SRC + 8), load<u32>(p, F_SRC + 12), load<u32>(p, F_PORTS),
    load<u32>(p, F_DST), load<u32>(p, F_DST + 4), load<u32>(p, F_DST + 8), load<u32>(p, F_DST + 12));
}

function flowPayloadCheck(p: usize): i32 {
  if (load<u32>(p, F_MEMBER) >= <u32>current.memberCount) return CHECK_FLOW_MEMBER;
  const meta = load<u32>(p, F_META);
  const proto = meta & 0xff;
  const cls = bucketList(p);
  const tcpClass = cls != CLASS_UDP && cls != CLASS_SCTP;
  const ok = proto == PROTO_TCP ? tcpClass : proto == PROTO_UDP ? cls == CLASS_UDP && (meta & META_ACTIVE) == 0 : cls == CLASS_SCTP;
  return ok ? CHECK_OK : CHECK_FLOW_STATE;
}

/**
 * Diagnostics and tests, O(slots + members): the shared table invariants (table.ts tableCheck),
 * each flow's stored hash against its key, its member slot and class, and every member's
 * counters against its flows (after the queued writes, pending.ts). CHECK_OK or the first
 * problem (table.ts CHECK_*, the CHECK_FLOW_* above), at `tableCheckSlot`.
 */
export function flowTableCheck(): i32 {
  applyHits();
  settle();
  const t = flowTable;
  const problem = tableCheck(t, <u32>FLOW_CLASS_COUNT, storedFlowHash, flowPayloadCheck);
  if (problem != CHECK_OK) return problem;
  const gen = current;
  const n = <usize>gen.memberCount;
  const tally = heap.alloc(n << 3);
  memory.fill(tally, 0, n << 3);
  for (let i: u32 = 0; i < t.slots; i++) {
    const p = bucket(t, i);
    if (load<u32>(p, B_LIST) == 0) continue;
    const at = tally + (<usize>load<u32>(p, F_MEMBER) << 3) + ((load<u32>(p, F_META) & META_ACTIVE) != 0 ? 4 : 0);
    store<u32>(at, load<u32>(at) + 1);
  }
  let result = CHECK_OK;
  for (let m: usize = 0; m < n; m++) {
    if (gen.memberWord(<i32>m, MEMBER_INACTIVE) != load<u32>(tally + (m << 3)) || gen.memberWord(<i32>m, MEMBER_ACTIVE) != load<u32>(tally + (m << 3), 4)) {
      setCheckSlot(<u32>m);
      result = CHECK_FLOW_COUNTERS;
      break;
    }
  }
  heap.free(tally);
  return result;
}

/** Diagnostics: total probe distance of every entry from its home slot. */
export function flowIndexDisplacement(): u64 {
  return tableDisplacement(flowTable);
}
