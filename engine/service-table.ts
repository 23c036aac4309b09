/**
 * The service match index: (protocol, destination address, destination port) → service port and
 * the kind of address that matched (clusterIP, externalIP, LB ingress IP, or nodePort on one of
 * the node's addresses). Open addressing with linear probing over `Generation.match`, built once
 * per generation at load factor ≤ 1/2, so a lookup is O(1) whatever the number of services.
 *
 *   slot (MATCH_WORDS = 16 × u32 = one 64-byte cache line, layout.ts MATCH_*; slots start at a
 *   64-byte boundary, see `slotsPad`):
 *   +------+------+------+------+-------------------------------+---------------+------+---------+
 *   |  w0  |  w1  |  w2  |  w3  | meta: proto | v6<<8 | port<<16 | sp << 2 | kind | pool | sp meta |
 *   +------+------+------+------+-------------------------------+---------------+------+---------+
 *   | first member | member count | table offset | rr position | rr base | reserved (3 words)           |
 *   +--------------+--------------+--------------+-------------+---------+------------------------------+
 *   meta 0 = empty slot (every protocol number is non-zero). The slot names the address's own
 *   pool (its IPVS virtual service, pools.ts), repeats the service port's meta word (SP_META:
 *   scheduler, flags) and the pool's static fields, so a new connection reads no service port
 *   record, and its scheduler reaches the members and the dh/sh/mh table without waiting on the
 *   pool record. rr keeps its position here (the record's copy follows, pending.ts); for a pool
 *   whose members are all eligible in local-index order ("uniform") rr picks from this line
 *   alone, and dh, sh and mh from it and their table entry, reading no member line.

 * When two service ports claim the same key (e.g. the same externalIP and port), the first in
 * snapshot order wins, as the first matching iptables rule does; the loser is counted in
 * `Generation.matchConflicts`.
 */
import { Generation } from './generation';
import { finishNH } from './hash';
import { probeBound, setCheckSlot } from './table';
import {
  KIND_CLUSTER_IP, KIND_EXTERNAL_IP, KIND_LOAD_BALANCER, KIND_NODE_PORT, SP_ADDR_COUNTS, SP_ADDR_PTR,
  LINE_WORDS, MATCH_MEMBER_COUNT, MATCH_MEMBER_START, MATCH_META, MATCH_POOL, MATCH_UNIFORM_BASE, MATCH_RR_POS, MATCH_SLACK_WORDS, MATCH_SP_META,
  MATCH_TABLE, MATCH_VALUE, MATCH_W0, MATCH_WORDS, MEMBER_LOCAL_INDEX, MEMBER_WEIGHT, NO_TABLE, POOL_FAMILY, POOL_MEMBER_COUNT,
  POOL_MEMBER_START, POOL_POS, SCHED_RR, POOL_SP, POOL_TABLE, POOL_VPORT, RANGE_WORDS, NOT_UNIFORM, SP_LB_COUNT,
  SP_META, SP_POOL_START, SP_RANGE_COUNT, SP_RANGE_START,
} from './layout';

// @ts-ignore: decorator
@inline const SLOT_WORDS: i32 = MATCH_WORDS;
/** log2 of a slot's bytes. */
// @ts-ignore: decorator
@inline const SLOT_SHIFT: usize = 6;

/**
 * Words from the start of `table` to its first 64-byte boundary, where slot 0 lives. Unaligned,
 * half the slots would straddle two cache lines and a match would wait on two misses (issue 10).
 */
// @ts-ignore: decorator
@inline function slotsPad(table: StaticArray<u32>): i32 {
  return <i32>((<usize>0 - changetype<usize>(table)) & <usize>(LINE_WORDS * 4 - 1)) >> 2;
}

/** Index in `table` of word 0 of slot `i`. */
// @ts-ignore: decorator
@inline function slotAt(table: StaticArray<u32>, i: i32): i32 {
  return slotsPad(table) + i * SLOT_WORDS;
}

// @ts-ignore: decorator
@inline function matchMeta(proto: u32, family: u32, port: u32): u32 {
  return proto | (family == 6 ? <u32>0x100 : 0) | (port << 16);
}

