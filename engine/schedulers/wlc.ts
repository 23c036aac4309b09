/**
 * wlc: weighted least connection (net/netfilter/ipvs/ip_vs_wlc.c; reference §5.2).
 * The first server with weight > 0 starts as `least`; a later server d replaces it when
 * loh·w(d) > doh·w(least) in 64 bits (weight not re-checked: weight 0 can never win).
 */
import { Generation } from '../generation';
import { POOL_MEMBER_COUNT } from '../layout';
import { overhead, weightOf } from './common';

export function scheduleWLC(gen: Generation, pool: i32): i32 {
  const n = <i32>gen.poolWord(pool, POOL_MEMBER_COUNT);
  let k = 0;
  while (k < n && weightOf(gen, gen.member(pool, k)) == 0) k++;
  if (k == n) return -1;
  let least = k;
  let lb = gen.member(pool, k);
  let loh = <i64>overhead(gen, lb);
  for (k = k + 1; k < n; k++) {
    const b = gen.member(pool, k);
    const doh = <i64>overhead(gen, b);
    if (loh * <i64>weightOf(gen, b) > doh * <i64>weightOf(gen, lb)) {
      least = k;
      lb = b;
      loh = doh;
    }
  }
  return least;
}
