/**
 * rr: round robin (net/netfilter/ipvs/ip_vs_rr.c; reference/ipvs-schedulers.md §3).
 * Position p: 0 = list head, k = member k-1 was chosen last. Scan the members after p to the end,
 * then wrap up to and including p; the first with weight > 0 wins and becomes p.
 */
import { Generation } from '../generation';
import { POOL_POS } from '../layout';
import { readAhead, weightOf } from './common';

/** `first`, `n`: the pool's first member slot and member count (schedulers/index.ts). */
export function scheduleRR(gen: Generation, pool: i32, first: i32, n: i32): i32 {
  // The position comes from the pool record: the member lines are read meanwhile.
  const seen = readAhead(gen, first, n);
  const p = <i32>gen.poolWord(pool, POOL_POS) | <i32>(seen & 0);
  let j = p >= n ? 0 : p;
  for (let i = 0; i < n; i++) {
    if (weightOf(gen, first + j) > 0) {
      gen.setPoolWord(pool, POOL_POS, j + 1);
      return j;
    }
    j = j + 1 == n ? 0 : j + 1;
  }
  return -1;
}
