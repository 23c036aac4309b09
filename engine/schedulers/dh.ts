/**
 * dh: destination hashing (net/netfilter/ipvs/ip_vs_dh.c; reference §6.2).
 * 256 buckets, bucket j = member j mod n; lookup hash_32(fold(daddr), 8); no port, no fallback.
 */
import { Generation } from '../generation';
import { EMPTY_BUCKET, HASH_TAB_BITS, HASH_TAB_SIZE, POOL_MEMBER_COUNT, POOL_TABLE } from '../layout';
import { hash32 } from '../hash';
import { eligible, setDetail } from './common';

export function buildDH(gen: Generation, pool: i32): void {
  const n = <i32>gen.poolWord(pool, POOL_MEMBER_COUNT);
  const t = <i32>gen.poolWord(pool, POOL_TABLE);
  for (let j = 0; j < HASH_TAB_SIZE; j++) {
    unchecked((gen.tables[t + j] = n == 0 ? EMPTY_BUCKET : <u16>(j % n)));
  }
}

/** `first`, `t`: the pool's first member slot and table offset (schedulers/index.ts). */
export function scheduleDH(gen: Generation, first: i32, t: i32, dstFold: u32, base: u32): i32 {
  const bucket = <i32>hash32(dstFold, HASH_TAB_BITS);
  setDetail(bucket);
  const k = unchecked(gen.tables[t + bucket]);
  if (k == EMPTY_BUCKET) return -1;
  return eligible(gen, base, first, <i32>k) ? <i32>k : -1;
}
