/**
 * Read-only views for `vipwasm explain` (issue 13): the state a decision is about to read — which
 * pool (virtual service) a destination matches, the pool's members in kernel list order with their
 * weights and own counters, the rr/wrr position and cw/mw/di as ip_vs_rr.c / ip_vs_wrr.c keep
 * them, dh/sh/mh table entries, the random scheduler's stream state, and the flow and affinity
 * entries a connection would hit. The explain host reads these BEFORE the real `connect`, predicts
 * the pick in TypeScript, then checks it against the engine's own decision.
 *
 * Nothing here writes state (no expiry, no removal, no LRU touch) or sits on the per-packet path;
 * the functions only reuse the hot path's inline accessors, so connect() compiles as before.
 * Entries are returned as indexes valid until the next state-changing call.
 */
import {
  H_LOCAL_INDEX, MEMBER_ACTIVE, MEMBER_INACTIVE, MEMBER_LAST_WEIGHT, MEMBER_LOCAL_INDEX, MEMBER_POOL, MEMBER_SP, MEMBER_WEIGHT,
  NO_TABLE, EMPTY_BUCKET, POOL_CW, POOL_DI, POOL_HAS_ENDPOINTS, POOL_MEMBER_COUNT, POOL_MW, POOL_POS, POOL_SCHED,
  POOL_TABLE, SP_POOL_COUNT, SP_POOL_START,
} from './layout';
import { current, timeoutMs } from './state';
import { matchService, matchedPool } from './service-table';
import { flowClassOf, flowFind, flowLastUsed, flowMember } from './flows';
import { flowHasCachedDecision } from './flow-decisions';
import { flowPorts, keyMetaOf, tupleHash } from './flow-key';
import { affinityBackend, affinityFind, affinityHash, affinityLastUsed, affinityTimeout } from './affinity';
import { randomState } from './schedulers/random';
import { settle } from './pending';

/** `sp << 2 | kind` for a destination (as matchDestination), and remembers its pool; -1 when none. */
export function explainMatch(proto: u32, df: u32, d0: u32, d1: u32, d2: u32, d3: u32, dport: u32): i32 {
  return matchService(current, proto, df, d0, d1, d2, d3, dport);
}

/** The pool (service address) of the last `explainMatch` hit. */
export function explainMatchedPool(): i32 {
  return matchedPool;
}

export function explainPoolStart(sp: i32): i32 {
  return <i32>current.spWord(sp, SP_POOL_START);
}
export function explainPoolCount(sp: i32): i32 {
  return <i32>current.spWord(sp, SP_POOL_COUNT);
}

/** Number of destinations of pool `pool`. */
export function explainPoolMembers(pool: i32): i32 {
  return <i32>current.poolWord(pool, POOL_MEMBER_COUNT);
}
/** Scheduler id (layout.ts SCHED_*) | service port flags << 8, as the pool holds them. */
export function explainPoolScheduler(pool: i32): u32 {
  return current.poolWord(pool, POOL_SCHED);
}
/** rr/wrr position: 0 = list head, k = member k-1 was chosen last. */
export function explainPoolPosition(pool: i32): i32 {
  settle();
  return <i32>current.poolWord(pool, POOL_POS);
}
/** wrr current weight cw (`mark->cw`). */
export function explainPoolCw(pool: i32): i32 {
  return <i32>current.poolWord(pool, POOL_CW);
}
/** wrr mw = max weight − (di − 1) (`mark->mw`). */
export function explainPoolMw(pool: i32): i32 {
  return <i32>current.poolWord(pool, POOL_MW);
}
/** wrr di = gcd of the positive weights (`mark->di`). */
export function explainPoolDi(pool: i32): i32 {
  return <i32>current.poolWord(pool, POOL_DI);
}
/** 1 when an empty pool answers Drop rather than Reject (pools.ts familyHasEndpoints). */
export function explainPoolHasEndpoints(pool: i32): i32 {
  return <i32>current.poolWord(pool, POOL_HAS_ENDPOINTS);
}
/** Member index held by dh/sh bucket or mh slot `i` of the pool's table; -1 when empty or no table. */
export function explainPoolTableEntry(pool: i32, i: i32): i32 {
  const t = current.poolWord(pool, POOL_TABLE);
  if (t == NO_TABLE) return -1;
  const k = unchecked(current.tables[<i32>t + i]);
  return k == EMPTY_BUCKET ? -1 : <i32>k;
}

