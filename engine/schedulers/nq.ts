/**
 * nq: never queue (net/netfilter/ipvs/ip_vs_nq.c; reference §5.4).
 * The first idle server (no active connections, weight > 0) wins at once; otherwise the sed rule.
 */
import { Generation } from '../generation';
import { POOL_MEMBER_COUNT } from '../layout';
import { activeOf, weightOf } from './common';

export function scheduleNQ(gen: Generation, pool: i32): i32 {
  const n = <i32>gen.poolWord(pool, POOL_MEMBER_COUNT);
  let least = -1;
  let lb = -1;
  let loh: i64 = 0;
  for (let k = 0; k < n; k++) {
    const b = gen.member(pool, k);
    const w = weightOf(gen, b);
    if (w == 0) continue;
    const a = activeOf(gen, b);
    if (a == 0) return k;
    const doh = <i64>a + 1;
    if (least < 0 || loh * <i64>w > doh * <i64>weightOf(gen, lb)) {
      least = k;
      lb = b;
      loh = doh;
    }
  }
  return least;
}
