/**
 * wrr: weighted round robin (net/netfilter/ipvs/ip_vs_wrr.c; reference/ipvs-schedulers.md §4).
 * Pool state: position cl (0 = head, k = member k-1), current weight cw, mw = max − (di − 1),
 * di = gcd of the positive weights.
 */
import { Generation } from '../generation';
import { POOL_CW, POOL_DI, POOL_MEMBER_COUNT, POOL_MW, POOL_POS } from '../layout';
import { gcd, weightOf } from './common';

/** di and mw of a pool's current weights (`ip_vs_wrr_gcd_weight`, `ip_vs_wrr_max_weight`). */
export function wrrRecompute(gen: Generation, pool: i32): void {
  const n = <i32>gen.poolWord(pool, POOL_MEMBER_COUNT);
  let g: u32 = 0;
  let max: u32 = 0;
  for (let k = 0; k < n; k++) {
    const w = weightOf(gen, gen.member(pool, k));
    if (w > 0) g = g > 0 ? gcd(w, g) : w;
    if (w > max) max = w;
  }
  const di: u32 = g > 0 ? g : 1;
  gen.setPoolWord(pool, POOL_DI, di);
  gen.setPoolWord(pool, POOL_MW, max - (di - 1));
}

/**
 * The reset after any add, delete or update of a server (`ip_vs_wrr_dest_changed`): cl = head,
 * new di/mw; cw = mw if cw > mw or cw = 0, else rounded to ⌊cw/di⌋·di + 1 when di > 1.
 */
export function wrrDestChanged(gen: Generation, pool: i32, cw: i32): void {
  wrrRecompute(gen, pool);
  const mw = <i32>gen.poolWord(pool, POOL_MW);
  const di = <i32>gen.poolWord(pool, POOL_DI);
  if (cw > mw || cw == 0) cw = mw;
  else if (di > 1) cw = (cw / di) * di + 1;
  gen.setPoolWord(pool, POOL_CW, <u32>cw);
  gen.setPoolWord(pool, POOL_POS, 0);
}

/**
 * State of a pool built from scratch the way kube-proxy and our ipvs exporter build it: service
 * created empty (mw = cw = 0), then servers added one by one so that the kernel list ends up in
 * engine order, i.e. the last member first (reference §4, §9.2: the phase depends on build order).
 */
export function wrrInitFresh(gen: Generation, pool: i32): void {
  const n = <i32>gen.poolWord(pool, POOL_MEMBER_COUNT);
  let g: u32 = 0;
  let max: u32 = 0;
  let cw: i32 = 0;
  for (let k = n - 1; k >= 0; k--) {
    const w = weightOf(gen, gen.member(pool, k));
    if (w > 0) g = g > 0 ? gcd(w, g) : w;
    if (w > max) max = w;
    const di = <i32>(g > 0 ? g : 1);
    const mw = <i32>max - (di - 1);
    if (cw > mw || cw == 0) cw = mw;
    else if (di > 1) cw = (cw / di) * di + 1;
  }
  wrrRecompute(gen, pool);
  gen.setPoolWord(pool, POOL_CW, <u32>cw);
  gen.setPoolWord(pool, POOL_POS, 0);
}

export function scheduleWRR(gen: Generation, pool: i32): i32 {
  const n = <i32>gen.poolWord(pool, POOL_MEMBER_COUNT);
  const mw = <i32>gen.poolWord(pool, POOL_MW);
  const di = <i32>gen.poolWord(pool, POOL_DI);
  if (mw == 0) return -1;
  let cw = <i32>gen.poolWord(pool, POOL_CW);
  const last = <i32>gen.poolWord(pool, POOL_POS);
  let cur = last;
  let stop = -1;
  let lastPass = false;
  let restarted = false;
  // Terminates within mw/di + 2 passes (the kernel's own bound); the cap is a safety net.
  for (let pass = 0; pass < 0x20000; pass++) {
    for (let j = cur; j < n; j++) {
      if (<i32>weightOf(gen, gen.member(pool, j)) >= cw) {
        gen.setPoolWord(pool, POOL_CW, <u32>cw);
        gen.setPoolWord(pool, POOL_POS, j + 1);
        return j;
      }
      if (j + 1 == stop) {
        gen.setPoolWord(pool, POOL_CW, <u32>cw);
        gen.setPoolWord(pool, POOL_POS, stop);
        return -1;
      }
    }
    cur = 0;
    cw -= di;
    if (cw <= 0) {
      cw = mw;
      if (lastPass || last == 0) {
        gen.setPoolWord(pool, POOL_CW, <u32>cw);
        gen.setPoolWord(pool, POOL_POS, 0);
        return -1;
      }
      restarted = true;
    }
    lastPass = cw <= di;
    if (lastPass && restarted && last != 0) stop = last;
  }
  gen.setPoolWord(pool, POOL_CW, <u32>cw);
  gen.setPoolWord(pool, POOL_POS, 0);
  return -1;
}
