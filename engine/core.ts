/**
 * The engine's AssemblyScript API: load a snapshot, then decide for connections and packets.
 * Plain functions over numbers, usable by any Wasm entry (index.ts for the generic host ABI, the
 * proxy-wasm filter in engine/envoy/). Nothing here depends on WASI or on how the module starts.
 *
 * Addresses are passed as (family, w0, w1, w2, w3) in host/engine/address.ts's word form; time is
 * the host's clock in milliseconds (any epoch, monotonic preferred). A decision's details are left
 * in the `decision*` globals below (read them right after the call). No function here allocates,
 * except `init` and the loads (swaps.ts).
 */
import { Generation } from './generation';
import {
  H_SP, BF_CLUSTER, BF_EXTERNAL, KIND_CLUSTER_IP, KIND_LOAD_BALANCER, MEMBER_LOCAL_INDEX, MEMBER_POOL, MEMBER_SP,
  PROTO_SCTP, PROTO_TCP, PROTO_UDP, SP_AFFINITY_MS, SP_BACKEND_COUNT, SP_BACKEND_START, SPF_AFFINITY,
  POOL_HAS_ENDPOINTS, POOL_MEMBER_COUNT, POOL_MEMBER_START, POOL_TABLE,
  MATCH_MEMBER_COUNT, MATCH_MEMBER_START, MATCH_META, MATCH_POOL, MATCH_SP_META, MATCH_TABLE, MATCH_VALUE, SP_META,
  VERDICT_BACKEND, VERDICT_DROP, VERDICT_PASS, VERDICT_REJECT, VIA_AFFINITY, VIA_FLOW, VIA_NONE, VIA_SCHEDULER,
} from './layout';
import { foldAddress } from './hash';
import { CLASS_SCTP, CLASS_TCP, CLASS_TCP_FIN, CLASS_TCP_SYN, CLASS_UDP, current, stats, toTick } from './state';
import { matchHome, matchSlotFrom, poolSlot, slotWord, sourceAllowed } from './service-table';
import { schedule, schedDetail, schedLocal } from './schedulers/index';
import { countLater } from './pending';
import {
  META_ACTIVE, flowClassOf, flowExpired, flowFind, flowInsert, forgetMissFree, missFree, flowListHead, flowListNext, flowMember, flowMeta,
  flowHit, flowRemove, flowTouch, flowWatch, flowWatched, flowsExpire, setFlowMember, setFlowMeta,
} from './flows';
import { flowCachedDecision, setFlowDecision } from './flow-decisions';
import { flowHash, flowPorts, keyMetaOf, tupleHash } from './flow-key';
import {
  affinityBackend, affinityExpire, affinityExpired, affinityFind, affinityHash, affinityInsert, affinityRemap, affinityRemove, affinityTouch,
  setAffinityBackend,
} from './affinity';

export { SNAP_OK } from './snapshot';
export { BUILD_MORE, BUILD_STALE } from './build';
export { SNAP_NO_BUILD, abortSnapshot, applyDelta, beginSnapshot, commitSnapshot, loadSnapshot, snapshotStep } from './swaps';
export { snapshotErrorOffset, snapshotErrorServicePort } from './snapshot';
export { stats } from './state';
export * from './views';
export { DEFAULT_AFFINITY_CAPACITY, DEFAULT_FLOW_CAPACITY, INIT_BAD_TIMEOUT, INIT_OK, MAX_TIMEOUT_S, init, seedTables } from './init';
import { ensureInit } from './init';
import { memberSlotOf, poolForDestination } from './pools';
export { memberSlotOf, poolForDestination } from './pools';

// ---- the last decision ---------------------------------------------------------------------------
/** Verdict (layout.ts VERDICT_*). */
export let decisionVerdict: i32 = VERDICT_PASS;
/** How a Backend verdict was reached (VIA_*). */
export let decisionVia: i32 = VIA_NONE;
/** Service port index in the serving generation, -1 when Pass. */
export let decisionServicePort: i32 = -1;
/** Backend index within that service port, -1 unless Backend. */
export let decisionBackend: i32 = -1;
/** dh/sh bucket or mh slot used, -1 otherwise. */
export let decisionDetail: i32 = -1;
/** Kind of address matched (KIND_*), -1 when unknown (flow hits, Pass). */
export let decisionKind: i32 = -1;

/** The serving generation (read-only use). */
export function serving(): Generation {
  return current;
}

// @ts-ignore: decorator
@inline function setDecision(verdict: i32, via: i32, sp: i32, backend: i32, detail: i32, kind: i32): i32 {
  decisionVerdict = verdict;
  decisionVia = via;
  decisionServicePort = sp;
  decisionBackend = backend;
  decisionDetail = detail;
  decisionKind = kind;
  return verdict;
}

