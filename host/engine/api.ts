/**
 * The typed engine API every host codes against (forwarder, simulate, Envoy tooling, playground).
 * `Engine` in ./engine.ts implements it over engine.wasm; `loadEngine` (Node) and
 * `loadEngineFromBytes` (browser or Node) construct one.
 *
 * Per-call cost: addresses cross as pre-parsed `Address` words, protocols as numbers, time as a
 * millisecond number; results come back in one reused `Decision` object (copy what you keep).
 */
import type { ServicePortChanges } from './delta.js';
import type { Address } from './address.js';
import type { ModelBackend, ModelServicePort, ServiceModel } from './model.js';
import type { EngineStateView } from './state-view.js';

/** What the engine decided for a connection or packet. Numbers are the engine's result codes. */
export const Verdict = {
  /** A backend was chosen (or found pinned by flow / affinity). */
  Backend: 0,
  /** No Service port matches: not ours, let it through untouched. */
  Pass: 1,
  /** The Service port has no usable endpoints at all: refuse (TCP RST / ICMP unreachable), as kube-proxy's REJECT. */
  Reject: 2,
  /** Dropped by policy: Local traffic policy without a local endpoint, or source not in loadBalancerSourceRanges. */
  Drop: 3,
} as const;
export type Verdict = (typeof Verdict)[keyof typeof Verdict];

/** How a Backend verdict was reached. */
export const Via = { None: 0, Scheduler: 1, Flow: 2, Affinity: 3 } as const;
export type Via = (typeof Via)[keyof typeof Via];

/** One decision. The engine reuses the object: read it before the next call, copy what you keep. */
export interface Decision {
  verdict: Verdict;
  via: Via;
  /** Index into the loaded model's servicePorts, -1 when Pass. */
  servicePortIndex: number;
  /** Index into that service port's backends, -1 unless Backend. */
  backendIndex: number;
  /** The loaded model's objects for those indexes (null when absent). */
  servicePort: ModelServicePort | null;
  backend: ModelBackend | null;
  /**
   * Scheduler detail for explanations: the dh/sh bucket (0..255) or mh slot (0..4092) used;
   * -1 for other schedulers and non-scheduler verdicts.
   */
  detail: number;
}

/** One connection's 5-tuple, for the batched calls (`lookupMany`, `connectMany`). */
export interface FlowTuple {
  protocol: number;
  src: Address;
  srcPort: number;
  dst: Address;
  dstPort: number;
}

export interface EngineOptions {
  /**
   * Flow table capacity (like nf_conntrack_max). Default 3 << 18 (786,432 flows in 2^20 slots,
   * 64 MiB). Each table takes 64 bytes per slot, slots being the power of two ≥ capacity × 4/3,
   * allocated at the first entry: 3 × 2^k uses memory best (85 bytes per entry; 2^k costs 128).
   */
  flowCapacity?: number;
  /** Affinity table capacity. Default 1 << 16 (8 MiB of slots, allocated when a client is first pinned). */
  affinityCapacity?: number;
  /** Seed for the `random` scheduler, so runs are reproducible. Default 1. */
  seed?: number;
  /**
   * 128-bit key of the flow and affinity table hashes (four u32 words). Hosts that face untrusted
   * clients pass real randomness (`randomHashKey()`), so nobody can choose tuples that collide.
   * Default: derived from `seed` (deterministic, for tests and simulations).
   */
  hashKey?: readonly [number, number, number, number];
  /**
   * Flow idle timeouts in seconds (IPVS defaults: tcp 900, tcpfin 120, udp 300; sctp 900;
   * tcpSyn 60, a TCP connection not yet `established`, IPVS SYN_RECV).
   */
  timeouts?: { tcp?: number; tcpFin?: number; udp?: number; sctp?: number; tcpSyn?: number };
}

export interface EngineStats {
  generation: number;
  servicePorts: number;
  backends: number;
  flows: number;
  flowCapacity: number;
  affinities: number;
  affinityCapacity: number;
  /** Entries evicted because a table was full (oldest first). */
  flowEvictions: number;
  affinityEvictions: number;
  /** Entries removed by expiry. */
  flowExpirations: number;
  affinityExpirations: number;
  /** Entries dropped on snapshot swap because their backend went away or became unusable. */
  flowsDroppedOnSwap: number;
  /** Affinity entries dropped on snapshot swap because their backend went away or left the pool. */
  affinitiesDroppedOnSwap: number;
  /** New connections served but not tracked because their flow-index probe chain was full (issue 10). */
  flowsUntracked: number;
  /** ClientIP pinnings not kept because their affinity-index probe chain was full (issue 10). */
  affinitiesUntracked: number;
  /** Bytes of Wasm linear memory. */
  memoryBytes: number;
  /** Backend and member records orphaned by delta snapshots since the last full load (a full load compacts). */
  garbageRecords: number;
  /** Member records (pool destinations) in use. */
  memberRecords: number;
}

