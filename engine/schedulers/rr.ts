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
 * pool's match slot, which holds the position (layout.ts MATCH_RR_POS; the pool record's copy is
 * written later, pending.ts), or 0: then the record holds it. `base`: the slot's
 * MATCH_UNIFORM_BASE (NOT_UNIFORM without a slot): in a uniform pool the member after the
 * position wins without a member line being read.
 */
export function scheduleRR(gen: Generation, pool: i32, first: i32, n: i32, at: usize, base: u32): i32 {
  const posAt = at != 0 ? at + (<usize>MATCH_RR_POS << 2) : gen.poolWordAddress(pool, POOL_POS);
  let j: i32;
  if (base != NOT_UNIFORM) {
    const p = <i32>load<u32>(posAt);
    j = p >= n ? 0 : p;
    setLocal(<i32>(base + <u32>j));
  } else {
    // The member lines are read while the position comes.
    const seen = readAhead(gen, first, n);
    j = nextEligible(gen, first, n, <i32>load<u32>(posAt) | <i32>(seen & 0));
    if (j < 0) return -1;
  }
  store<u32>(posAt, j + 1);
  if (at != 0) positionLater(pool, j + 1);
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
