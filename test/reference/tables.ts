/**
 * The connection-tracking tables of the reference engine, as plain Maps: the flow table
 * (5-tuple → backend, IPVS-style idle timeouts) and the ClientIP affinity table
 * ((service port, client) → backend). Insertion order of a Map is the age order used for eviction.
 */

/** IPVS timeouts, seconds (reference/ipvs-schedulers.md §8.1): tcp = ESTABLISHED, tcpFin = FIN_WAIT. */
export interface Timeouts {
  readonly tcp: number;
  readonly tcpFin: number;
  readonly udp: number;
  readonly sctp: number;
}
export const IPVS_TIMEOUTS: Timeouts = { tcp: 900, tcpFin: 120, udp: 300, sctp: 900 };

export interface RefFlow {
  /** servicePortKey of the service port it belongs to. */
  readonly servicePort: string;
  /** Backend id `ip:port` within that service port. */
  readonly backend: string;
  readonly protocol: number;
  /** Counted in activeconns (TCP between the SYN and the first FIN/RST) or inactconns. */
  active: boolean;
  /** Idle timeout of the current state, ms, and when it runs out. */
  timeoutMs: number;
  expiresAtMs: number;
}

export interface RefAffinity {
  readonly servicePort: string;
  readonly backend: string;
  readonly timeoutMs: number;
  expiresAtMs: number;
}

export function flowKey(protocol: number, src: string, srcPort: number, dst: string, dstPort: number): string {
  return `${protocol} ${src} ${srcPort} ${dst} ${dstPort}`;
}

export function affinityKey(servicePort: string, client: string): string {
  return `${servicePort} ${client}`;
}

/**
 * A bounded table keyed by string. `set` of a new key at capacity evicts the oldest entry
 * (the one inserted first) and reports it, so the caller can release its counters.
 */
export class BoundedTable<V> {
  readonly entries = new Map<string, V>();
  evictions = 0;
  expirations = 0;
  constructor(readonly capacity: number) {}

  get size(): number {
    return this.entries.size;
  }
  get(key: string): V | undefined {
    return this.entries.get(key);
  }
  /** Insert or replace; returns the evicted entry, if one had to go. */
  set(key: string, value: V): V | undefined {
    let evicted: V | undefined;
    if (!this.entries.has(key) && this.entries.size >= this.capacity) {
      const [oldestKey, oldest] = this.entries.entries().next().value as [string, V];
      this.entries.delete(oldestKey);
      this.evictions++;
      evicted = oldest;
    }
    this.entries.set(key, value);
    return evicted;
  }
  delete(key: string): boolean {
    return this.entries.delete(key);
  }
}