/**
 * Flow `e`'s decision: from its own bucket while its cache is still right (an IPv4 flow, flow-decisions.ts),
 * else from its member record (service port and local index are there), cached for the next hit.
 */
// @ts-ignore: decorator
@inline function flowDecision(gen: Generation, e: i32): i32 {
  const cached = flowCachedDecision(e);
  if (cached >= 0) return setDecision(VERDICT_BACKEND, VIA_FLOW, <i32>(cached >>> 32), <i32>cached, -1, -1);
  const slot = <i32>flowMember(e);
  const sp = gen.memberWord(slot, MEMBER_SP);
  const local = gen.memberWord(slot, MEMBER_LOCAL_INDEX);
  setFlowDecision(e, sp, local);
  return setDecision(VERDICT_BACKEND, VIA_FLOW, <i32>sp, <i32>local, -1, -1);
}

// @ts-ignore: decorator
@inline function classFor(proto: u32): u32 {
  return proto == PROTO_TCP ? CLASS_TCP : proto == PROTO_UDP ? CLASS_UDP : CLASS_SCTP;
}

/**
 * A new connection to service port `sp` reached through an address of `kind` (KIND_*), whose flow
 * key `flowHash`/`keyMeta` did not find: source ranges, pools, affinity, scheduling, then the flow
 * and affinity inserts. Returns the verdict. `spMeta` is the service port's meta word (SP_META);
 * `first`, `n` and `table` are the pool's POOL_MEMBER_START, POOL_MEMBER_COUNT and POOL_TABLE
 * (the match slot's copies when there is one: no wait on the pool record).
 */
function admit(gen: Generation, sp: i32, kind: u32, pool: i32, at: usize, spMeta: u32, first: i32, n: i32, table: i32, proto: u32, keyMeta: u32, h: u32,
  sf: u32, s0: u32, s1: u32, s2: u32, s3: u32, ports: u32, df: u32, d0: u32, d1: u32, d2: u32, d3: u32, now: u32, free: i32): i32 {
  if (kind == KIND_LOAD_BALANCER && !sourceAllowed(gen, sp, sf, s0, s1, s2, s3)) {
    return setDecision(VERDICT_DROP, VIA_NONE, sp, -1, -1, kind);
  }
  // `pool` is the destination address's own pool (pools.ts): no usable endpoint of its family →
  // Drop when the family has some ready or serving-terminating endpoint, else Reject (per-family
  // kube-proxy hasAnyEndpoints; the rule is spelled out at pools.ts familyHasEndpoints).
  if (n == 0) {
    return setDecision(gen.poolWord(pool, POOL_HAS_ENDPOINTS) != 0 ? VERDICT_DROP : VERDICT_REJECT, VIA_NONE, sp, -1, -1, kind);
  }
  let slot = -1;
  let via = VIA_SCHEDULER;
  let detail = -1;
  let a = -1;
  let ah: u32 = 0;
  // The chosen member's local index if the scheduler knew it without reading the member record.
  let known = -1;
  const affinity = (((spMeta >>> 16) & 0xff) & SPF_AFFINITY) != 0;
  if (affinity) {
    // Persistence is per virtual service (pool), as the kernel's templates are.
    ah = affinityHash(pool, sf, s0, s1, s2, s3);
    a = affinityFind(ah, pool, sf, s0, s1, s2, s3);
    if (a >= 0 && affinityExpired(a, now)) {
      affinityRemove(a);
      stats.affinityExpirations++;
      a = -1;
    }
    if (a >= 0) {
      // Still a destination of this address's virtual service.
      slot = memberSlotOf(gen, pool, <i32>affinityBackend(a));
      if (slot >= 0) via = VIA_AFFINITY;
    }
  }
  if (slot < 0) {
    // POOL_SCHED is scheduler | flags << 8: the service port meta word's bytes 1 and 2.
    const k = schedule(gen, pool, (spMeta >>> 8) & 0xffff, first, n, table, foldAddress(sf, s0, s1, s2, s3), ports >>> 16, foldAddress(df, d0, d1, d2, d3), at);
    detail = schedDetail;
    if (k < 0) return setDecision(VERDICT_REJECT, VIA_NONE, sp, -1, detail, kind);
    slot = first + k;
    known = schedLocal;
  }
  if (affinity) {
    const b = gen.memberBackend(slot);
    if (a >= 0) {
      setAffinityBackend(a, b);
      affinityTouch(a, now);
    } else {
      affinityInsert(ah, pool, sf, s0, s1, s2, s3, b, gen.spWord(sp, SP_AFFINITY_MS), now);
    }
  }
  const tcp = proto == PROTO_TCP;
  // IPVS binds a new connection as inactive; the client SYN then moves TCP to SYN_RECV: active
  // (v4.7+), with SYN_RECV's short timeout until `established`.
  // An untracked connection (its probe chain is full) is served but not counted.
  // `sp` owns the pool, so it is the backend's service port; the member carries the local index:
  // the decision reads and writes no hot backend record (issue 10). rr through a uniform match
  // slot knows it without the member record, and the member's counter is queued (pending.ts), so
  // such a decision reads no member line at all.
  const local = known >= 0 ? <u32>known : gen.memberWord(slot, MEMBER_LOCAL_INDEX);
  const e = flowInsert(h, keyMeta, s0, s1, s2, s3, ports, d0, d1, d2, d3, tcp ? META_ACTIVE : 0, tcp ? CLASS_TCP_SYN : classFor(proto), slot, now, free);
  if (e >= 0) {
    setFlowDecision(e, <u32>sp, local);
    countLater(slot, tcp);
  }
  return setDecision(VERDICT_BACKEND, via, sp, <i32>local, detail, kind);
}

