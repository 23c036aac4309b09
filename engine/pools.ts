/**
 * Scheduler pools: one per service address, i.e. per IPVS virtual service (issue 17). kube-proxy's
 * IPVS proxier gives each clusterIP, externalIP and LB ingress IP (at the service port) and each
 * node IP (at the nodePort) its own virtual service, so each has its own destination list, rr
 * position, wrr mark, dh/sh/mh table and per-destination counters; a client alternating between a
 * Service's clusterIP and externalIP advances two rr positions, not one. A pool's members are the
 * service port's backends of the address's family (kube-proxy runs one proxier per IP family,
 * pkg/proxy/metaproxier) in the address's set: the cluster set for a clusterIP, the external set
 * for the others. Members are kept in kernel list order; pool-carry.ts states the order contract
 * and carries order, state and last_weight from the previous generation.
 */
import { Generation } from './generation';
import {
  B_FAMILY, H_FLAGS, H_LOCAL_INDEX, H_WEIGHT, BF_CLUSTER, BF_EXTERNAL, BF_READY, BF_SERVING, BF_TERMINATING, HASH_TAB_SIZE,
  MEMBER_ACTIVE, MEMBER_BACKEND, MEMBER_INACTIVE, MEMBER_LAST_WEIGHT, MEMBER_LOCAL_INDEX, MEMBER_POOL, MEMBER_SP, MEMBER_WEIGHT, MEMBER_WORDS,
  MH_TAB_SIZE, NO_TABLE, POOL_FAMILY, POOL_FAMILY_END, POOL_FAMILY_START, POOL_HAS_ENDPOINTS, POOL_INVERSE,
  POOL_MEMBER_COUNT, POOL_MEMBER_START, POOL_SCHED, POOL_SET, POOL_SP, POOL_TABLE, POOL_VPORT, POOL_W0,
  POOL_WORDS, SCHED_DH, SCHED_MH, SCHED_SH, SCHED_WRR, SPF_HAS_ENDPOINTS, SP_ADDR_COUNTS, SP_ADDR_PTR,
  SP_BACKEND_COUNT, SP_BACKEND_START, SP_LB_COUNT, SP_POOL_COUNT, SP_POOL_START, SP_WORDS,
} from './layout';
import { Remap } from './remap';
import { unzeroedWords, withSlack } from './snapshot';
import { carryPool, oldPoolFor } from './pool-carry';
import { buildDH } from './schedulers/dh';
import { buildSH } from './schedulers/sh';
import { buildMH } from './schedulers/mh';
import { wrrInitFresh } from './schedulers/wrr';

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

/** Service addresses of `sp`: clusterIPs, externalIPs, LB ingress IPs, and node IPs when it has a nodePort. */
function addressCount(gen: Generation, sp: i32): i32 {
  const counts = gen.spWord(sp, SP_ADDR_COUNTS);
  const nodes = gen.spNodePort(sp) != 0 ? gen.nodeIPCount : 0;
  return <i32>(counts & 0xffff) + <i32>(counts >>> 16) + <i32>gen.spWord(sp, SP_LB_COUNT) + nodes;
}

/** Next free entry of `gen.memberOf` while pools are being added. */
let inverseAt: i32 = 0;

/**
 * The pool of one service address (`addr`: family, w0..w3 in memory) at port `vport`: the
 * backends of its family in `set`, in engine order for now, each with fresh counters and
 * last_weight = weight (what `ipvsadm -a` gives a new destination).
 */