/**
 * Hash of a match key. Its keys are the operator's Service addresses, not a client's choice, so
 * it needs no secret; it is on the path of every new connection before the match slot's read, so
 * it is three independent multiplies (each 64-bit product of two key words by an odd constant is
 * a bijection: no key word can vanish from the sum) and finishNH's two, where word-by-word mixing
 * made a chain of eleven.
 */
// @ts-ignore: decorator
@inline function matchHash(meta: u32, w0: u32, w1: u32, w2: u32, w3: u32): u32 {
  return finishNH(
    (<u64>w0 << 32 | <u64>meta) * 0x9e3779b97f4a7c15 +
    (<u64>w1 << 32 | <u64>w2) * 0xc2b2ae3d27d4eb4f +
    <u64>w3 * 0x165667b19e3779f9);
}

/** Pool and service port meta word of the last successful `matchService`. */
export let matchedPool: i32 = -1;
export let matchedMeta: u32 = 0;

/**
 * Probes for a key: its slot index when present, else −(the empty slot that ends its chain) − 1,
 * where an insert puts it. Linear probing from the key's home slot; the table is never full.
 */
function probeKey(gen: Generation, meta: u32, w0: u32, w1: u32, w2: u32, w3: u32): i32 {
  const mask = gen.matchMask;
  const table = gen.match;
  let i = matchHash(meta, w0, w1, w2, w3) & mask;
  let n: u32 = 0;
  while (true) {
    probeBound(n++, mask);
    const at = slotAt(table, <i32>i);
    const m = unchecked(table[at + MATCH_META]);
    if (m == 0) return -<i32>i - 1;
    if (m == meta && unchecked(table[at + MATCH_W0]) == w0 && unchecked(table[at + MATCH_W0 + 1]) == w1 &&
        unchecked(table[at + MATCH_W0 + 2]) == w2 && unchecked(table[at + MATCH_W0 + 3]) == w3) return <i32>i;
    i = (i + 1) & mask;
  }
}

function insertKey(gen: Generation, proto: u32, port: u32, addr: usize, value: u32, pool: u32): void {
  const w0 = load<u32>(addr, 4);
  const w1 = load<u32>(addr, 8);
  const w2 = load<u32>(addr, 12);
  const w3 = load<u32>(addr, 16);
  const meta = matchMeta(proto, load<u32>(addr), port);
  const found = probeKey(gen, meta, w0, w1, w2, w3);
  if (found >= 0) {
    gen.matchConflicts++;
    return;
  }
  const table = gen.match;
  const at = slotAt(table, -found - 1);
  unchecked((table[at + MATCH_W0] = w0));
  unchecked((table[at + MATCH_W0 + 1] = w1));
  unchecked((table[at + MATCH_W0 + 2] = w2));
  unchecked((table[at + MATCH_W0 + 3] = w3));
  unchecked((table[at + MATCH_META] = meta));
  unchecked((table[at + MATCH_VALUE] = value));
  unchecked((table[at + MATCH_POOL] = pool));
  unchecked((table[at + MATCH_SP_META] = gen.spWord(<i32>(value >>> 2), SP_META)));
  // A delta's conflict check builds its keys before its pools exist: no pool, no copies.
  const built = pool < <u32>gen.poolCount;
  unchecked((table[at + MATCH_MEMBER_START] = built ? gen.poolWord(<i32>pool, POOL_MEMBER_START) : 0));
  unchecked((table[at + MATCH_MEMBER_COUNT] = built ? gen.poolWord(<i32>pool, POOL_MEMBER_COUNT) : 0));
  unchecked((table[at + MATCH_TABLE] = built ? gen.poolWord(<i32>pool, POOL_TABLE) : NO_TABLE));
  unchecked((table[at + MATCH_RR_POS] = built ? gen.poolWord(<i32>pool, POOL_POS) : 0));
  unchecked((table[at + MATCH_UNIFORM_BASE] = built ? uniformBase(gen, <i32>pool) : NOT_UNIFORM));
  gen.matchKeys++;
}