/** A live (unexpired) flow for the key, or -1; an expired one is removed and counted. */
// @ts-ignore: decorator
@inline function liveFlow(h: u32, keyMeta: u32, s0: u32, s1: u32, s2: u32, s3: u32, ports: u32, d0: u32, d1: u32, d2: u32, d3: u32, now: u32): i32 {
  const e = flowFind(h, keyMeta, s0, s1, s2, s3, ports, d0, d1, d2, d3);
  if (e >= 0 && flowExpired(e, now)) {
    flowRemove(e);
    forgetMissFree();
    stats.flowExpirations++;
    return -1;
  }
  return e;
}

/** liveFlow for a connection's 5-tuple: what established, close and rebind start from. */
// @ts-ignore: decorator
@inline function liveFlowFor(proto: u32, sf: u32, s0: u32, s1: u32, s2: u32, s3: u32, sport: u32,
  df: u32, d0: u32, d1: u32, d2: u32, d3: u32, dport: u32, now: u32): i32 {
  const ports = flowPorts(sport, dport);
  const keyMeta = keyMetaOf(proto, sf, df);
  return liveFlow(tupleHash(proto, sf, s0, s1, s2, s3, sport, df, d0, d1, d2, d3, dport), keyMeta, s0, s1, s2, s3, ports, d0, d1, d2, d3, now);
}

/**
 * A new connection (TCP SYN, first UDP datagram, SCTP INIT): an existing flow wins (refreshed; a
 * closed TCP flow seeing a new SYN becomes active and SYN_RECV again, as TIME_WAIT + SYN); otherwise
 * match the service port and admit. Returns the verdict; details in `decision*`.
 */
// @ts-ignore: decorator
@inline export function connect(proto: u32, sf: u32, s0: u32, s1: u32, s2: u32, s3: u32, sport: u32,
  df: u32, d0: u32, d1: u32, d2: u32, d3: u32, dport: u32, nowMs: f64): i32 {
  return connectHashed(tupleHash(proto, sf, s0, s1, s2, s3, sport, df, d0, d1, d2, d3, dport), matchHome(current, proto, df, d0, d1, d2, d3, dport),
    proto, sf, s0, s1, s2, s3, sport, df, d0, d1, d2, d3, dport, nowMs);
}

/**
 * `connect` with the tuple's flow hash (`tupleHash`) and its destination's home match slot
 * (`matchHome`) already computed: connectMany computes both for every record in a pass of its own.
 */
