/**
 * Hash primitives of the IPVS hashing schedulers, written for reading, not for speed
 * (reference/ipvs-schedulers.md §6.1 and §7). BigInt is fine here: this is the test oracle.
 */
import type { Address } from '../../host/engine/address.js';

const U32 = 0xffff_ffff;
const U64 = (1n << 64n) - 1n;

/** IPVS address fold: IPv4 is the address as a u32; IPv6 is the XOR of its four big-endian words. */
export function fold(addr: Address): number {
  return addr.family === 4 ? addr.w0 >>> 0 : (addr.w0 ^ addr.w1 ^ addr.w2 ^ addr.w3) >>> 0;
}

/** Linux `hash_32(x, bits)` since v4.7: (x · 0x61C88647 mod 2^32) >> (32 − bits). */
export function hash32(x: number, bits: number): number {
  return Number((BigInt(x >>> 0) * 0x61c88647n) & BigInt(U32)) >>> (32 - bits);
}

/** Greatest common divisor of two positive integers. */
export function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

/** Linux `fls`: 1-based index of the highest set bit, 0 for 0. */
export function fls(x: number): number {
  return x === 0 ? 0 : 32 - Math.clz32(x);
}

function rotl(x: bigint, b: bigint): bigint {
  return ((x << b) | (x >> (64n - b))) & U64;
}

/**
 * SipHash-c-d of `bytes` with the 128-bit key (k0, k1), straight from the SipHash paper:
 * c compression rounds per 8-byte little-endian block, the last block carrying len << 56,
 * v2 ^= 0xff, then d finalization rounds. Returns the 64-bit result.
 */
export function sipHash(cRounds: number, dRounds: number, k0: bigint, k1: bigint, bytes: Uint8Array): bigint {
  let v0 = 0x736f6d6570736575n ^ k0;
  let v1 = 0x646f72616e646f6dn ^ k1;
  let v2 = 0x6c7967656e657261n ^ k0;
  let v3 = 0x7465646279746573n ^ k1;
  const round = (): void => {
    v0 = (v0 + v1) & U64; v1 = rotl(v1, 13n); v1 ^= v0; v0 = rotl(v0, 32n);
    v2 = (v2 + v3) & U64; v3 = rotl(v3, 16n); v3 ^= v2;
    v0 = (v0 + v3) & U64; v3 = rotl(v3, 21n); v3 ^= v0;
    v2 = (v2 + v1) & U64; v1 = rotl(v1, 17n); v1 ^= v2; v2 = rotl(v2, 32n);
  };
  const blocks: bigint[] = [];
  for (let i = 0; i + 8 <= bytes.length; i += 8) {
    let m = 0n;
    for (let j = 7; j >= 0; j--) m = (m << 8n) | BigInt(bytes[i + j]!);
    blocks.push(m);
  }
  let last = BigInt(bytes.length & 0xff) << 56n;
  const tail = bytes.length - (bytes.length % 8);
  for (let j = tail; j < bytes.length; j++) last |= BigInt(bytes[j]!) << BigInt(8 * (j - tail));
  blocks.push(last);
  for (const m of blocks) {
    v3 ^= m;
    for (let r = 0; r < cRounds; r++) round();
    v0 ^= m;
  }
  v2 ^= 0xffn;
  for (let r = 0; r < dRounds; r++) round();
  return v0 ^ v1 ^ v2 ^ v3;
}

/** Linux `hsiphash` on 64-bit kernels: SipHash-1-3, truncated to 32 bits. */
export function hsiphash(k0: bigint, k1: bigint, bytes: Uint8Array): number {
  return Number(sipHash(1, 3, k0, k1, bytes) & BigInt(U32)) >>> 0;
}

/** hsiphash of one u32 as ip_vs_mh.c hashes it: its 4 little-endian bytes. */
export function hsiphashU32(k0: bigint, k1: bigint, v: number): number {
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setUint32(0, v >>> 0, true);
  return hsiphash(k0, k1, bytes);
}