function addPool(gen: Generation, sp: i32, set: u32, addr: usize, vport: u32, split: i32): void {
  const pool = gen.poolCount++;
  const family = load<u32>(addr);
  const start = <i32>gen.spWord(sp, SP_BACKEND_START);
  const end = start + <i32>gen.spWord(sp, SP_BACKEND_COUNT);
  const from = family == 6 ? split : start;
  const to = family == 6 ? end : split;
  const first = gen.memberCount;
  let m = first;
  for (let b = from; b < to; b++) {
    if ((gen.hotWord(b, H_FLAGS) & set) == 0) {
      unchecked((gen.memberOf[inverseAt + b - from] = -1));
      continue;
    }
    const w = gen.hotWord(b, H_WEIGHT);
    gen.setMemberWord(m, MEMBER_BACKEND, b);
    gen.setMemberWord(m, MEMBER_WEIGHT, w);
    gen.setMemberWord(m, MEMBER_ACTIVE, 0);
    gen.setMemberWord(m, MEMBER_INACTIVE, 0);
    gen.setMemberWord(m, MEMBER_LAST_WEIGHT, w);
    gen.setMemberWord(m, MEMBER_POOL, pool);
    gen.setMemberWord(m, MEMBER_LOCAL_INDEX, gen.hotWord(b, H_LOCAL_INDEX));
    gen.setMemberWord(m, MEMBER_SP, sp);
    unchecked((gen.memberOf[inverseAt + b - from] = m));
    m++;
  }
  gen.memberCount = m;
  gen.setPoolWord(pool, POOL_MEMBER_START, first);
  gen.setPoolWord(pool, POOL_MEMBER_COUNT, m - first);
  gen.setPoolWord(pool, POOL_SCHED, gen.spScheduler(sp) | (gen.spFlags(sp) << 8));
  gen.setPoolWord(pool, POOL_TABLE, NO_TABLE);
  gen.setPoolWord(pool, POOL_SP, sp);
  gen.setPoolWord(pool, POOL_SET, set);
  gen.setPoolWord(pool, POOL_VPORT, vport);
  gen.setPoolWord(pool, POOL_FAMILY_START, from);
  gen.setPoolWord(pool, POOL_FAMILY_END, to);
  gen.setPoolWord(pool, POOL_HAS_ENDPOINTS, familyHasEndpoints(gen, sp, from, to) ? 1 : 0);
  gen.setPoolWord(pool, POOL_FAMILY, family);
  for (let i = 0; i < 4; i++) gen.setPoolWord(pool, POOL_W0 + i, load<u32>(addr + 4 + (<usize>i << 2)));
  gen.setPoolWord(pool, POOL_INVERSE, inverseAt);
  inverseAt += to - from;
}

/** The pools of service port `sp`, in the order buildServiceTable walks its addresses. */
function addServicePortPools(gen: Generation, sp: i32): void {
  const split = ipv4End(gen, sp);
  const counts = gen.spWord(sp, SP_ADDR_COUNTS);
  const external = <i32>(counts >>> 16) + <i32>gen.spWord(sp, SP_LB_COUNT);
  let addr = <usize>gen.spWord(sp, SP_ADDR_PTR);
  unchecked((gen.sps[sp * SP_WORDS + SP_POOL_START] = gen.poolCount));
  for (let i = 0; i < <i32>(counts & 0xffff); i++, addr += 20) addPool(gen, sp, BF_CLUSTER, addr, gen.spPort(sp), split);
  for (let i = 0; i < external; i++, addr += 20) addPool(gen, sp, BF_EXTERNAL, addr, gen.spPort(sp), split);
  const nodePort = gen.spNodePort(sp);
  if (nodePort != 0) {
    const nodes = changetype<usize>(gen.nodeIPs);
    for (let i = 0; i < gen.nodeIPCount; i++) addPool(gen, sp, BF_EXTERNAL, nodes + <usize>(i * 20), nodePort, split);
  }
  unchecked((gen.sps[sp * SP_WORDS + SP_POOL_COUNT] = gen.poolCount - <i32>gen.spWord(sp, SP_POOL_START)));
}

function tableSize(sched: u32): i32 {
  if (sched == SCHED_DH || sched == SCHED_SH) return HASH_TAB_SIZE;
  return sched == SCHED_MH ? MH_TAB_SIZE : 0;
}

/** Lays out the dh/sh/mh tables (offsets in `tables`) once every pool's members are final. */
export function beginTables(gen: Generation): void {
  let tables: i32 = 0;
  for (let p = 0; p < gen.poolCount; p++) {
    const size = tableSize(gen.poolWord(p, POOL_SCHED) & 0xff);
    if (size > 0 && gen.poolWord(p, POOL_MEMBER_COUNT) > 0) {
      gen.setPoolWord(p, POOL_TABLE, tables);
      tables += size;
    }
  }
  // Not zeroed: buildTableAt writes every entry of every table before the generation serves, and
  // zeroing mh's tables (819 MB at 100k services) was one 100 ms step of a staged build.
  gen.tables = changetype<StaticArray<u16>>(__new(<usize>tables << 1, idof<StaticArray<u16>>()));
  gen.tablesUsed = tables;
}

/** Builds pool `p`'s dh/sh/mh table from its carried member order and weights (none: nothing). */
export function buildTableAt(gen: Generation, p: i32): void {
  if (gen.poolWord(p, POOL_TABLE) == NO_TABLE) return;
  const sched = gen.poolWord(p, POOL_SCHED) & 0xff;
  if (sched == SCHED_DH) buildDH(gen, p);
  else if (sched == SCHED_SH) buildSH(gen, p);
  else buildMH(gen, p);
}

