/**
 * lc: least connection (net/netfilter/ipvs/ip_vs_lc.c; reference/ipvs-schedulers.md §5.1).
 * Minimum overhead 256·a + i over servers with weight > 0; strict `<`, so ties go to the earlier.
 */
import { Generation } from '../generation';
import { POOL_MEMBER_COUNT } from '../layout';
import { overhead, weightOf } from './common';

export function scheduleLC(gen: Generation, pool: i32): i32 {
  const n = <i32>gen.poolWord(pool, POOL_MEMBER_COUNT);
  let least = -1;
  let loh: u32 = 0;
  for (let k = 0; k < n; k++) {
    const b = gen.member(pool, k);
    if (weightOf(gen, b) == 0) continue;
    const doh = overhead(gen, b);
    if (least < 0 || doh < loh) {
      least = k;
      loh = doh;
    }
  }
  return least;
}