/**
 * MATCH_UNIFORM_BASE for `pool`: member 0's local index when every member is eligible (weight > 0) and
 * member k's local index is member 0's + k (a pool built in engine order with no weight 0, as
 * most are), else NOT_UNIFORM.
 */
function uniformBase(gen: Generation, pool: i32): u32 {
  const first = <i32>gen.poolWord(pool, POOL_MEMBER_START);
  const n = <i32>gen.poolWord(pool, POOL_MEMBER_COUNT);
  if (n == 0) return NOT_UNIFORM;
  const base = gen.memberWord(first, MEMBER_LOCAL_INDEX);
  for (let k = 0; k < n; k++) {
    if (gen.memberWord(first + k, MEMBER_WEIGHT) == 0 || gen.memberWord(first + k, MEMBER_LOCAL_INDEX) != base + <u32>k) return NOT_UNIFORM;
  }
  return base;
}

/**
 * The address of `pool`'s own match slot (its key's, when that key names it), or 0: a pool whose
 * key lost to another service port's (a conflict) has none.
 */
export function poolSlot(gen: Generation, pool: i32): usize {
  const proto = gen.spProtocol(<i32>gen.poolWord(pool, POOL_SP));
  const i = findKey(gen, proto, gen.poolWord(pool, POOL_VPORT), gen.poolWordAddress(pool, POOL_FAMILY));
  if (i < 0) return 0;
  const at = changetype<usize>(gen.match) + (<usize>slotAt(gen.match, i) << 2);
  return slotWord(at, MATCH_POOL) == <u32>pool ? at : 0;
}

/** Copies `pool`'s rr position from its record to its match slot, if it has one (a position carried after the key went in). */
export function refreshSlotPosition(gen: Generation, pool: i32): void {
  const at = poolSlot(gen, pool);
  if (at != 0) store<u32>(at, gen.poolWord(pool, POOL_POS), MATCH_RR_POS << 2);
}

/** `matchTableCheck`: a key is not found by a probe from its home slot, or is not where that probe finds it. */
// @ts-ignore: decorator
@inline export const CHECK_MATCH_KEY: i32 = 1;
/** `matchTableCheck`: a slot's copy of its service port's meta word or of its pool's members or table is not the record's. */
// @ts-ignore: decorator
@inline export const CHECK_MATCH_COPY: i32 = 2;
/** `matchTableCheck`: an rr pool's own slot holds another position than its pool record (after the queue, pending.ts). */
// @ts-ignore: decorator
@inline export const CHECK_MATCH_RR: i32 = 3;
/** `matchTableCheck`: a slot's uniform base is not what its pool's members make it. */
// @ts-ignore: decorator
@inline export const CHECK_MATCH_UNIFORM: i32 = 4;
/** `matchTableCheck`: Generation.matchKeys is not the number of used slots. */
// @ts-ignore: decorator
@inline export const CHECK_MATCH_COUNT: i32 = 5;

/**
 * Diagnostics and tests, O(slots × chain): the invariants of `gen`'s match table, with the queue
 * applied (call pending.ts settle first). Every used slot's key is found from its home slot at
 * that slot; its copies of its service port's meta word and of its pool's members and table are
 * the records'; its uniform base is what the pool's members make it; a pool's own slot holds the
 * pool record's rr position; Generation.matchKeys counts the used slots. 0 or the first problem
 * (CHECK_MATCH_*), at the slot table.ts `tableCheckSlot` then names.
 */
