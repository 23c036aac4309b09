/**
 * random (not an IPVS scheduler): a weighted random pick among servers with weight > 0, from a
 * xorshift32 stream seeded by the host (EngineOptions.seed), so runs are reproducible.
 */
import { Generation } from '../generation';
import { POOL_MEMBER_COUNT } from '../layout';
import { weightOf } from './common';

let state: u32 = 1;

/** Sets the stream's state (instances that share one engine state, lock.ts). */
export function setRandomState(s: u32): void {
  state = s;
}

export function seedRandom(seed: u32): void {
  state = seed != 0 ? seed : 1;
}

// @ts-ignore: decorator
@inline function next(): u32 {
  let x = state;
  x ^= x << 13;
  x ^= x >>> 17;
  x ^= x << 5;
  state = x;
  return x;
}

export function scheduleRandom(gen: Generation, pool: i32): i32 {
  const n = <i32>gen.poolWord(pool, POOL_MEMBER_COUNT);
  let total: u64 = 0;
  for (let k = 0; k < n; k++) total += weightOf(gen, gen.member(pool, k));
  if (total == 0) return -1;
  let r = (<u64>next() * total) >>> 32;
  for (let k = 0; k < n; k++) {
    const w = <u64>weightOf(gen, gen.member(pool, k));
    if (r < w) return k;
    r -= w;
  }
  return -1;
}

/** The stream's current state, for explain (engine/explain-views.ts): the next draw starts from it. */
export function randomState(): u32 {
  return state;
}
