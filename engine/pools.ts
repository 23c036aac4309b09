/**
 * Scheduler pools: one per (distinct endpoint set, IP family) of a service port. The sets are the
 * cluster set for ClusterIP traffic and the external set for NodePort / externalIPs / LB ingress
 * (shared when identical); the family split follows kube-proxy, which runs one proxier per IP
 * family (pkg/proxy/metaproxier): traffic to an IPv4 address is only balanced over IPv4
 * endpoints, traffic to an IPv6 address over IPv6 ones. Each pool has its own dh/sh/mh table and
 * rr/wrr state, carried over from the previous generation the way the kernel's hooks would treat
 * the change (reference/ipvs-schedulers.md §3, §4).
 */
import { Generation } from './generation';
import {
  B_FAMILY, H_FLAGS, H_WEIGHT, BF_CLUSTER, BF_EXTERNAL, BF_READY, BF_SERVING, BF_TERMINATING, HASH_TAB_SIZE,
  MH_TAB_SIZE, NO_TABLE, POOL_BASE, POOL_CW, POOL_DI, POOL_FAMILY, POOL_FAMILY_END, POOL_FAMILY_START,
  POOL_HAS_ENDPOINTS, POOL_MEMBER_COUNT, POOL_MEMBER_START, POOL_MW, POOL_POS, POOL_SCHED, POOL_SET, POOL_SP,
  POOL_TABLE, POOL_WORDS, SCHED_DH, SCHED_MH, SCHED_RR, SCHED_SH, SCHED_WRR, SPF_HAS_ENDPOINTS, SP_BACKEND_COUNT,
  SP_BACKEND_START, SP_CLUSTER_POOL, SP_EXTERNAL_POOL, SP_WORDS,
} from './layout';
import { Remap } from './remap';
import { buildDH } from './schedulers/dh';
import { buildSH } from './schedulers/sh';
import { buildMH } from './schedulers/mh';
import { wrrDestChanged, wrrInitFresh } from './schedulers/wrr';

/** Offset of the IPv6 pool from the IPv4 pool of the same set (pools come in pairs). */
// @ts-ignore: decorator
@inline export function familyPoolOffset(family: u32): i32 {
  return family == 6 ? 1 : 0;
}

/**
 * Whether an empty pool of this family answers Drop (else Reject). kube-proxy's per-family proxier
 * sees only its family's endpoints; its `hasAnyEndpoints` (pkg/proxy/topology.go
 * CategorizeEndpoints) is true when one of them is Ready, or Serving and Terminating, and then a
 * service with no usable endpoint for this traffic (Local policy, no local endpoint) gets DROP;
 * with none at all it gets REJECT (reference/kube-proxy.md §1.2, §1.7). So: Drop iff the model says
 * hasEndpoints and some backend of this family is ready, or serving and terminating.
 */
function familyHasEndpoints(gen: Generation, sp: i32, from: i32, to: i32): bool {
  if ((gen.spFlags(sp) & SPF_HAS_ENDPOINTS) == 0) return false;
  for (let b = from; b < to; b++) {
    const f = gen.hotWord(b, H_FLAGS);
    if ((f & BF_READY) != 0 || (f & (BF_SERVING | BF_TERMINATING)) == (BF_SERVING | BF_TERMINATING)) return true;
  }
  return false;
}

/** The end of service port `sp`'s IPv4 backends: engine order puts IPv4 before IPv6. */
function ipv4End(gen: Generation, sp: i32): i32 {
  const start = <i32>gen.spWord(sp, SP_BACKEND_START);
  const end = start + <i32>gen.spWord(sp, SP_BACKEND_COUNT);
  let b = start;
  while (b < end && gen.backendWord(b, B_FAMILY) == 4) b++;
  return b;
}