/** Backend index within the service port of the pool's k-th destination (list order). */
export function explainMemberBackend(pool: i32, k: i32): i32 {
  return <i32>current.memberWord(current.member(pool, k), MEMBER_LOCAL_INDEX);
}
export function explainMemberWeight(pool: i32, k: i32): u32 {
  return current.memberWord(current.member(pool, k), MEMBER_WEIGHT);
}
export function explainMemberActive(pool: i32, k: i32): u32 {
  settle();
  return current.memberWord(current.member(pool, k), MEMBER_ACTIVE);
}
export function explainMemberInactive(pool: i32, k: i32): u32 {
  settle();
  return current.memberWord(current.member(pool, k), MEMBER_INACTIVE);
}
export function explainMemberLastWeight(pool: i32, k: i32): u32 {
  return current.memberWord(current.member(pool, k), MEMBER_LAST_WEIGHT);
}

/** The random scheduler's xorshift32 state (its next draw starts from it). */
export function explainRandomState(): u32 {
  return randomState();
}

/** The flow entry for a 5-tuple, expired or not, or -1 (as core.ts connect keys it). */
export function explainFlow(proto: u32, sf: u32, s0: u32, s1: u32, s2: u32, s3: u32, sport: u32,
  df: u32, d0: u32, d1: u32, d2: u32, d3: u32, dport: u32): i32 {
  return flowFind(tupleHash(proto, sf, s0, s1, s2, s3, sport, df, d0, d1, d2, d3, dport), keyMetaOf(proto, sf, df), s0, s1, s2, s3,
    flowPorts(sport, dport), d0, d1, d2, d3);
}
/** The pool (virtual service) a flow was admitted through. */
export function explainFlowPool(e: i32): i32 {
  return <i32>current.memberWord(<i32>flowMember(e), MEMBER_POOL);
}
/** Service port of the flow's destination. */
export function explainFlowServicePort(e: i32): i32 {
  return <i32>current.memberWord(<i32>flowMember(e), MEMBER_SP);
}
/** Backend index within its service port of the flow's destination. */
export function explainFlowBackend(e: i32): i32 {
  return <i32>current.memberWord(<i32>flowMember(e), MEMBER_LOCAL_INDEX);
}
/** 1 when the flow (an IPv4 one) answers from its own bucket's cached decision now (flow-decisions.ts), else 0. */
export function explainFlowCached(e: i32): i32 {
  return flowHasCachedDecision(e) ? 1 : 0;
}
/** Last-used time of a flow (host ms as a u32 tick). */
export function explainFlowLastUsed(e: i32): u32 {
  return flowLastUsed(e);
}
/** Idle timeout of the flow's class in ms (tcp, tcpfin, udp, sctp). */
export function explainFlowTimeout(e: i32): u32 {
  return unchecked(timeoutMs[flowClassOf(e)]);
}
/** Timeout class of a flow (state.ts CLASS_*). */
export function explainFlowClass(e: i32): u32 {
  return flowClassOf(e);
}

/** The ClientIP affinity entry of a client in a pool, expired or not, or -1. */
export function explainAffinity(pool: i32, sf: u32, s0: u32, s1: u32, s2: u32, s3: u32): i32 {
  return affinityFind(affinityHash(<u32>pool, sf, s0, s1, s2, s3), <u32>pool, sf, s0, s1, s2, s3);
}
/** Backend index within its service port that an affinity entry pins. */
export function explainAffinityBackend(e: i32): i32 {
  return <i32>current.hotWord(<i32>affinityBackend(e), H_LOCAL_INDEX);
}
export function explainAffinityLastUsed(e: i32): u32 {
  return affinityLastUsed(e);
}
export function explainAffinityTimeout(e: i32): u32 {
  return affinityTimeout(e);
}