/** Sizes and allocates the pool, member and inverse arrays for every service address of `gen`. */
export function beginPools(gen: Generation): void {
  let pools = 0;
  let slots: i64 = 0;
  for (let s = 0; s < gen.spCount; s++) {
    const n = addressCount(gen, s);
    pools += n;
    slots += <i64>n * <i64>gen.spWord(s, SP_BACKEND_COUNT);
  }
  gen.pools = new StaticArray<u32>(withSlack(pools) * POOL_WORDS);
  // Not zeroed: addPool writes every member word that is read (counters included).
  gen.members = unzeroedWords(withSlack(<i32>slots) * MEMBER_WORDS);
  gen.memberOf = new StaticArray<i32>(withSlack(<i32>slots));
  gen.poolCount = 0;
  gen.memberCount = 0;
  gen.inverseUsed = 0;
}

/** Adds the pools of service ports [from, to), in engine order, with fresh members. */
export function addPoolsStep(gen: Generation, from: i32, to: i32): void {
  inverseAt = gen.inverseUsed;
  for (let s = from; s < to; s++) addServicePortPools(gen, s);
  gen.inverseUsed = inverseAt;
}

/**
 * Pool `p` takes over its old virtual service in `old` (same service port, address and port) as
 * the kernel's hooks would leave it after the exporter's commands (pool-carry.ts), filling
 * `remap.slotOldToNew` so flows keep their member; a new pool starts as a fresh virtual service.
 * Returns the old pool when its scheduler state was carried, else -1.
 */
export function carryPoolAt(gen: Generation, p: i32, old: Generation | null, remap: Remap | null): i32 {
  const op = old !== null && remap !== null ? oldPoolFor(gen, p, old, remap) : -1;
  if (op >= 0) unchecked((remap!.poolOldToNew[op] = p));
  const carried = op >= 0 && carryPool(gen, p, old!, op, remap!);
  if (!carried && (gen.poolWord(p, POOL_SCHED) & 0xff) == SCHED_WRR) wrrInitFresh(gen, p);
  return carried ? op : -1;
}

/**
 * Builds every pool, its members, scheduler state and tables (the steps above, in one go).
 * Pools that existed in `old` keep their order, rr/wrr state and last_weight (carryPoolAt).
 */
export function buildPools(gen: Generation, old: Generation | null, remap: Remap | null): void {
  beginPools(gen);
  addPoolsStep(gen, 0, gen.spCount);
  for (let p = 0; p < gen.poolCount; p++) carryPoolAt(gen, p, old, remap);
  beginTables(gen);
  for (let p = 0; p < gen.poolCount; p++) buildTableAt(gen, p);
}

/** The member slot of backend `b` in `pool`, or -1 when it is not one of the pool's destinations. */
// @ts-ignore: decorator
@inline export function memberSlotOf(gen: Generation, pool: i32, b: i32): i32 {
  const from = <i32>gen.poolWord(pool, POOL_FAMILY_START);
  if (b < from || b >= <i32>gen.poolWord(pool, POOL_FAMILY_END)) return -1;
  return unchecked(gen.memberOf[<i32>gen.poolWord(pool, POOL_INVERSE) + b - from]);
}

/**
 * The pool of service port `sp` for a destination: the address's own virtual service when the
 * destination is one of the port's addresses, else the first of its addresses of the same set and
 * family; -1 when it has none.
 */
export function poolForDestination(gen: Generation, sp: i32, set: u32, df: u32, d0: u32, d1: u32, d2: u32, d3: u32): i32 {
  const start = <i32>gen.spWord(sp, SP_POOL_START);
  const end = start + <i32>gen.spWord(sp, SP_POOL_COUNT);
  let fallback = -1;
  for (let p = start; p < end; p++) {
    if (gen.poolWord(p, POOL_FAMILY) != df) continue;
    if (gen.poolWord(p, POOL_W0) == d0 && gen.poolWord(p, POOL_W0 + 1) == d1 && gen.poolWord(p, POOL_W0 + 2) == d2 &&
        gen.poolWord(p, POOL_W0 + 3) == d3) return p;
    if (fallback < 0 && gen.poolWord(p, POOL_SET) == set) fallback = p;
  }
  return fallback;
}
