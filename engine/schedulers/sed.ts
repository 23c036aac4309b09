/**
 * sed: shortest expected delay (net/netfilter/ipvs/ip_vs_sed.c; reference §5.3).
 * As wlc with overhead a + 1 (inactive connections ignored).
 */
import { Generation } from '../generation';
import { POOL_MEMBER_COUNT } from '../layout';
import { activeOf, weightOf } from './common';

export function scheduleSED(gen: Generation, pool: i32): i32 {
  const n = <i32>gen.poolWord(pool, POOL_MEMBER_COUNT);
  let k = 0;
  while (k < n && weightOf(gen, gen.member(pool, k)) == 0) k++;
  if (k == n) return -1;
  let least = k;
  let lb = gen.member(pool, k);
  let loh = <i64>activeOf(gen, lb) + 1;
  for (k = k + 1; k < n; k++) {
    const b = gen.member(pool, k);
    const doh = <i64>activeOf(gen, b) + 1;
    if (loh * <i64>weightOf(gen, b) > doh * <i64>weightOf(gen, lb)) {
      least = k;
      lb = b;
      loh = doh;
    }
  }
  return least;
}
