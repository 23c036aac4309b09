/**
 * rr: round robin (net/netfilter/ipvs/ip_vs_rr.c; reference/ipvs-schedulers.md §3).
 * Position p: 0 = list head, k = member k-1 was chosen last. Scan the members after p to the end,
 * then wrap up to and including p; the first with weight > 0 wins and becomes p.
 */
import { Generation } from '../generation';
import { MATCH_RR_POS, NOT_UNIFORM, POOL_POS } from '../layout';
import { positionLater } from '../pending';
import { readAhead, setLocal, weightOf } from './common';

/**
 * `first`, `n`: the pool's first member slot and member count (schedulers/index.ts). `at`: the
 * pool's match slot, or 0 (then the position is the pool record's); `base`: its
 * MATCH_UNIFORM_BASE.
 */
export function scheduleRR(gen: Generation, pool: i32, first: i32, n: i32, at: usize, base: u32): i32 {
  if (at != 0) return scheduleRRAt(gen, pool, first, n, at, base);
  // The position comes from the pool record: the member lines are read meanwhile.
  const seen = readAhead(gen, first, n);
  const p = <i32>gen.poolWord(pool, POOL_POS) | <i32>(seen & 0);
  const j = nextEligible(gen, first, n, p);
  if (j >= 0) gen.setPoolWord(pool, POOL_POS, j + 1);
  return j;
}

/**
 * rr through the pool's match slot, which holds the position (layout.ts MATCH_RR_POS): in a
 * uniform pool (`base`, MATCH_UNIFORM_BASE) the member after the position wins without a member
 * line being read. The pool record's copy is written later (pending.ts).
 */
function scheduleRRAt(gen: Generation, pool: i32, first: i32, n: i32, at: usize, base: u32): i32 {
  const p = <i32>load<u32>(at, MATCH_RR_POS << 2);
  let j: i32;
  if (base != NOT_UNIFORM) {
    j = p >= n ? 0 : p;
    setLocal(<i32>(base + <u32>j));
  } else {
    const seen = readAhead(gen, first, n);
    j = nextEligible(gen, first, n, p | <i32>(seen & 0));
    if (j < 0) return -1;
  }
  store<u32>(at, j + 1, MATCH_RR_POS << 2);
  positionLater(pool, j + 1);
  return j;
}

/** The first member with weight > 0 from position `p` on (wrapping), or -1. */
// @ts-ignore: decorator
@inline function nextEligible(gen: Generation, first: i32, n: i32, p: i32): i32 {
  let j = p >= n ? 0 : p;
  for (let i = 0; i < n; i++) {
    if (weightOf(gen, first + j) > 0) return j;
    j = j + 1 == n ? 0 : j + 1;
  }
  return -1;
}