/** Thrown by `load` when the engine rejects a snapshot; the previous generation keeps serving. */
export class SnapshotError extends Error {
  constructor(
    /** The engine's rejection code (see engine/snapshot.ts). */
    readonly code: number,
    message: string,
  ) {
    super(message);
    this.name = 'SnapshotError';
  }
}

export interface EngineApi {
  /** Encode the model, load it, swap generations atomically. Throws SnapshotError; the old generation stays. */
  load(model: ServiceModel): void;
  /**
   * As `load`, but the host encodes the model and the engine builds the next generation in
   * bounded steps between event-loop turns, serving decisions on the current one meanwhile, then
   * switches atomically.
   */
  loadInSteps(model: ServiceModel, options?: { budget?: number; pause?: () => Promise<void> }): Promise<void>;
  /** Load an already encoded snapshot (e.g. fetched by the Envoy filter tooling). Same error contract. */
  loadSnapshot(bytes: Uint8Array, model: ServiceModel): void;
  /**
   * Apply only what changed (host/model's ServiceChangeTracker output) as a delta snapshot,
   * falling back to a full load when a delta cannot express it; returns which was done. Same
   * error contract. Afterwards `model.servicePorts` is in the engine's order (docs/snapshot.md).
   */
  applyChanges(changes: ServicePortChanges): 'delta' | 'full';
  /** The model of the serving generation. */
  readonly model: ServiceModel;

  /**
   * A new connection (TCP SYN / first UDP packet): match the Service port by (protocol, dst, dstPort),
   * apply source ranges and traffic policy, honour an existing flow or ClientIP affinity entry,
   * otherwise schedule; insert the flow (counted as a new inactive connection, then active for TCP
   * as IPVS does for the SYN) and the affinity entry.
   */
  connect(protocol: number, src: Address, srcPort: number, dst: Address, dstPort: number, nowMs: number): Decision;
  /** A flow's TCP handshake completed: refresh and keep it active. */
  established(protocol: number, src: Address, srcPort: number, dst: Address, dstPort: number, nowMs: number): boolean;
  /** The flow saw FIN/RST or ended: it becomes inactive with the tcpfin timeout (UDP/SCTP: removed). */
  close(protocol: number, src: Address, srcPort: number, dst: Address, dstPort: number, nowMs: number): boolean;
  /**
   * The host could not reach the flow's backend and connected to `backendIndex` of the same service
   * port instead (connect retry): the flow, the per-backend counters and the client's ClientIP
   * affinity entry move there. False when there is no such flow or no such backend.
   */
  rebind(protocol: number, src: Address, srcPort: number, dst: Address, dstPort: number, backendIndex: number, nowMs: number): boolean;
  /** An existing flow: Backend (via Flow) and refreshed, or Pass when none. Never schedules. */
  lookup(protocol: number, src: Address, srcPort: number, dst: Address, dstPort: number, nowMs: number): Decision;
  /**
   * `lookup` for each tuple, in order, in as few engine calls as possible (up to 64 tuples each):
   * the engine hashes a call's tuples and reads their table buckets before deciding, so the memory
   * latencies overlap (UDP bursts, the Envoy filter). The answers equal one-by-one `lookup` calls.
   * Returns one Decision per tuple; the array and its objects are reused by the next batched call.
   */
  lookupMany(tuples: readonly FlowTuple[], nowMs: number): readonly Decision[];
  /** `connect` for each tuple, in order, batched as `lookupMany`; equal to one-by-one `connect` calls. */
  connectMany(tuples: readonly FlowTuple[], nowMs: number): readonly Decision[];
  /** Expire flows and affinity entries older than their timeouts; returns how many were removed. */
  expire(nowMs: number): number;
  /** Per-backend counters of the serving generation, indexed like the model. */
  counters(servicePortIndex: number): { active: number; inactive: number }[];
  stats(): EngineStats;
  /** Read-only view of the state the next decision reads (host/engine/state-view.ts), for explain. */
  stateView(): EngineStateView;
}