export function matchTableCheck(gen: Generation): i32 {
  const table = gen.match;
  let used = 0;
  for (let i: i32 = 0; i <= <i32>gen.matchMask; i++) {
    const at = slotAt(table, i);
    const meta = unchecked(table[at + MATCH_META]);
    if (meta == 0) continue;
    used++;
    setCheckSlot(<u32>i);
    if (probeKey(gen, meta, unchecked(table[at + MATCH_W0]), unchecked(table[at + MATCH_W0 + 1]), unchecked(table[at + MATCH_W0 + 2]),
      unchecked(table[at + MATCH_W0 + 3])) != i) return CHECK_MATCH_KEY;
    const sp = <i32>(unchecked(table[at + MATCH_VALUE]) >>> 2);
    const pool = <i32>unchecked(table[at + MATCH_POOL]);
    if (sp >= gen.spCount || pool >= gen.poolCount || unchecked(table[at + MATCH_SP_META]) != gen.spWord(sp, SP_META) ||
        unchecked(table[at + MATCH_MEMBER_START]) != gen.poolWord(pool, POOL_MEMBER_START) ||
        unchecked(table[at + MATCH_MEMBER_COUNT]) != gen.poolWord(pool, POOL_MEMBER_COUNT) ||
        unchecked(table[at + MATCH_TABLE]) != gen.poolWord(pool, POOL_TABLE)) return CHECK_MATCH_COPY;
    if (unchecked(table[at + MATCH_UNIFORM_BASE]) != uniformBase(gen, pool)) return CHECK_MATCH_UNIFORM;
    const address = changetype<usize>(table) + (<usize>at << 2);
    // (wrr keeps its own state in the pool record; only rr moves the slot's position.)
    const rr = ((unchecked(table[at + MATCH_SP_META]) >>> 8) & 0xff) == SCHED_RR;
    if (rr && poolSlot(gen, pool) == address && unchecked(table[at + MATCH_RR_POS]) != gen.poolWord(pool, POOL_POS)) return CHECK_MATCH_RR;
  }
  setCheckSlot(0);
  return used != gen.matchKeys ? CHECK_MATCH_COUNT : 0;
}

/** Match keys of service port `s`: its addresses, plus the node IPs when it has a nodePort. */
export function keyCount(gen: Generation, s: i32): i32 {
  const counts = gen.spWord(s, SP_ADDR_COUNTS);
  const keys = <i32>(counts & 0xffff) + <i32>(counts >>> 16) + <i32>gen.spWord(s, SP_LB_COUNT);
  return gen.spNodePort(s) != 0 ? keys + gen.nodeIPCount : keys;
}

/**
 * Builds `gen.match` from the decoded service ports and node IPs, sized for `extraKeys` more
 * keys than it holds (0 on a full load; delta.ts asks for room when it has to rebuild it).
 */
export function buildServiceTable(gen: Generation, extraKeys: i64 = 0): void {
  beginServiceTable(gen, extraKeys);
  for (let s = 0; s < gen.spCount; s++) servicePortKeys(gen, s, KEYS_INSERT, 0);
}

/** Sizes an empty `gen.match` for its service ports' keys plus `extraKeys` (keys go in with KEYS_INSERT). */
export function beginServiceTable(gen: Generation, extraKeys: i64 = 0): void {
  let keys: i64 = extraKeys;
  for (let s = 0; s < gen.spCount; s++) keys += keyCount(gen, s);
  let size: i64 = 16;
  while (size < keys * 2) size <<= 1;
  gen.match = new StaticArray<u32>(<i32>size * SLOT_WORDS + MATCH_SLACK_WORDS);
  gen.matchMask = <u32>size - 1;
  gen.matchConflicts = 0;
  gen.matchKeys = 0;
}

/** What `servicePortKeys` does with each key of a service port. */
export const KEYS_INSERT: i32 = 0;
export const KEYS_REMOVE: i32 = 1;
/** Point the keys at service port `arg` (the record moved there; pools did not move). */
export const KEYS_RENUMBER: i32 = 2;
/** Count keys held by a service port other than this one whose `released[sp]` is 0. */
export const KEYS_CHECK: i32 = 3;

/** Service ports a delta replaces or removes (KEYS_CHECK): 1 = its keys are being released. */
let released = new StaticArray<u8>(0);

export function setReleased(marks: StaticArray<u8>): void {
  released = marks;
}

/**
 * Applies `op` to every match key of service port `s`, in the order pools follow (pools.ts
 * addServicePortPools: clusterIPs, externalIPs, LB ingress IPs, node IPs). Returns, for
 * KEYS_CHECK, how many keys `gen` already gives to another service port (a conflict).
 * `from` is the generation whose records describe `s` (delta.ts checks a delta's service ports
 * against the serving table).
 */
