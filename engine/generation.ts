/**
 * One loaded generation: everything decoded from a snapshot plus the indexes and scheduler tables
 * built from it. Built completely off the hot path by `decodeSnapshot` (snapshot.ts) and
 * `buildPools` (pools.ts), then swapped in atomically by core.ts. Record layouts: layout.ts.
 */
import { B_WORDS, H_WORDS, MEMBER_ACTIVE, MEMBER_BACKEND, MEMBER_INACTIVE, MATCH_SLACK_WORDS, MATCH_WORDS, MEMBER_WORDS, POOL_MEMBER_START, POOL_WORDS, SP_WORDS, SP_META, SP_PORTS } from './layout';

export class Generation {
  /** Monotonic generation number (1 for the first snapshot loaded). */
  id: u32 = 0;
  /** The snapshot bytes themselves; names are read from here (UTF-8). */
  bytes: StaticArray<u8> = new StaticArray<u8>(0);
  /** Node addresses, 5 words each (family, w0..w3): NodePorts are served on each. */
  nodeIPs: StaticArray<u32> = new StaticArray<u32>(0);
  nodeIPCount: i32 = 0;
  /** Service port records (layout.ts SP_*). */
  sps: StaticArray<u32> = new StaticArray<u32>(0);
  spCount: i32 = 0;
  /**
   * Per service port, the epoch count when its numbering last changed under its flows: an IPv4
   * flow's cached decision tagged before that is stale (flow-decisions.ts). At least spCount long.
   */
  spEpochs: StaticArray<u32> = new StaticArray<u32>(0);
  /** Backend records (layout.ts B_*), grouped by service port, each group in engine order. */
  backends: StaticArray<u32> = new StaticArray<u32>(0);
  backendCount: i32 = 0;
  /** Hot backend records (layout.ts H_*): weight, flags, counters, owner. */
  hot: StaticArray<u32> = new StaticArray<u32>(0);
  /** loadBalancerSourceRanges records (layout.ts RANGE_WORDS). */
  ranges: StaticArray<u32> = new StaticArray<u32>(0);
  /** Scheduler pools (layout.ts POOL_*), one per service address; their member records and tables. */
  pools: StaticArray<u32> = new StaticArray<u32>(0);
  poolCount: i32 = 0;
  /** Member records (layout.ts MEMBER_*), each pool's in kernel list order. */
  members: StaticArray<u32> = new StaticArray<u32>(0);
  memberCount: i32 = 0;
  /** Per pool (POOL_INVERSE): backend of the pool's family range → member slot, or -1. */
  memberOf: StaticArray<i32> = new StaticArray<i32>(0);
  tables: StaticArray<u16> = new StaticArray<u16>(0);
  /** Service match index (service-table.ts): MATCH_WORDS words per slot, `matchMask + 1` slots from its first 64-byte boundary. */
  match: StaticArray<u32> = new StaticArray<u32>(16 * MATCH_WORDS + MATCH_SLACK_WORDS);
  matchMask: u32 = 15;
  /** Name index (names.ts): slots hold service port + 1, 0 = empty. */
  names: StaticArray<i32> = new StaticArray<i32>(16);
  /** Match keys that lost to an earlier service port with the same (protocol, address, port). */
  matchConflicts: u32 = 0;
  /** Keys in `match` (its load factor stays ≤ 1/2; delta.ts rebuilds it when a delta would pass that). */
  matchKeys: i32 = 0;
  /** Service ports in `names`. */
  nameCount: i32 = 0;

  // Bookkeeping for deltas (delta.ts), which patch this generation in place. Every array above
  // may hold more records than are in use: the counts (`backendCount`, `memberCount`, …) are
  // high-water marks, and records a delta orphaned stay until the next full snapshot.
  /** Entries of `tables` in use (high-water). */
  tablesUsed: i32 = 0;
  /** Entries of `memberOf` in use (high-water). */
  inverseUsed: i32 = 0;
  /** Source range records in use (high-water). */
  rangeCount: i32 = 0;
  /** Backend and member records no service port refers to any more (orphaned by deltas). */
  garbageBackends: i32 = 0;
  garbageMembers: i32 = 0;
  /** Offsets in `tables` of dh/sh (256) and mh (4093) tables orphaned by deltas, for reuse. */
  freeHashTables: Array<i32> = [];
  freeMHTables: Array<i32> = [];
  /** Delta snapshots whose address lists and names service ports point into (SP_ADDR_PTR, SP_NAME_PTR). */
  arenas: Array<StaticArray<u8>> = [];
  /** Their bytes, kept until the next full snapshot (views.ts counts them into garbageRecords). */
  arenaBytes: i64 = 0;

