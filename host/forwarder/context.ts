/**
 * What the TCP and UDP data paths share: the engine, metrics, logger, tunables, the address cache
 * and the ejection state. One per Forwarder.
 */
import type { Logger } from 'pino';
import { parseAddress } from '../engine/address.js';
import type { Address } from '../engine/address.js';
import type { EngineApi } from '../engine/api.js';
import type { BackendEjections } from './backend-ejection.js';
import type { ConnectDeadlines } from './connect-deadlines.js';
import type { ForwarderMetrics } from './metrics.js';

/** Tunables of the data path (CLI flags map onto these). */
export interface DataPathOptions {
  /** Backend TCP connect timeout (ms). Default 2000. */
  connectTimeoutMs: number;
  /** Further backends tried after a refused or timed-out connect. Default 2. */
  connectRetries: number;
  /** UDP session idle timeout (ms). Default 300 000 (IPVS udp timeout). */
  udpTimeoutMs: number;
  /** Datagrams queued per UDP session while its backend socket is being set up. */
  udpQueueLimit: number;
  /** UDP sessions per service address (each holds a socket); new clients beyond it are dropped. */
  udpMaxSessions: number;
  /** Idle timeout for TCP connections (ms), 0 = none. Default 0 (the engine's tcp timeout governs the flow only). */
  tcpIdleTimeoutMs: number;
  /**
   * Traffic on an open TCP connection refreshes its engine flow at most this often (ms), as IPVS
   * re-arms a connection's timer on every packet: a connection still carrying data stays counted
   * for lc/wlc/sed/nq past the tcp timeout (issue 10). Default 10 000, far below the 900 s timeout.
   */
  flowRefreshMs: number;
  /**
   * Bind service listeners with SO_REUSEPORT (Node ≥ 22.12), so several worker threads hold the
   * same address and the kernel spreads connections and UDP clients over them. Default false.
   */
  reusePort: boolean;
}

export const DEFAULT_DATA_PATH_OPTIONS: DataPathOptions = {
  connectTimeoutMs: 2000,
  connectRetries: 2,
  udpTimeoutMs: 300_000,
  udpQueueLimit: 64,
  udpMaxSessions: 16_384,
  tcpIdleTimeoutMs: 0,
  flowRefreshMs: 10_000,
  reusePort: false,
};

/**
 * Parsed client addresses by text: a client's address is parsed once (ipaddr.js costs ~µs), then
 * found by its string; bounded, cleared wholesale when full.
 */
export class AddressCache {
  private readonly map = new Map<string, Address>();
  constructor(private readonly limit = 8192) {}

  get(text: string): Address {
    let a = this.map.get(text);
    if (a === undefined) {
      a = parseAddress(text);
      if (this.map.size >= this.limit) this.map.clear();
      this.map.set(text, a);
    }
    return a;
  }
}

export interface DataPathContext {
  readonly engine: EngineApi;
  readonly metrics: ForwarderMetrics;
  readonly log: Logger;
  readonly options: DataPathOptions;
  readonly addresses: AddressCache;
  readonly ejections: BackendEjections;
  /** The connect timeout of every backend connect in flight (one timer for all). */
  readonly connectDeadlines: ConnectDeadlines;
  /** Milliseconds on the clock the engine's tables use. */
  now(): number;
  /** A backend failed to connect: eject it and re-apply the model soon. */
  backendFailed(backendKey: string): void;
}