export function servicePortKeys(gen: Generation, s: i32, op: i32, arg: i32, from: Generation | null = null): i32 {
  const src = from !== null ? from : gen;
  const proto = src.spProtocol(s);
  const port = src.spPort(s);
  const counts = src.spWord(s, SP_ADDR_COUNTS);
  const ips = <i32>(counts & 0xffff) + <i32>(counts >>> 16) + <i32>src.spWord(s, SP_LB_COUNT);
  const nodes = src.spNodePort(s) != 0 ? src.nodeIPCount : 0;
  let addr = <usize>src.spWord(s, SP_ADDR_PTR);
  const nodeBase = changetype<usize>(src.nodeIPs);
  let pool = src.spWord(s, SP_POOL_START);
  let conflicts = 0;
  for (let i = 0; i < ips + nodes; i++) {
    const kind = i < <i32>(counts & 0xffff) ? KIND_CLUSTER_IP
      : i < <i32>(counts & 0xffff) + <i32>(counts >>> 16) ? KIND_EXTERNAL_IP
      : i < ips ? KIND_LOAD_BALANCER : KIND_NODE_PORT;
    const a = i < ips ? addr + <usize>(i * 20) : nodeBase + <usize>((i - ips) * 20);
    const p = kind == KIND_NODE_PORT ? src.spNodePort(s) : port;
    if (op == KEYS_INSERT) {
      insertKey(gen, proto, p, a, (<u32>s << 2) | kind, pool++);
      continue;
    }
    const at = findKey(gen, proto, p, a);
    if (at < 0) continue;
    const owner = <i32>(unchecked(gen.match[slotAt(gen.match, at) + MATCH_VALUE]) >>> 2);
    if (op == KEYS_CHECK) {
      if (unchecked(released[owner]) == 0) conflicts++;
    } else if (owner == s) {
      if (op == KEYS_REMOVE) removeKeyAt(gen, at);
      else unchecked((gen.match[slotAt(gen.match, at) + MATCH_VALUE] = (<u32>arg << 2) | kind));
    }
  }
  return conflicts;
}

/** The slot holding a key, or -1. */
function findKey(gen: Generation, proto: u32, port: u32, addr: usize): i32 {
  const found = probeKey(gen, matchMeta(proto, load<u32>(addr), port), load<u32>(addr, 4), load<u32>(addr, 8), load<u32>(addr, 12), load<u32>(addr, 16));
  return found >= 0 ? found : -1;
}

/** Empties slot `i` with backward-shift deletion, so probe chains stay unbroken without tombstones. */
function removeKeyAt(gen: Generation, i: i32): void {
  const mask = <i32>gen.matchMask;
  const table = gen.match;
  let hole = i;
  let j = i;
  let n: u32 = 0;
  while (true) {
    probeBound(n++, <u32>mask);
    j = (j + 1) & mask;
    const at = slotAt(table, j);
    const m = unchecked(table[at + MATCH_META]);
    if (m == 0) break;
    const home = <i32>(matchHash(m, unchecked(table[at + MATCH_W0]), unchecked(table[at + MATCH_W0 + 1]), unchecked(table[at + MATCH_W0 + 2]),
      unchecked(table[at + MATCH_W0 + 3])) & <u32>mask);
    // Move slot j back into the hole unless its home lies cyclically in (hole, j].
    const between = hole <= j ? home > hole && home <= j : home > hole || home <= j;
    if (!between) {
      memory.copy(changetype<usize>(table) + (<usize>slotAt(table, hole) << 2), changetype<usize>(table) + (<usize>at << 2), SLOT_WORDS << 2);
      hole = j;
    }
  }
  memory.fill(changetype<usize>(table) + (<usize>slotAt(table, hole) << 2), 0, SLOT_WORDS << 2);
  gen.matchKeys--;
}

/**
 * The address of a destination's home match slot, where `matchSlotFrom` starts probing. `connect`
 * reads it before probing the flow table, so the two misses overlap (issue 10).
 */
