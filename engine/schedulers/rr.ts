/**
 * rr: round robin (net/netfilter/ipvs/ip_vs_rr.c; reference/ipvs-schedulers.md §3).
 * Position p: 0 = list head, k = member k-1 was chosen last. Scan the members after p to the end,
 * then wrap up to and including p; the first with weight > 0 wins and becomes p.
 */
import { Generation } from '../generation';
import { POOL_POS } from '../layout';
import { weightOf } from './common';

/**
 * Members whose lines rr reads ahead, in parallel with the pool record (2 records per line): the
 * position comes from the pool record, so without this the chosen member's miss waits on it.
 */
// @ts-ignore: decorator
@inline const READ_AHEAD: i32 = 16;

/** `first`, `n`: the pool's first member slot and member count (schedulers/index.ts). */
export function scheduleRR(gen: Generation, pool: i32, first: i32, n: i32): i32 {
  // Independent loads of the pool's member lines (results unused: the CPU issues the misses while
  // the pool record's is in flight; Wasm has no prefetch instruction).
  const ahead = n < READ_AHEAD ? n : READ_AHEAD;
  let seen: u32 = 0;
  for (let i = 0; i < ahead; i += 2) seen |= weightOf(gen, first + i);
  if (ahead > 1) seen |= weightOf(gen, first + ahead - 1);
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
