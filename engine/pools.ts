/**
 * Scheduler pools: one per distinct endpoint set of a service port (the cluster set for ClusterIP
 * traffic, the external set for NodePort / externalIPs / LB ingress; shared when identical), with
 * their dh/sh/mh tables and rr/wrr state. State carries over from the previous generation the way
 * the kernel's hooks would treat the change (reference/ipvs-schedulers.md §3, §4).
 */
import { Generation } from './generation';
import {
  H_FLAGS, H_WEIGHT, BF_CLUSTER, BF_EXTERNAL, HASH_TAB_SIZE, MH_TAB_SIZE, NO_TABLE, POOL_CW, POOL_DI,
  POOL_BASE, POOL_MEMBER_COUNT, POOL_MEMBER_START, POOL_MW, POOL_POS, POOL_SCHED, POOL_SET, POOL_SP, POOL_TABLE,
  POOL_WORDS, SCHED_DH, SCHED_MH, SCHED_RR, SCHED_SH, SCHED_WRR, SP_BACKEND_COUNT, SP_BACKEND_START,
  SP_CLUSTER_POOL, SP_EXTERNAL_POOL, SP_WORDS,
} from './layout';
import { Remap } from './remap';
import { buildDH } from './schedulers/dh';
import { buildSH } from './schedulers/sh';
import { buildMH } from './schedulers/mh';
import { wrrDestChanged, wrrInitFresh } from './schedulers/wrr';

function addPool(gen: Generation, sp: i32, set: u32, memberAt: i32): i32 {
  const pool = gen.poolCount++;
  const start = <i32>gen.spWord(sp, SP_BACKEND_START);
  const end = start + <i32>gen.spWord(sp, SP_BACKEND_COUNT);
  let m = memberAt;
  for (let b = start; b < end; b++) {
    if ((gen.hotWord(b, H_FLAGS) & set) != 0) unchecked((gen.members[m++] = b));
  }
  const sched = gen.spScheduler(sp);
  gen.setPoolWord(pool, POOL_MEMBER_START, memberAt);
  gen.setPoolWord(pool, POOL_MEMBER_COUNT, m - memberAt);
  gen.setPoolWord(pool, POOL_SCHED, sched | (gen.spFlags(sp) << 8));
  gen.setPoolWord(pool, POOL_TABLE, NO_TABLE);
  gen.setPoolWord(pool, POOL_SP, sp);
  gen.setPoolWord(pool, POOL_SET, set);
  gen.setPoolWord(pool, POOL_BASE, m - memberAt == end - start ? <u32>start : NO_TABLE);
  return m;
}

function sameSet(gen: Generation, sp: i32): bool {
  const start = <i32>gen.spWord(sp, SP_BACKEND_START);
  const end = start + <i32>gen.spWord(sp, SP_BACKEND_COUNT);
  for (let b = start; b < end; b++) {
    const f = gen.hotWord(b, H_FLAGS);
    if (((f & BF_CLUSTER) != 0) != ((f & BF_EXTERNAL) != 0)) return false;
  }
  return true;
}

function tableSize(sched: u32): i32 {
  if (sched == SCHED_DH || sched == SCHED_SH) return HASH_TAB_SIZE;
  return sched == SCHED_MH ? MH_TAB_SIZE : 0;
}

/** The old pool serving the same set of the same service port, or -1. */
function oldPoolFor(gen: Generation, pool: i32, old: Generation | null, remap: Remap | null): i32 {
  if (old === null || remap === null) return -1;
  const o = unchecked(remap.spNewToOld[<i32>gen.poolWord(pool, POOL_SP)]);
  if (o < 0 || old.spScheduler(o) != (gen.poolWord(pool, POOL_SCHED) & 0xff)) return -1;
  const set = gen.poolWord(pool, POOL_SET);
  return <i32>old.spWord(o, (set & BF_CLUSTER) != 0 ? SP_CLUSTER_POOL : SP_EXTERNAL_POOL);
}

