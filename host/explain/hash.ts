/**
 * The kernel hash functions the hashing schedulers use, in TypeScript, so explain can show the
 * hash input and the bucket it gives (reference/ipvs-schedulers.md §6.1, §7; engine/hash.ts is the
 * engine's copy): `hash_32` (include/linux/hash.h), the dh/sh/mh address fold, and hsiphash
 * (SipHash-1-3 on 64-bit kernels) with ip_vs_mh.c's fixed keys.
 */
import type { Address } from '../engine/address.js';

/** include/linux/hash.h GOLDEN_RATIO_32. */
const GOLDEN_RATIO_32 = 0x61c88647;

/** `hash_32(x, bits)`: multiply by GOLDEN_RATIO_32 (mod 2^32), keep the top `bits` bits. */
export function hash32(x: number, bits: number): number {
  return Math.imul(x >>> 0, GOLDEN_RATIO_32) >>> (32 - bits);
}

/** IPv4: the address as a host-order u32; IPv6: the XOR of its four words. */
export function foldAddress(a: Address): number {
  return (a.family === 6 ? a.w0 ^ a.w1 ^ a.w2 ^ a.w3 : a.w0) >>> 0;
}

const MASK64 = (1n << 64n) - 1n;
const rotl = (x: bigint, b: bigint): bigint => ((x << b) | (x >> (64n - b))) & MASK64;

/** `hsiphash_1u32(v, key)` with key (k, k): SipHash-1-3 of 4 bytes, low 32 bits of the result. */
export function hsiphash1u32(v: number, k: bigint): number {
  let v0 = 0x736f6d6570736575n ^ k;
  let v1 = 0x646f72616e646f6dn ^ k;
  let v2 = 0x6c7967656e657261n ^ k;
  let v3 = 0x7465646279746573n ^ k;
  const round = (): void => {
    v0 = (v0 + v1) & MASK64; v1 = rotl(v1, 13n); v1 ^= v0; v0 = rotl(v0, 32n);
    v2 = (v2 + v3) & MASK64; v3 = rotl(v3, 16n); v3 ^= v2;
    v0 = (v0 + v3) & MASK64; v3 = rotl(v3, 21n); v3 ^= v0;
    v2 = (v2 + v1) & MASK64; v1 = rotl(v1, 17n); v1 ^= v2; v2 = rotl(v2, 32n);
  };
  const b = (4n << 56n) | BigInt(v >>> 0);
  v3 ^= b;
  round();
  v0 ^= b;
  v2 ^= 0xffn;
  round();
  round();
  round();
  return Number((v0 ^ v1 ^ v2 ^ v3) & 0xffffffffn);
}

/** ip_vs_mh.c generate_hash_secret(): hash1 = (2654435761, 2654435761). */
export const MH_KEY1 = 2654435761n;
/** M: primes[CONFIG_IP_VS_MH_TAB_INDEX(12) - 8]. */
export const MH_TAB_SIZE = 4093;
export const HASH_TAB_BITS = 8;
export const HASH_TAB_SIZE = 256;

/** `ip_vs_mh_hashkey`: hsiphash of (offset + port + fold) mod 2^32. */
export function mhHash(fold: number, port: number, offset: number): number {
  return hsiphash1u32((offset + port + fold) >>> 0, MH_KEY1);
}