  // @ts-ignore: decorator
  @inline spWord(sp: i32, word: i32): u32 {
    return unchecked(this.sps[sp * SP_WORDS + word]);
  }
  // @ts-ignore: decorator
  @inline backendWord(b: i32, word: i32): u32 {
    return unchecked(this.backends[b * B_WORDS + word]);
  }
  // @ts-ignore: decorator
  @inline setBackendWord(b: i32, word: i32, value: u32): void {
    unchecked((this.backends[b * B_WORDS + word] = value));
  }
  // @ts-ignore: decorator
  @inline hotWord(b: i32, word: i32): u32 {
    return unchecked(this.hot[b * H_WORDS + word]);
  }
  // @ts-ignore: decorator
  @inline setHotWord(b: i32, word: i32, value: u32): void {
    unchecked((this.hot[b * H_WORDS + word] = value));
  }
  // @ts-ignore: decorator
  @inline poolWord(pool: i32, word: i32): u32 {
    return unchecked(this.pools[pool * POOL_WORDS + word]);
  }
  // @ts-ignore: decorator
  @inline setPoolWord(pool: i32, word: i32, value: u32): void {
    unchecked((this.pools[pool * POOL_WORDS + word] = value));
  }
  /** The address of word `word` of pool `pool`'s record, for raw loads and stores. */
  // @ts-ignore: decorator
  @inline poolWordAddress(pool: i32, word: i32): usize {
    return changetype<usize>(this.pools) + ((<usize>pool * POOL_WORDS + <usize>word) << 2);
  }
  /** The member slot of a pool's k-th destination (list order, head first): what schedulers index. */
  // @ts-ignore: decorator
  @inline member(pool: i32, k: i32): i32 {
    return <i32>this.poolWord(pool, POOL_MEMBER_START) + k;
  }
  // @ts-ignore: decorator
  @inline memberWord(slot: i32, word: i32): u32 {
    return unchecked(this.members[slot * MEMBER_WORDS + word]);
  }
  // @ts-ignore: decorator
  @inline setMemberWord(slot: i32, word: i32, value: u32): void {
    unchecked((this.members[slot * MEMBER_WORDS + word] = value));
  }
  /**
   * Adds `delta` to a member's active (or inactive) connections. Backend totals are summed from
   * the members when a view asks (views.ts), so this writes no second, random record (issue 10).
   */
  // @ts-ignore: decorator
  @inline count(slot: i32, active: bool, delta: i32): void {
    const m = slot * MEMBER_WORDS + (active ? MEMBER_ACTIVE : MEMBER_INACTIVE);
    unchecked((this.members[m] = unchecked(this.members[m]) + <u32>delta));
  }
  /** The backend (global index) behind a member slot. */
  // @ts-ignore: decorator
  @inline memberBackend(slot: i32): i32 {
    return <i32>unchecked(this.members[slot * MEMBER_WORDS + MEMBER_BACKEND]);
  }
  // @ts-ignore: decorator
  @inline spProtocol(sp: i32): u32 {
    return this.spWord(sp, SP_META) & 0xff;
  }
  // @ts-ignore: decorator
  @inline spScheduler(sp: i32): u32 {
    return (this.spWord(sp, SP_META) >>> 8) & 0xff;
  }
  // @ts-ignore: decorator
  @inline spFlags(sp: i32): u32 {
    return (this.spWord(sp, SP_META) >>> 16) & 0xff;
  }
  // @ts-ignore: decorator
  @inline spPort(sp: i32): u32 {
    return this.spWord(sp, SP_PORTS) & 0xffff;
  }
  // @ts-ignore: decorator
  @inline spNodePort(sp: i32): u32 {
    return this.spWord(sp, SP_PORTS) >>> 16;
  }
}