// @ts-ignore: decorator
@inline export function connectHashed(h: u32, home: usize, proto: u32, sf: u32, s0: u32, s1: u32, s2: u32, s3: u32, sport: u32,
  df: u32, d0: u32, d1: u32, d2: u32, d3: u32, dport: u32, nowMs: f64): i32 {
  const gen = current;
  const now = toTick(nowMs);
  const ports = flowPorts(sport, dport);
  const keyMeta = keyMetaOf(proto, sf, df);
  // A read of the destination's home match slot, issued before the flow probe so the two misses
  // overlap (a new connection needs both; the value is unused: Wasm has no prefetch).
  const early = load<u32>(home, MATCH_META << 2);
  const e = liveFlow(h, keyMeta, s0, s1, s2, s3, ports, d0, d1, d2, d3, now);
  if (e >= 0) {
    const meta = flowMeta(e);
    const slot = <i32>flowMember(e);
    if (proto == PROTO_TCP && (meta & META_ACTIVE) == 0) {
      setFlowMeta(e, meta | META_ACTIVE);
      gen.count(slot, false, -1);
      gen.count(slot, true, 1);
      flowTouch(e, now, CLASS_TCP_SYN);
    } else {
      flowTouch(e, now, flowClassOf(e));
    }
    return flowDecision(gen, e);
  }
  const at = matchSlotFrom(gen, home + <usize>(early & 0), proto, df, d0, d1, d2, d3, dport);
  if (at == 0) return setDecision(VERDICT_PASS, VIA_NONE, -1, -1, -1, -1);
  const m = slotWord(at, MATCH_VALUE);
  return admit(gen, <i32>(m >>> 2), m & 3, <i32>slotWord(at, MATCH_POOL), at, slotWord(at, MATCH_SP_META), <i32>slotWord(at, MATCH_MEMBER_START),
    <i32>slotWord(at, MATCH_MEMBER_COUNT), <i32>slotWord(at, MATCH_TABLE), proto, keyMeta, h, sf, s0, s1, s2, s3, ports, df, d0, d1, d2, d3, now, missFree);
}

/**
 * As `connect`, for a host that already knows the service port (the Envoy filter routes by Service
 * name): `kind` says which endpoint set applies (KIND_CLUSTER_IP for cluster traffic).
 */
export function connectToServicePort(sp: i32, kind: u32, proto: u32, sf: u32, s0: u32, s1: u32, s2: u32, s3: u32, sport: u32,
  df: u32, d0: u32, d1: u32, d2: u32, d3: u32, dport: u32, nowMs: f64): i32 {
  const gen = current;
  if (sp < 0 || sp >= gen.spCount) return setDecision(VERDICT_PASS, VIA_NONE, -1, -1, -1, -1);
  const now = toTick(nowMs);
  const ports = flowPorts(sport, dport);
  const keyMeta = keyMetaOf(proto, sf, df);
  const h = flowHash(keyMeta, s0, s1, s2, s3, ports, d0, d1, d2, d3);
  const e = liveFlow(h, keyMeta, s0, s1, s2, s3, ports, d0, d1, d2, d3, now);
  if (e >= 0) {
    flowTouch(e, now, flowClassOf(e));
    return flowDecision(gen, e);
  }
  const k = kind & 3;
  const pool = poolForDestination(gen, sp, k == KIND_CLUSTER_IP ? BF_CLUSTER : BF_EXTERNAL, df, d0, d1, d2, d3);
  if (pool < 0) return setDecision(VERDICT_PASS, VIA_NONE, -1, -1, -1, -1);
  // The pool's match slot, where rr keeps its position (a pool whose key lost a conflict has none).
  const at = poolSlot(gen, pool);
  return admit(gen, sp, k, pool, at, gen.spWord(sp, SP_META), <i32>gen.poolWord(pool, POOL_MEMBER_START), <i32>gen.poolWord(pool, POOL_MEMBER_COUNT),
    <i32>gen.poolWord(pool, POOL_TABLE), proto, keyMeta, h, sf, s0, s1, s2, s3, ports, df, d0, d1, d2, d3, now, missFree);
}

/** An existing flow: Backend via Flow (refreshed), or Pass. Never schedules. */
// @ts-ignore: decorator
@inline export function lookup(proto: u32, sf: u32, s0: u32, s1: u32, s2: u32, s3: u32, sport: u32,
  df: u32, d0: u32, d1: u32, d2: u32, d3: u32, dport: u32, nowMs: f64): i32 {
  return lookupHashed(tupleHash(proto, sf, s0, s1, s2, s3, sport, df, d0, d1, d2, d3, dport), proto, sf, s0, s1, s2, s3, sport, df, d0, d1, d2, d3, dport, nowMs);
}

/** `lookup` with the tuple's flow hash (`tupleHash`) already computed: lookupMany hashes each record once. */
// @ts-ignore: decorator
@inline export function lookupHashed(h: u32, proto: u32, sf: u32, s0: u32, s1: u32, s2: u32, s3: u32, sport: u32,
  df: u32, d0: u32, d1: u32, d2: u32, d3: u32, dport: u32, nowMs: f64): i32 {
  const now = toTick(nowMs);
  const ports = flowPorts(sport, dport);
  const keyMeta = keyMetaOf(proto, sf, df);
  const e = liveFlow(h, keyMeta, s0, s1, s2, s3, ports, d0, d1, d2, d3, now);
  if (e < 0) return setDecision(VERDICT_PASS, VIA_NONE, -1, -1, -1, -1);
  flowHit(e, now);
  return flowDecision(current, e);
}

