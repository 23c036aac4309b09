/**
 * mh: Maglev hashing (net/netfilter/ipvs/ip_vs_mh.c, Linux ≥ 4.18; reference §7).
 * M = 4093 slots; per server offset = H(key1, v) mod M, skip = H(key2, v) mod (M − 1) + 1 with
 * v = port + fold(addr); populated in list order, `turns` slots per server per round, turns from
 * last_weight / gcd >> rshift. H is hsiphash (SipHash-1-3 on 64-bit kernels) with fixed keys.
 */
import { Generation } from '../generation';
import {
  B_FOLD, B_PORT, MEMBER_LAST_WEIGHT, EMPTY_BUCKET, MH_TAB_BITS, MH_TAB_SIZE, NOT_UNIFORM, POOL_MEMBER_COUNT, POOL_TABLE,
} from '../layout';
import { hsiphash1u32 } from '../hash';
import { eligible, gcd, readAhead, setDetail, weightOf } from './common';

/** generate_hash_secret(): hash1 = (2654435761, 2654435761), hash2 = (2654446892, 2654446892). */
// @ts-ignore: decorator
@inline const KEY1: u64 = 2654435761;
// @ts-ignore: decorator
@inline const KEY2: u64 = 2654446892;

/** `ip_vs_mh_hashkey`: hsiphash of (offset + port + fold(addr)) mod 2^32. */
// @ts-ignore: decorator
@inline export function mhHash(fold: u32, port: u32, key: u64, offset: u32): u32 {
  return hsiphash1u32(offset + port + fold, key, key);
}

/** Scratch for the build: per-member perm, skip and turns (grown on demand, off the hot path). */
let perm = new StaticArray<u32>(0);
let skip = new StaticArray<u32>(0);
let turns = new StaticArray<u32>(0);
let taken = new StaticArray<u8>(MH_TAB_SIZE);

function fls(x: u32): u32 {
  return 32 - clz<u32>(x);
}

export function buildMH(gen: Generation, pool: i32): void {
  const n = <i32>gen.poolWord(pool, POOL_MEMBER_COUNT);
  const t = <i32>gen.poolWord(pool, POOL_TABLE);
  for (let j = 0; j < MH_TAB_SIZE; j++) unchecked((gen.tables[t + j] = EMPTY_BUCKET));
  let g: u32 = 0;
  let maxw: u32 = 0;
  for (let k = 0; k < n; k++) {
    const lw = gen.memberWord(gen.member(pool, k), MEMBER_LAST_WEIGHT);
    if (lw > 0) g = g > 0 ? gcd(lw, g) : lw;
    if (lw > maxw) maxw = lw;
  }
  if (g < 1) return;
  const shift = <i32>fls(maxw / g) - <i32>MH_TAB_BITS;
  const rshift: u32 = shift > 0 ? <u32>shift : 0;
  if (perm.length < n) {
    perm = new StaticArray<u32>(n);
    skip = new StaticArray<u32>(n);
    turns = new StaticArray<u32>(n);
  }
  for (let k = 0; k < n; k++) {
    const slot = gen.member(pool, k);
    const b = gen.memberBackend(slot);
    const v = gen.backendWord(b, B_FOLD);
    const port = gen.backendWord(b, B_PORT);
    unchecked((perm[k] = mhHash(v, port, KEY1, 0) % <u32>MH_TAB_SIZE));
    unchecked((skip[k] = (mhHash(v, port, KEY2, 0) % <u32>(MH_TAB_SIZE - 1)) + 1));
    const lw = gen.memberWord(slot, MEMBER_LAST_WEIGHT);
    const tr = (lw / g) >> rshift;
    unchecked((turns[k] = tr != 0 ? tr : lw != 0 ? 1 : 0));
  }
  memory.fill(changetype<usize>(taken), 0, MH_TAB_SIZE);
  let filled = 0;
  let dtCount: u32 = 0;
  while (filled < MH_TAB_SIZE) {
    let k = 0;
    while (k < n) {
      const tk = unchecked(turns[k]);
      if (tk < 1) {
        k++;
        continue;
      }
      let c = unchecked(perm[k]);
      while (unchecked(taken[c]) != 0) {
        c += unchecked(skip[k]);
        if (c >= <u32>MH_TAB_SIZE) c -= MH_TAB_SIZE;
      }
      unchecked((perm[k] = c));
      unchecked((taken[c] = 1));
      unchecked((gen.tables[t + <i32>c] = <u16>k));
      if (++filled == MH_TAB_SIZE) return;
      if (++dtCount >= tk) {
        dtCount = 0;
        k++;
      }
    }
  }
}

/** `first`, `n`, `t`: the pool's first member slot, member count and table offset (schedulers/index.ts). */
export function scheduleMH(gen: Generation, first: i32, n: i32, t: i32, srcFold: u32, port: u32, fallback: bool, base: u32): i32 {
  const ihash = mhHash(srcFold, port, KEY1, 0) % <u32>MH_TAB_SIZE;
  setDetail(<i32>ihash);
  // A uniform pool's pick needs no member line; otherwise read them while the table entry comes.
  const seen = base != NOT_UNIFORM ? 0 : readAhead(gen, first, <i32>n);
  const k = unchecked(gen.tables[t + <i32>ihash]) | <u16>(seen & 0);
  if (k == EMPTY_BUCKET) return -1;
  if (eligible(gen, base, first, <i32>k)) return <i32>k;
  if (!fallback) return -1;
  for (let off: u32 = 0; off < <u32>MH_TAB_SIZE; off++) {
    const roff = (off + ihash) % <u32>MH_TAB_SIZE;
    const slot = mhHash(srcFold, port, KEY1, roff) % <u32>MH_TAB_SIZE;
    const m = unchecked(gen.tables[t + <i32>slot]);
    if (m == EMPTY_BUCKET) return -1;
    if (weightOf(gen, first + <i32>m) > 0) {
      setDetail(<i32>slot);
      return <i32>m;
    }
  }
  return -1;
}
