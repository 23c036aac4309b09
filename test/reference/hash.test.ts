/**
 * The reference model's hash primitives against published vectors: the kernel's lib/test_siphash.c
 * (SipHash-2-4 from the SipHash reference, and hsiphash = SipHash-1-3 on 64-bit kernels, key
 * 00 01 … 0f, input 00 01 … len−1), and hash_32 against the hand-computed buckets of §9.
 */
import { describe, expect, it } from 'vitest';
import { fls, gcd, hash32, hsiphash, sipHash } from './hash.js';

const K0 = 0x0706050403020100n;
const K1 = 0x0f0e0d0c0b0a0908n;
const bytes = (len: number): Uint8Array => Uint8Array.from({ length: len }, (_, i) => i);

// lib/test_siphash.c: test_vectors_siphash[0..11] and test_vectors_hsiphash[0..11] (BITS_PER_LONG 64).
const SIPHASH_2_4 = [
  0x726fdb47dd0e0e31n, 0x74f839c593dc67fdn, 0x0d6c8009d9a94f5an, 0x85676696d7fb7e2dn,
  0xcf2794e0277187b7n, 0x18765564cd99a68dn, 0xcbc9466e58fee3cen, 0xab0200f58b01d137n,
  0x93f5f5799a932462n, 0x9e0082df0ba9e4b0n, 0x7a5dbbc594ddb9f3n, 0xf4b32f46226bada7n,
];
const HSIPHASH_64 = [
  0x050fc4dc, 0x7d57ca93, 0x4dc7d44d, 0xe7ddf7fb, 0x88d38328, 0x49533b67,
  0xc59f22a7, 0x9bb11140, 0x8d299a8e, 0x6c063de4, 0x92ff097f, 0xf94dc352,
];
// test_vectors_hsiphash[63], a multi-block input.
const HSIPHASH_64_LEN63 = 0xb7bbb3a8;

describe('SipHash', () => {
  it.each(SIPHASH_2_4.map((v, len) => [len, v]))('SipHash-2-4 of %i bytes', (len, v) => {
    expect(sipHash(2, 4, K0, K1, bytes(len))).toBe(v);
  });
  it.each(HSIPHASH_64.map((v, len) => [len, v]))('hsiphash (SipHash-1-3) of %i bytes', (len, v) => {
    expect(hsiphash(K0, K1, bytes(len))).toBe(v);
  });
  it('hsiphash of 63 bytes (seven full blocks and a tail)', () => {
    expect(hsiphash(K0, K1, bytes(63))).toBe(HSIPHASH_64_LEN63);
  });
});

describe('hash_32 and helpers', () => {
  it('takes the top bits of x · 0x61C88647', () => {
    expect(hash32(0xcb00710a, 8)).toBe(162);
    expect(hash32(0, 8)).toBe(0);
    expect(hash32(1, 32)).toBe(0x61c88647);
  });
  it('gcd and fls behave like the kernel helpers', () => {
    expect([gcd(100, 300), gcd(7, 3), gcd(6, 4)]).toEqual([100, 1, 2]);
    expect([fls(0), fls(1), fls(63), fls(64), fls(300)]).toEqual([0, 1, 6, 7, 9]);
  });
});
