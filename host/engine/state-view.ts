/**
 * Typed, read-only access to the engine's decision state (engine/explain-views.ts), for
 * `vipwasm explain` (issue 13): what the next `connect` will read, in kernel terms. Reading never
 * changes state: no expiry, no LRU touch, no counter. Obtain one with `Engine.stateView()`.
 */
import type { Address } from './address.js';
import { SCHEDULERS, type SchedulerName } from './model.js';

/** The explain exports of engine.wasm (engine/explain-views.ts). */
export interface StateViewExports {
  explainMatch(proto: number, df: number, d0: number, d1: number, d2: number, d3: number, dport: number): number;
  explainMatchedPool(): number;
  explainPoolStart(sp: number): number;
  explainPoolCount(sp: number): number;
  explainPoolMembers(pool: number): number;
  explainPoolScheduler(pool: number): number;
  explainPoolPosition(pool: number): number;
  explainPoolCw(pool: number): number;
  explainPoolMw(pool: number): number;
  explainPoolDi(pool: number): number;
  explainPoolHasEndpoints(pool: number): number;
  explainPoolTableEntry(pool: number, i: number): number;
  explainMemberBackend(pool: number, k: number): number;
  explainMemberWeight(pool: number, k: number): number;
  explainMemberActive(pool: number, k: number): number;
  explainMemberInactive(pool: number, k: number): number;
  explainMemberLastWeight(pool: number, k: number): number;
  explainRandomState(): number;
  explainFlow(proto: number, sf: number, s0: number, s1: number, s2: number, s3: number, sport: number,
    df: number, d0: number, d1: number, d2: number, d3: number, dport: number): number;
  explainFlowPool(e: number): number;
  explainFlowServicePort(e: number): number;
  explainFlowBackend(e: number): number;
  explainFlowLastUsed(e: number): number;
  explainFlowTimeout(e: number): number;
  explainFlowClass(e: number): number;
  explainFlowCached(e: number): number;
  explainAffinity(pool: number, sf: number, s0: number, s1: number, s2: number, s3: number): number;
  explainAffinityBackend(e: number): number;
  explainAffinityLastUsed(e: number): number;
  explainAffinityTimeout(e: number): number;
}

/** What kind of service address a destination matched (engine layout.ts KIND_*). */
export type AddressKind = 'clusterIP' | 'externalIP' | 'loadBalancerIP' | 'nodePort';
const KINDS: readonly AddressKind[] = ['clusterIP', 'externalIP', 'loadBalancerIP', 'nodePort'];

/** The match of a destination: service port index, address kind and pool (virtual service). */
export interface PoolMatch {
  readonly servicePortIndex: number;
  readonly kind: AddressKind;
  readonly pool: number;
}

/** One destination of a pool, as the kernel's `ip_vs_dest` of that virtual service. */
export interface PoolMember {
  /** Position in the kernel destination list (head = 0): what schedulers scan and rr/wrr count. */
  readonly position: number;
  /** Index into the service port's backends (model order). */
  readonly backendIndex: number;
  readonly weight: number;
  readonly active: number;
  readonly inactive: number;
  /** mh's last non-zero weight. */
  readonly lastWeight: number;
}

/** A pool's scheduler state as the kernel keeps it. */
export interface PoolState {
  readonly pool: number;
  readonly scheduler: SchedulerName;
  /** sh-port/mh-port and sh-fallback/mh-fallback. */
  readonly hashPort: boolean;
  readonly fallback: boolean;
  /** sessionAffinity ClientIP: new connections look up the client's persistence entry first. */
  readonly affinity: boolean;
  /** rr/wrr: 0 = list head, k = member k-1 was chosen last. */
  readonly position: number;
  /** wrr `mark->cw`, `mark->mw`, `mark->di`. */
  readonly cw: number;
  readonly mw: number;
  readonly di: number;
  /** An empty pool answers Drop (true) rather than Reject. */
  readonly hasEndpoints: boolean;
  readonly members: readonly PoolMember[];
}

/** A flow (connection) entry. Times are the engine's u32 ms ticks. */
export interface FlowEntry {
  readonly pool: number;
  readonly servicePortIndex: number;
  readonly backendIndex: number;
  readonly lastUsedMs: number;
  readonly timeoutMs: number;
  readonly timeoutClass: 'tcp' | 'tcpfin' | 'udp' | 'sctp' | 'tcpsyn';
  /**
   * Whether a lookup answers from the flow's own bucket (an IPv4 flow whose cached decision is of
   * its service port's current epoch, engine/flow-decisions.ts), or reads its member record too.
   */
  readonly decisionCached: boolean;
}

/** A ClientIP affinity entry (IPVS persistence template). */
export interface AffinityEntry {
  readonly backendIndex: number;
  readonly lastUsedMs: number;
  readonly timeoutMs: number;
}