// @ts-ignore: decorator
@inline export function matchHome(gen: Generation, proto: u32, family: u32, w0: u32, w1: u32, w2: u32, w3: u32, port: u32): usize {
  const table = changetype<usize>(gen.match) + (<usize>slotsPad(gen.match) << 2);
  return table + (<usize>(matchHash(matchMeta(proto, family, port), w0, w1, w2, w3) & gen.matchMask) << SLOT_SHIFT);
}

/**
 * The address of the match slot (layout.ts MATCH_*) for a destination, or 0 when nothing matches.
 * Addresses are in Address word form (host/engine/address.ts). The caller reads the slot's words
 * itself: no module global is written, so the data path has nothing to sync (lock.ts).
 */
// @ts-ignore: decorator
@inline export function matchSlot(gen: Generation, proto: u32, family: u32, w0: u32, w1: u32, w2: u32, w3: u32, port: u32): usize {
  return matchSlotFrom(gen, matchHome(gen, proto, family, w0, w1, w2, w3, port), proto, family, w0, w1, w2, w3, port);
}

/** matchSlot, probing from `home` (matchHome of the same destination). */
// @ts-ignore: decorator
@inline export function matchSlotFrom(gen: Generation, home: usize, proto: u32, family: u32, w0: u32, w1: u32, w2: u32, w3: u32, port: u32): usize {
  const meta = matchMeta(proto, family, port);
  const mask = gen.matchMask;
  const table = changetype<usize>(gen.match) + (<usize>slotsPad(gen.match) << 2);
  let i = <u32>((home - table) >> SLOT_SHIFT);
  let n: u32 = 0;
  while (true) {
    probeBound(n++, mask);
    const at = table + (<usize>i << SLOT_SHIFT);
    const m = load<u32>(at, MATCH_META << 2);
    if (m == meta && load<u32>(at, MATCH_W0 << 2) == w0 && load<u32>(at, (MATCH_W0 + 1) << 2) == w1 &&
        load<u32>(at, (MATCH_W0 + 2) << 2) == w2 && load<u32>(at, (MATCH_W0 + 3) << 2) == w3) return at;
    if (m == 0) return 0;
    i = (i + 1) & mask;
  }
}

/** Word `word` (MATCH_*) of the slot at `at` (from matchSlot). */
// @ts-ignore: decorator
@inline export function slotWord(at: usize, word: i32): u32 {
  return load<u32>(at + (<usize>word << 2));
}

/**
 * The service port and kind for a destination, as `sp << 2 | kind`, or -1 when nothing matches;
 * its pool and service port meta word in `matchedPool` / `matchedMeta` (views and the Envoy filter).
 */
export function matchService(gen: Generation, proto: u32, family: u32, w0: u32, w1: u32, w2: u32, w3: u32, port: u32): i32 {
  const at = matchSlot(gen, proto, family, w0, w1, w2, w3, port);
  if (at == 0) return -1;
  matchedPool = <i32>slotWord(at, MATCH_POOL);
  matchedMeta = slotWord(at, MATCH_SP_META);
  return <i32>slotWord(at, MATCH_VALUE);
}

/** Whether the source lies in one of the service port's loadBalancerSourceRanges. */
export function sourceAllowed(gen: Generation, sp: i32, family: u32, w0: u32, w1: u32, w2: u32, w3: u32): bool {
  const n = <i32>gen.spWord(sp, SP_RANGE_COUNT);
  if (n == 0) return true;
  const start = <i32>gen.spWord(sp, SP_RANGE_START);
  for (let r = start; r < start + n; r++) {
    const at = r * RANGE_WORDS;
    if (unchecked(gen.ranges[at]) != family) continue;
    let bits = <i32>unchecked(gen.ranges[at + 5]);
    let ok = true;
    for (let i = 0; i < 4 && bits > 0 && ok; i++) {
      const word = i == 0 ? w0 : i == 1 ? w1 : i == 2 ? w2 : w3;
      const mask: u32 = bits >= 32 ? 0xffffffff : ~(<u32>0xffffffff >>> <u32>bits);
      ok = (word & mask) == (unchecked(gen.ranges[at + 1 + i]) & mask);
      bits -= 32;
    }
    if (ok) return true;
  }
  return false;
}