/** One pool: the backends in [from, to) (one family) that are in `set`. Returns the next member slot. */
function addPool(gen: Generation, sp: i32, set: u32, family: u32, from: i32, to: i32, memberAt: i32): i32 {
  const pool = gen.poolCount++;
  let m = memberAt;
  for (let b = from; b < to; b++) {
    if ((gen.hotWord(b, H_FLAGS) & set) != 0) unchecked((gen.members[m++] = b));
  }
  const sched = gen.spScheduler(sp);
  gen.setPoolWord(pool, POOL_MEMBER_START, memberAt);
  gen.setPoolWord(pool, POOL_MEMBER_COUNT, m - memberAt);
  gen.setPoolWord(pool, POOL_SCHED, sched | (gen.spFlags(sp) << 8));
  gen.setPoolWord(pool, POOL_TABLE, NO_TABLE);
  gen.setPoolWord(pool, POOL_SP, sp);
  gen.setPoolWord(pool, POOL_SET, set);
  gen.setPoolWord(pool, POOL_BASE, m - memberAt == to - from ? <u32>from : NO_TABLE);
  gen.setPoolWord(pool, POOL_FAMILY_START, from);
  gen.setPoolWord(pool, POOL_FAMILY_END, to);
  gen.setPoolWord(pool, POOL_HAS_ENDPOINTS, familyHasEndpoints(gen, sp, from, to) ? 1 : 0);
  gen.setPoolWord(pool, POOL_FAMILY, family);
  return m;
}

/** The IPv4 and the IPv6 pool of one set, at indexes poolCount and poolCount + 1. */
function addPoolPair(gen: Generation, sp: i32, set: u32, split: i32, memberAt: i32): i32 {
  const start = <i32>gen.spWord(sp, SP_BACKEND_START);
  const end = start + <i32>gen.spWord(sp, SP_BACKEND_COUNT);
  const m = addPool(gen, sp, set, 4, start, split, memberAt);
  return addPool(gen, sp, set, 6, split, end, m);
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

/** The old pool serving the same set and family of the same service port, or -1. */
function oldPoolFor(gen: Generation, pool: i32, old: Generation | null, remap: Remap | null): i32 {
  if (old === null || remap === null) return -1;
  const o = unchecked(remap.spNewToOld[<i32>gen.poolWord(pool, POOL_SP)]);
  if (o < 0 || old.spScheduler(o) != (gen.poolWord(pool, POOL_SCHED) & 0xff)) return -1;
  const set = gen.poolWord(pool, POOL_SET);
  const v4 = <i32>old.spWord(o, (set & BF_CLUSTER) != 0 ? SP_CLUSTER_POOL : SP_EXTERNAL_POOL);
  return v4 + familyPoolOffset(gen.poolWord(pool, POOL_FAMILY));
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

/**
 * Builds every pool, its members, tables and scheduler state. Per service port: the IPv4 and IPv6
 * pool of the cluster set, then (unless both sets hold the same backends) those of the external
 * set; SP_CLUSTER_POOL / SP_EXTERNAL_POOL name the IPv4 pool of each pair.
 */
export function buildPools(gen: Generation, old: Generation | null, remap: Remap | null): void {
  gen.pools = new StaticArray<u32>(gen.spCount * 4 * POOL_WORDS);
  gen.members = new StaticArray<u32>(gen.backendCount * 2);
  gen.poolCount = 0;
  let m = 0;
  for (let s = 0; s < gen.spCount; s++) {
    const sw = s * SP_WORDS;
    const split = ipv4End(gen, s);
    if (sameSet(gen, s)) {
      const pool = gen.poolCount;
      m = addPoolPair(gen, s, BF_CLUSTER | BF_EXTERNAL, split, m);
      unchecked((gen.sps[sw + SP_CLUSTER_POOL] = pool));
      unchecked((gen.sps[sw + SP_EXTERNAL_POOL] = pool));
    } else {
      unchecked((gen.sps[sw + SP_CLUSTER_POOL] = gen.poolCount));
      m = addPoolPair(gen, s, BF_CLUSTER, split, m);
      unchecked((gen.sps[sw + SP_EXTERNAL_POOL] = gen.poolCount));
      m = addPoolPair(gen, s, BF_EXTERNAL, split, m);
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
