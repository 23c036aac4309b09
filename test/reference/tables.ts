/**
 * The connection-tracking tables of the reference engine, as plain Maps: the flow table
 * (5-tuple → backend, IPVS-style idle timeouts) and the ClientIP affinity table
 * ((service port, client) → backend). A Map keeps insertion order; `touch` re-inserts an entry,
 * so iteration order is least recently used first, which is what eviction needs. A flow's lookup
 * re-inserts it only once its queue epoch (EPOCH_MS) has passed (engine/flows.ts), so the flow
 * order is use order to within one epoch.
 */

/** Host time a flow's place in its class's use order stands for (engine/flows.ts EPOCH_MS). */
export const EPOCH_MS = 1024;
/** The epoch of a host time: the engine's u32 ms tick, shifted. */
export function epochOf(ms: number): number {
  return (Math.floor(ms) >>> 0) >>> 10;
}

/**
 * IPVS timeouts, seconds (reference/ipvs-schedulers.md §8.1): tcp = ESTABLISHED, tcpFin =
 * FIN_WAIT, tcpSyn = SYN_RECV (a TCP connection not yet established).
 */
export interface Timeouts {
  readonly tcp: number;
  readonly tcpFin: number;
  readonly udp: number;
  readonly sctp: number;
  readonly tcpSyn: number;
}
export const IPVS_TIMEOUTS: Timeouts = { tcp: 900, tcpFin: 120, udp: 300, sctp: 900, tcpSyn: 60 };

/** A flow's timeout class; the order is the tie-break among equally old eviction candidates. */
export const FLOW_CLASSES = ['tcp', 'tcpFin', 'udp', 'sctp', 'tcpSyn'] as const;
export type FlowClass = (typeof FLOW_CLASSES)[number];

export interface RefFlow {
  /** Identity (`ns/name:port/protocol`) of the service port it belongs to. */
  readonly servicePort: string;
  /** Backend id `ip:port` within that service port (moved by a host's rebind). */
  backend: string;
  readonly protocol: number;
  /** The virtual service (`vsKey`: destination address and port) it was admitted through. */
  readonly vs: string;
  /** Counted in activeconns (TCP between the SYN and the first FIN/RST) or inactconns. */
  active: boolean;
  cls: FlowClass;
  lastUsedMs: number;
  /** When it last moved to the most recently used end (insert, touch, a lookup in a new epoch). */
  queuedMs: number;
}

export interface RefAffinity {
  readonly servicePort: string;
  /** The virtual service (service address) it pins for: persistence is per virtual service. */
  readonly vs: string;
  readonly backend: string;
  readonly timeoutMs: number;
  lastUsedMs: number;
}

export function flowKey(protocol: number, src: string, srcPort: number, dst: string, dstPort: number): string {
  return `${protocol} ${src} ${srcPort} ${dst} ${dstPort}`;
}

export function affinityKey(servicePort: string, vs: string, client: string): string {
  return `${servicePort} ${vs} ${client}`;
}

/** An entry has expired once `timeout` ms have passed since its last use (now − last ≥ timeout). */
export function isExpired(lastUsedMs: number, timeoutMs: number, nowMs: number): boolean {
  return nowMs - lastUsedMs >= timeoutMs;
}

/**
 * A bounded table keyed by string. Inserting a new key at capacity evicts a victim chosen by
 * `rank` (smallest wins; equal ranks go to the least recently used) and returns it so the caller
 * can release its counters. With `group`, only the least recently used entry of each group is a
 * candidate (the engine's flow table looks at the tail of each class list).
 */
export class BoundedTable<V extends { lastUsedMs: number; queuedMs?: number }> {
  readonly entries = new Map<string, V>();
  evictions = 0;
  expirations = 0;
  constructor(
    readonly capacity: number,
    private readonly rank: (v: V, nowMs: number) => number[] = (v) => [v.lastUsedMs],
    private readonly group?: (v: V) => string,
  ) {}

  get size(): number {
    return this.entries.size;
  }
  get(key: string): V | undefined {
    return this.entries.get(key);
  }
  /**
   * Mark an entry used at `nowMs`: it becomes the most recently used. `lazy` (a flow's lookup):
   * only its last use changes while `nowMs` is in the epoch it was queued in.
   */
  touch(key: string, nowMs: number, lazy = false): void {
    const v = this.entries.get(key);
    if (!v) return;
    v.lastUsedMs = nowMs;
    if (lazy && v.queuedMs !== undefined && epochOf(v.queuedMs) === epochOf(nowMs)) return;
    if (v.queuedMs !== undefined) v.queuedMs = nowMs;
    this.entries.delete(key);
    this.entries.set(key, v);
  }
  /** Insert a new key (most recently used); returns [victim key, victim] when one had to go. */
  insert(key: string, value: V, nowMs: number): [string, V] | undefined {
    let victim: [string, V] | undefined;
    if (this.entries.size >= this.capacity) {
      const seen = new Set<string>();
      for (const entry of this.entries) {
        if (this.group) {
          const g = this.group(entry[1]);
          if (seen.has(g)) continue;
          seen.add(g);
        }
        if (!victim || lexLess(this.rank(entry[1], nowMs), this.rank(victim[1], nowMs))) victim = entry;
      }
      this.entries.delete(victim![0]);
    }
    this.entries.set(key, value);
    return victim;
  }
  delete(key: string): boolean {
    return this.entries.delete(key);
  }
}

function lexLess(a: number[], b: number[]): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! < b[i]!;
  return false;
}