/** The engine's flow timeout classes by number (engine/state.ts CLASS_*): tcpsyn is a connection not yet established (IPVS SYN_RECV). */
const CLASSES = ['tcp', 'tcpfin', 'udp', 'sctp', 'tcpsyn'] as const;

export class EngineStateView {
  /** Throws when engine.wasm predates these views (a stale build), instead of failing mid-trace. */
  constructor(private readonly ex: StateViewExports) {
    if (typeof ex.explainMatch !== 'function') throw new Error('engine.wasm has no explain views (engine/explain-views.ts): rebuild (npm run build)');
  }

  /** The service port, address kind and pool a destination matches, or null (Pass). */
  match(protocol: number, dst: Address, dstPort: number): PoolMatch | null {
    const m = this.ex.explainMatch(protocol, dst.family, dst.w0, dst.w1, dst.w2, dst.w3, dstPort);
    if (m < 0) return null;
    return { servicePortIndex: m >> 2, kind: KINDS[m & 3]!, pool: this.ex.explainMatchedPool() };
  }

  /** The pools (one per service address) of a service port: [first, first + count). */
  pools(servicePortIndex: number): { first: number; count: number } {
    return { first: this.ex.explainPoolStart(servicePortIndex), count: this.ex.explainPoolCount(servicePortIndex) };
  }

  pool(pool: number): PoolState {
    const ex = this.ex;
    const word = ex.explainPoolScheduler(pool);
    const n = ex.explainPoolMembers(pool);
    const members: PoolMember[] = [];
    for (let k = 0; k < n; k++) {
      members.push({
        position: k,
        backendIndex: ex.explainMemberBackend(pool, k),
        weight: ex.explainMemberWeight(pool, k) >>> 0,
        active: ex.explainMemberActive(pool, k) >>> 0,
        inactive: ex.explainMemberInactive(pool, k) >>> 0,
        lastWeight: ex.explainMemberLastWeight(pool, k) >>> 0,
      });
    }
    return {
      pool,
      scheduler: SCHEDULERS[word & 0xff]!,
      hashPort: ((word >>> 8) & 1) !== 0,
      fallback: ((word >>> 8) & 2) !== 0,
      affinity: ((word >>> 8) & 4) !== 0,
      position: ex.explainPoolPosition(pool),
      cw: ex.explainPoolCw(pool),
      mw: ex.explainPoolMw(pool),
      di: ex.explainPoolDi(pool),
      hasEndpoints: ex.explainPoolHasEndpoints(pool) !== 0,
      members,
    };
  }

  /** Member position held by a dh/sh bucket or mh slot, or -1 when empty. */
  tableEntry(pool: number, index: number): number {
    return this.ex.explainPoolTableEntry(pool, index);
  }

  /** The `random` scheduler's xorshift32 state before its next draw. */
  randomState(): number {
    return this.ex.explainRandomState() >>> 0;
  }

  /** The flow entry for a 5-tuple (possibly expired: compare its age with its timeout), or null. */
  flow(protocol: number, src: Address, srcPort: number, dst: Address, dstPort: number): FlowEntry | null {
    const ex = this.ex;
    const e = ex.explainFlow(protocol, src.family, src.w0, src.w1, src.w2, src.w3, srcPort, dst.family, dst.w0, dst.w1, dst.w2, dst.w3, dstPort);
    if (e < 0) return null;
    return {
      pool: ex.explainFlowPool(e),
      servicePortIndex: ex.explainFlowServicePort(e),
      backendIndex: ex.explainFlowBackend(e),
      lastUsedMs: ex.explainFlowLastUsed(e) >>> 0,
      timeoutMs: ex.explainFlowTimeout(e) >>> 0,
      timeoutClass: CLASSES[ex.explainFlowClass(e)]!,
      decisionCached: ex.explainFlowCached(e) === 1,
    };
  }

  /** The client's affinity entry in a pool (possibly expired), or null. */
  affinity(pool: number, src: Address): AffinityEntry | null {
    const ex = this.ex;
    const e = ex.explainAffinity(pool, src.family, src.w0, src.w1, src.w2, src.w3);
    if (e < 0) return null;
    return {
      backendIndex: ex.explainAffinityBackend(e),
      lastUsedMs: ex.explainAffinityLastUsed(e) >>> 0,
      timeoutMs: ex.explainAffinityTimeout(e) >>> 0,
    };
  }
}

/** Milliseconds from `thenTick` to `nowMs` as the engine compares them (u32, wrap-safe). */
export function tickAge(nowMs: number, thenTick: number): number {
  return ((Math.trunc(nowMs) >>> 0) - thenTick) | 0;
}
