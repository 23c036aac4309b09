/**
 * Hash primitives: the kernel's `hash_32` and address folding (dh, sh), hsiphash = SipHash-1-3 on
 * 64-bit kernels (mh), and the engine's own table hash (flows, affinity, service match).
 * Sources: include/linux/hash.h, lib/siphash.c, net/netfilter/ipvs/ip_vs_{dh,sh,mh}.c
 * (reference/ipvs-schedulers.md §6.1, §7).
 */

/** include/linux/hash.h GOLDEN_RATIO_32 (v4.7+). */
// @ts-ignore: decorator
@inline const GOLDEN_RATIO_32: u32 = 0x61c88647;

/** `hash_32(x, bits)`: multiply by GOLDEN_RATIO_32, keep the top `bits` bits. */
// @ts-ignore: decorator
@inline export function hash32(x: u32, bits: u32): u32 {
  return (x * GOLDEN_RATIO_32) >>> (32 - bits);
}

/**
 * Address fold used by dh/sh/mh: IPv4 is the address as a host-order u32; IPv6 is the XOR of its
 * four big-endian words (`ntohl(ip6[0]^ip6[1]^ip6[2]^ip6[3])`). Words here are already host-order.
 */
// @ts-ignore: decorator
@inline export function foldAddress(family: u32, w0: u32, w1: u32, w2: u32, w3: u32): u32 {
  return family == 6 ? w0 ^ w1 ^ w2 ^ w3 : w0;
}

// @ts-ignore: decorator
@inline function rotl64(x: u64, b: u64): u64 {
  return (x << b) | (x >>> (64 - b));
}

/**
 * `hsiphash_1u32(v, key)` on a 64-bit little-endian kernel: SipHash-1-3 of the 4-byte message `v`
 * with the 128-bit key (k0, k1); the result is the low 32 bits of v0^v1^v2^v3.
 */
export function hsiphash1u32(v: u32, k0: u64, k1: u64): u32 {
  let v0: u64 = 0x736f6d6570736575 ^ k0;
  let v1: u64 = 0x646f72616e646f6d ^ k1;
  let v2: u64 = 0x6c7967656e657261 ^ k0;
  let v3: u64 = 0x7465646279746573 ^ k1;
  const b: u64 = (<u64>4 << 56) | <u64>v;
  v3 ^= b;
  // one compression round
  v0 += v1; v1 = rotl64(v1, 13); v1 ^= v0; v0 = rotl64(v0, 32);
  v2 += v3; v3 = rotl64(v3, 16); v3 ^= v2;
  v0 += v3; v3 = rotl64(v3, 21); v3 ^= v0;
  v2 += v1; v1 = rotl64(v1, 17); v1 ^= v2; v2 = rotl64(v2, 32);
  v0 ^= b;
  v2 ^= 0xff;
  // three finalization rounds
  for (let i = 0; i < 3; i++) {
    v0 += v1; v1 = rotl64(v1, 13); v1 ^= v0; v0 = rotl64(v0, 32);
    v2 += v3; v3 = rotl64(v3, 16); v3 ^= v2;
    v0 += v3; v3 = rotl64(v3, 21); v3 ^= v0;
    v2 += v1; v1 = rotl64(v1, 17); v1 ^= v2; v2 = rotl64(v2, 32);
  }
  return <u32>(v0 ^ v1 ^ v2 ^ v3);
}

/** One step of the engine's table hash (murmur3-style word mixing). */
// @ts-ignore: decorator
@inline export function mixWord(h: u32, w: u32): u32 {
  w *= 0xcc9e2d51;
  w = rotl<u32>(w, 15);
  w *= 0x1b873593;
  h ^= w;
  h = rotl<u32>(h, 13);
  return h * 5 + 0xe6546b64;
}

/** Final avalanche of the engine's table hash (murmur3 fmix32). */
// @ts-ignore: decorator
@inline export function finishHash(h: u32): u32 {
  h ^= h >>> 16;
  h *= 0x85ebca6b;
  h ^= h >>> 13;
  h *= 0xc2b2ae35;
  h ^= h >>> 16;
  return h;
}

/**
 * The secret key of the flow and affinity table hashes: sixteen 32-bit words, set from the host's
 * seed before any entry is inserted (as IPVS keys its connection-table jhash with a random
 * `ip_vs_conn_rnd` at boot). With public keys an attacker can pick tuples whose NH terms vanish,
 * e.g. a source address `a` with `a + k1 == 0` takes the ports out of the hash, and fill one
 * probe chain; with secret keys NH is universal (collision probability 2^-32 per term pair).
 */
const TABLE_KEY: usize = memory.data(64, 8);

/** Word `i` (0..15) of the table key. */
// @ts-ignore: decorator
@inline export function tableKey(i: i32): u32 {
  return load<u32>(TABLE_KEY + (<usize>i << 2));
}

/** splitmix64 step (Steele, Lea, Flood 2014): expands a seed into key words. */
function splitmix64(state: u64): u64 {
  let z = state + 0x9e3779b97f4a7c15;
  z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9;
  z = (z ^ (z >>> 27)) * 0x94d049bb133111eb;
  return z ^ (z >>> 31);
}

/**
 * Sets the table key from 128 bits of seed material. Changing it invalidates every stored hash:
 * callers clear the tables first (core.ts init and seedTables do).
 */
export function seedTableKey(a: u32, b: u32, c: u32, d: u32): void {
  let x: u64 = (<u64>a << 32) | <u64>b;
  let y: u64 = (<u64>c << 32) | <u64>d;
  for (let i = 0; i < 8; i++) {
    x = splitmix64(x ^ y);
    y = splitmix64(y + 0x632be59bd9b4e019);
    store<u64>(TABLE_KEY + (<usize>i << 3), x ^ (y << 1));
  }
}

/**
 * One NH term (Black et al., "UMAC", CRYPTO 1999): (a + k1) × (b + k2) over 32-bit words, as a
 * 64-bit product. A key's terms are independent multiplies, so hashing a 10-word flow key costs
 * one multiply's latency plus a sum, instead of a serial chain of ten mixWord steps.
 */
// @ts-ignore: decorator
@inline export function nhTerm(a: u32, k1: u32, b: u32, k2: u32): u64 {
  return <u64>(a + k1) * <u64>(b + k2);
}

/** Final mix of an NH sum into 32 bits: fold, multiply, keep the high word (all bits mixed). */
// @ts-ignore: decorator
@inline export function finishNH(x: u64): u32 {
  x ^= x >>> 29;
  x *= 0xbf58476d1ce4e5b9;
  x ^= x >>> 32;
  x *= 0x94d049bb133111eb;
  return <u32>(x >>> 32);
}

/**
 * Longest probe from a key's home slot in the flow and affinity indexes (issue 10). With the keyed
 * hash at load ≤ 3/4 chains this long do not occur by chance; the tables refuse a key whose chain (table.ts tableProbeFits)
 * would exceed it, so no entry sits further from home and a lookup stops after MAX_PROBE + 1
 * slots whatever the tuples.
 */
// @ts-ignore: decorator
@inline export const MAX_PROBE: u32 = 128;
