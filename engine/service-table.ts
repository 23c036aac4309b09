/**
 * The service match index: (protocol, destination address, destination port) → service port and
 * the kind of address that matched (clusterIP, externalIP, LB ingress IP, or nodePort on one of
 * the node's addresses). Open addressing with linear probing over `Generation.match`, built once
 * per generation at load factor ≤ 1/2, so a lookup is O(1) whatever the number of services.
 *
 *   slot (8 × u32 = 32 bytes, one half cache line):
 *   +------+------+------+------+-------------------------------+---------------+------+---------+
 *   |  w0  |  w1  |  w2  |  w3  | meta: proto | v6<<8 | port<<16 | sp << 2 | kind | pool | sp meta |
 *   +------+------+------+------+-------------------------------+---------------+------+---------+
 *   meta 0 = empty slot (every protocol number is non-zero). The slot names the address's own
 *   pool (its IPVS virtual service, pools.ts) and repeats the service port's meta word (SP_META:
 *   flags), so a new connection reads no service port record on the common path.
 *
 * When two service ports claim the same key (e.g. the same externalIP and port), the first in
 * snapshot order wins, as the first matching iptables rule does; the loser is counted in
 * `Generation.matchConflicts`.
 */
import { Generation } from './generation';
import { finishHash, mixWord } from './hash';
import {
  KIND_CLUSTER_IP, KIND_EXTERNAL_IP, KIND_LOAD_BALANCER, KIND_NODE_PORT, SP_ADDR_COUNTS, SP_ADDR_OFFSET,
  RANGE_WORDS, SP_LB_COUNT, SP_META, SP_POOL_START, SP_RANGE_COUNT, SP_RANGE_START,
} from './layout';

// @ts-ignore: decorator
@inline const SLOT_WORDS: i32 = 8;

// @ts-ignore: decorator
@inline function matchMeta(proto: u32, family: u32, port: u32): u32 {
  return proto | (family == 6 ? <u32>0x100 : 0) | (port << 16);
}

// @ts-ignore: decorator
@inline function matchHash(meta: u32, w0: u32, w1: u32, w2: u32, w3: u32): u32 {
  let h = mixWord(0x5bd1e995, meta);
  h = mixWord(h, w0);
  h = mixWord(h, w1);
  h = mixWord(h, w2);
  h = mixWord(h, w3);
  return finishHash(h);
}

/** Pool and service port meta word of the last successful `matchService`. */
export let matchedPool: i32 = -1;
export let matchedMeta: u32 = 0;

function insertKey(gen: Generation, proto: u32, port: u32, addr: usize, value: u32, pool: u32): void {
  const sp = <i32>(value >>> 2);
  const family = load<u32>(addr);
  const spMeta = gen.spWord(sp, SP_META);
  const w0 = load<u32>(addr, 4);
  const w1 = load<u32>(addr, 8);
  const w2 = load<u32>(addr, 12);
  const w3 = load<u32>(addr, 16);
  const meta = matchMeta(proto, family, port);
  const mask = gen.matchMask;
  const table = gen.match;
  let i = matchHash(meta, w0, w1, w2, w3) & mask;
  while (true) {
    const at = <i32>i * SLOT_WORDS;
    const m = unchecked(table[at + 4]);
    if (m == 0) {
      unchecked((table[at] = w0));
      unchecked((table[at + 1] = w1));
      unchecked((table[at + 2] = w2));
      unchecked((table[at + 3] = w3));
      unchecked((table[at + 4] = meta));
      unchecked((table[at + 5] = value));
      unchecked((table[at + 6] = pool));
      unchecked((table[at + 7] = spMeta));
      return;
    }
    if (m == meta && unchecked(table[at]) == w0 && unchecked(table[at + 1]) == w1 &&
        unchecked(table[at + 2]) == w2 && unchecked(table[at + 3]) == w3) {
      gen.matchConflicts++;
      return;
    }
    i = (i + 1) & mask;
  }
}

/** Builds `gen.match` from the decoded service ports and node IPs. */
export function buildServiceTable(gen: Generation): void {
  const base = changetype<usize>(gen.bytes);
  let keys: i64 = 0;
  for (let s = 0; s < gen.spCount; s++) {
    const counts = gen.spWord(s, SP_ADDR_COUNTS);
    keys += <i64>(counts & 0xffff) + <i64>(counts >>> 16) + <i64>gen.spWord(s, SP_LB_COUNT);
    if (gen.spNodePort(s) != 0) keys += gen.nodeIPCount;
  }
  let size: i64 = 16;
  while (size < keys * 2) size <<= 1;
  gen.match = new StaticArray<u32>(<i32>size * SLOT_WORDS);
  gen.matchMask = <u32>size - 1;
  gen.matchConflicts = 0;
  const nodeBase = changetype<usize>(gen.nodeIPs);
  for (let s = 0; s < gen.spCount; s++) {
    const proto = gen.spProtocol(s);
    const port = gen.spPort(s);
    const counts = gen.spWord(s, SP_ADDR_COUNTS);
    const clusterIPs = <i32>(counts & 0xffff);
    const externalIPs = <i32>(counts >>> 16);
    const lbIPs = <i32>gen.spWord(s, SP_LB_COUNT);
    let addr = base + <usize>gen.spWord(s, SP_ADDR_OFFSET);
    const v = <u32>s << 2;
    // Pools follow the same address order (pools.ts addServicePortPools).
    let pool = gen.spWord(s, SP_POOL_START);
    for (let i = 0; i < clusterIPs; i++, addr += 20) insertKey(gen, proto, port, addr, v | KIND_CLUSTER_IP, pool++);
    for (let i = 0; i < externalIPs; i++, addr += 20) insertKey(gen, proto, port, addr, v | KIND_EXTERNAL_IP, pool++);
    for (let i = 0; i < lbIPs; i++, addr += 20) insertKey(gen, proto, port, addr, v | KIND_LOAD_BALANCER, pool++);
    const nodePort = gen.spNodePort(s);
    if (nodePort != 0) {
      for (let i = 0; i < gen.nodeIPCount; i++) {
        insertKey(gen, proto, nodePort, nodeBase + <usize>(i * 20), v | KIND_NODE_PORT, pool++);
      }
    }
  }
}

/**
 * The service port and kind for a destination, as `sp << 2 | kind`, or -1 when nothing matches.
 * Addresses are in Address word form (host/engine/address.ts).
 */
// @ts-ignore: decorator
@inline export function matchService(gen: Generation, proto: u32, family: u32, w0: u32, w1: u32, w2: u32, w3: u32, port: u32): i32 {
  const meta = matchMeta(proto, family, port);
  const mask = gen.matchMask;
  const table = changetype<usize>(gen.match);
  let i = matchHash(meta, w0, w1, w2, w3) & mask;
  while (true) {
    const at = table + (<usize>i << 5);
    const m = load<u32>(at, 16);
    if (m == meta && load<u32>(at) == w0 && load<u32>(at, 4) == w1 && load<u32>(at, 8) == w2 && load<u32>(at, 12) == w3) {
      matchedPool = <i32>load<u32>(at, 24);
      matchedMeta = load<u32>(at, 28);
      return <i32>load<u32>(at, 20);
    }
    if (m == 0) return -1;
    i = (i + 1) & mask;
  }
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