/** rr: keep the last chosen server, or its nearest surviving predecessor (ip_vs_rr_del_dest). */
function carryRR(gen: Generation, pool: i32, old: Generation, oldPool: i32, remap: Remap): void {
  const n = <i32>gen.poolWord(pool, POOL_MEMBER_COUNT);
  for (let k = <i32>old.poolWord(oldPool, POOL_POS) - 1; k >= 0; k--) {
    const nb = unchecked(remap.backendOldToNew[old.member(oldPool, k)]);
    if (nb < 0) continue;
    for (let j = 0; j < n; j++) {
      if (gen.member(pool, j) == nb) {
        gen.setPoolWord(pool, POOL_POS, j + 1);
        return;
      }
    }
  }
  gen.setPoolWord(pool, POOL_POS, 0);
}

/** wrr: unchanged servers and weights keep the mark; any change applies ip_vs_wrr_dest_changed. */
function carryWRR(gen: Generation, pool: i32, old: Generation, oldPool: i32, remap: Remap): void {
  const n = <i32>gen.poolWord(pool, POOL_MEMBER_COUNT);
  let same = n == <i32>old.poolWord(oldPool, POOL_MEMBER_COUNT);
  for (let k = 0; same && k < n; k++) {
    const ob = old.member(oldPool, k);
    const nb = gen.member(pool, k);
    same = unchecked(remap.backendOldToNew[ob]) == nb && old.hotWord(ob, H_WEIGHT) == gen.hotWord(nb, H_WEIGHT);
  }
  if (same) {
    gen.setPoolWord(pool, POOL_POS, old.poolWord(oldPool, POOL_POS));
    gen.setPoolWord(pool, POOL_CW, old.poolWord(oldPool, POOL_CW));
    gen.setPoolWord(pool, POOL_MW, old.poolWord(oldPool, POOL_MW));
    gen.setPoolWord(pool, POOL_DI, old.poolWord(oldPool, POOL_DI));
  } else {
    wrrDestChanged(gen, pool, <i32>old.poolWord(oldPool, POOL_CW));
  }
}

/** Builds every pool, its members, tables and scheduler state. */
export function buildPools(gen: Generation, old: Generation | null, remap: Remap | null): void {
  gen.pools = new StaticArray<u32>(gen.spCount * 2 * POOL_WORDS);
  gen.members = new StaticArray<u32>(gen.backendCount * 2);
  gen.poolCount = 0;
  let m = 0;
  for (let s = 0; s < gen.spCount; s++) {
    const sw = s * SP_WORDS;
    if (sameSet(gen, s)) {
      const pool = gen.poolCount;
      m = addPool(gen, s, BF_CLUSTER | BF_EXTERNAL, m);
      unchecked((gen.sps[sw + SP_CLUSTER_POOL] = pool));
      unchecked((gen.sps[sw + SP_EXTERNAL_POOL] = pool));
    } else {
      unchecked((gen.sps[sw + SP_CLUSTER_POOL] = gen.poolCount));
      m = addPool(gen, s, BF_CLUSTER, m);
      unchecked((gen.sps[sw + SP_EXTERNAL_POOL] = gen.poolCount));
      m = addPool(gen, s, BF_EXTERNAL, m);
    }
  }
  let tables: i32 = 0;
  for (let p = 0; p < gen.poolCount; p++) {
    const size = tableSize(gen.poolWord(p, POOL_SCHED) & 0xff);
    if (size > 0 && gen.poolWord(p, POOL_MEMBER_COUNT) > 0) {
      gen.setPoolWord(p, POOL_TABLE, tables);
      tables += size;
    }
  }
  gen.tables = new StaticArray<u16>(tables);
  for (let p = 0; p < gen.poolCount; p++) {
    const sched = gen.poolWord(p, POOL_SCHED) & 0xff;
    const hasTable = gen.poolWord(p, POOL_TABLE) != NO_TABLE;
    if (sched == SCHED_DH && hasTable) buildDH(gen, p);
    else if (sched == SCHED_SH && hasTable) buildSH(gen, p);
    else if (sched == SCHED_MH && hasTable) buildMH(gen, p);
    else if (sched == SCHED_RR || sched == SCHED_WRR) {
      const op = oldPoolFor(gen, p, old, remap);
      if (op < 0) {
        if (sched == SCHED_WRR) wrrInitFresh(gen, p);
      } else if (sched == SCHED_RR) {
        carryRR(gen, p, old!, op, remap!);
      } else {
        carryWRR(gen, p, old!, op, remap!);
      }
    }
  }
}
