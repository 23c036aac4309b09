/**
 * sh: source hashing (net/netfilter/ipvs/ip_vs_sh.c; reference §6.3).
 * 256 buckets filled in list order, each server taking w(d) consecutive buckets (weight 0 still
 * takes one); key hash_32(port + fold(saddr), 8), port only with sh-port; sh-fallback probes
 * (2·ihash + k) mod 256 until an empty bucket.
 */
import { Generation } from '../generation';
import { EMPTY_BUCKET, HASH_TAB_BITS, HASH_TAB_SIZE, POOL_MEMBER_COUNT, POOL_TABLE } from '../layout';
import { hash32 } from '../hash';
import { eligible, setDetail, weightOf } from './common';

export function buildSH(gen: Generation, pool: i32): void {
  const n = <i32>gen.poolWord(pool, POOL_MEMBER_COUNT);
  const t = <i32>gen.poolWord(pool, POOL_TABLE);
  let k = 0;
  let count: u32 = 0;
  for (let j = 0; j < HASH_TAB_SIZE; j++) {
    if (n == 0) {
      unchecked((gen.tables[t + j] = EMPTY_BUCKET));
      continue;
    }
    unchecked((gen.tables[t + j] = <u16>k));
    if (++count >= weightOf(gen, gen.member(pool, k))) {
      count = 0;
      k = k + 1 == n ? 0 : k + 1;
    }
  }
}

/** `first`, `t`: the pool's first member slot and table offset (schedulers/index.ts). */
export function scheduleSH(gen: Generation, first: i32, t: i32, srcFold: u32, port: u32, fallback: bool, base: u32): i32 {
  const ihash = <i32>hash32(port + srcFold, HASH_TAB_BITS);
  setDetail(ihash);
  const k = unchecked(gen.tables[t + ihash]);
  if (k == EMPTY_BUCKET) return -1;
  if (eligible(gen, base, first, <i32>k)) return <i32>k;
  if (!fallback) return -1;
  for (let off = 0; off < HASH_TAB_SIZE; off++) {
    const bucket = (ihash + ((off + ihash) & (HASH_TAB_SIZE - 1))) & (HASH_TAB_SIZE - 1);
    const m = unchecked(gen.tables[t + bucket]);
    if (m == EMPTY_BUCKET) return -1;
    if (weightOf(gen, first + <i32>m) > 0) {
      setDetail(bucket);
      return <i32>m;
    }
  }
  return -1;
}