/** The TCP handshake completed (or SCTP association up): refresh, count as active. False if no flow. */
export function established(proto: u32, sf: u32, s0: u32, s1: u32, s2: u32, s3: u32, sport: u32,
  df: u32, d0: u32, d1: u32, d2: u32, d3: u32, dport: u32, nowMs: f64): bool {
  const now = toTick(nowMs);
  const e = liveFlowFor(proto, sf, s0, s1, s2, s3, sport, df, d0, d1, d2, d3, dport, now);
  if (e < 0) return false;
  const meta = flowMeta(e);
  if (proto != PROTO_UDP && (meta & META_ACTIVE) == 0) {
    const gen = current;
    const slot = <i32>flowMember(e);
    setFlowMeta(e, meta | META_ACTIVE);
    gen.count(slot, false, -1);
    gen.count(slot, true, 1);
  }
  flowTouch(e, now, classFor(proto));
  return true;
}

/**
 * The flow saw FIN/RST or ended. TCP: inactive, tcpfin timeout (IPVS FIN_WAIT/TIME_WAIT);
 * UDP/SCTP: removed. False if there is no such flow.
 */
export function close(proto: u32, sf: u32, s0: u32, s1: u32, s2: u32, s3: u32, sport: u32,
  df: u32, d0: u32, d1: u32, d2: u32, d3: u32, dport: u32, nowMs: f64): bool {
  const now = toTick(nowMs);
  const e = liveFlowFor(proto, sf, s0, s1, s2, s3, sport, df, d0, d1, d2, d3, dport, now);
  if (e < 0) return false;
  if (proto != PROTO_TCP) {
    flowRemove(e);
    return true;
  }
  const meta = flowMeta(e);
  if ((meta & META_ACTIVE) != 0) {
    const gen = current;
    const slot = <i32>flowMember(e);
    setFlowMeta(e, meta & ~META_ACTIVE);
    gen.count(slot, true, -1);
    gen.count(slot, false, 1);
  }
  flowTouch(e, now, CLASS_TCP_FIN);
  return true;
}

/**
 * The host could not reach the flow's backend and connected to backend `k` of the same service
 * port instead (a userspace proxy's connect retry, which iptables mode cannot do): the flow, its
 * counters and the client's ClientIP affinity entry now name `k`, so lc/wlc/sed/nq count the
 * connection where it really is and the client sticks to the backend that answered. False if there
 * is no such flow, or `k` is not a destination of the virtual service (service address) the flow
 * was admitted through, which is where its counters live.
 */
export function rebind(proto: u32, sf: u32, s0: u32, s1: u32, s2: u32, s3: u32, sport: u32,
  df: u32, d0: u32, d1: u32, d2: u32, d3: u32, dport: u32, k: i32, nowMs: f64): bool {
  const now = toTick(nowMs);
  const e = liveFlowFor(proto, sf, s0, s1, s2, s3, sport, df, d0, d1, d2, d3, dport, now);
  if (e < 0) return false;
  const gen = current;
  const meta = flowMeta(e);
  const oldSlot = <i32>flowMember(e);
  const old = gen.memberBackend(oldSlot);
  const sp = <i32>gen.hotWord(old, H_SP);
  if (k < 0 || k >= <i32>gen.spWord(sp, SP_BACKEND_COUNT)) return false;
  const b = <i32>gen.spWord(sp, SP_BACKEND_START) + k;
  const slot = memberSlotOf(gen, <i32>gen.memberWord(oldSlot, MEMBER_POOL), b);
  if (slot < 0) return false;
  flowTouch(e, now, flowClassOf(e));
  if (slot == oldSlot) return true;
  const active = (meta & META_ACTIVE) != 0;
  gen.count(oldSlot, active, -1);
  gen.count(slot, active, 1);
  setFlowMember(e, <u32>slot);
  if ((gen.spFlags(sp) & SPF_AFFINITY) != 0) {
    const pool = <i32>gen.memberWord(oldSlot, MEMBER_POOL);
    const a = affinityFind(affinityHash(pool, sf, s0, s1, s2, s3), pool, sf, s0, s1, s2, s3);
    if (a >= 0 && <i32>affinityBackend(a) == old) setAffinityBackend(a, <u32>b);
  }
  return true;
}

/** Removes expired flows and affinity entries; returns how many entries went. */
export function expire(nowMs: f64): i32 {
  const now = toTick(nowMs);
  return flowsExpire(now) + affinityExpire(now);
}
