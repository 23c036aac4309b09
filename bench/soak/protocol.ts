/**
 * What the soak's processes say to each other: IPC messages between the orchestrator
 * (bench/soak.ts), the echo backends (./backends.ts) and the clients (./clients.ts), and the wire
 * protocol of the echo service itself.
 *
 * Wire: on accept a backend writes its 4-byte endpoint id (uint32 BE), then echoes every byte it
 * reads. The greeting tells a client which endpoint it reached, so a connection that dies can be
 * judged: its endpoint was retired on purpose (an expected end) or was still alive (a loss).
 */

/** Bytes of the greeting a backend sends on accept. */
export const GREETING_BYTES = 4;

/** Orchestrator → backends process. */
export type BackendCommand =
  | { type: 'add'; id: number; ip: string }
  /** The endpoint left the manifest: accepts more than a grace period later are counted (stale routing). */
  | { type: 'removed'; id: number }
  /** The pod terminates: stop listening, end its connections gracefully. */
  | { type: 'retire'; id: number }
  | { type: 'stats' }
  | { type: 'stop' };

/** Backends process → orchestrator. */
export type BackendReply =
  | { type: 'added'; id: number; port: number }
  | { type: 'retired'; id: number; connections: number }
  | { type: 'stats'; stats: BackendStats }
  | { type: 'error'; message: string };

export interface BackendStats {
  /** Open connections per endpoint id. */
  open: Record<number, number>;
  accepted: number;
  /** Connections accepted by an endpoint more than the grace period after it left the manifest. */
  acceptedAfterRemoval: number;
  socketErrors: Record<string, number>;
}

/** Settings the clients process starts with. */
export interface ClientSettings {
  vip: string;
  port: number;
  connections: number;
  /** Message sizes are log-uniform in [minBytes, maxBytes]: mostly small, some large. */
  minBytes: number;
  maxBytes: number;
  /** Pause after each echo: uniform in [0, thinkMaxMs]. */
  thinkMaxMs: number;
  /** An echo not complete after this long is a stalled connection. */
  stallMs: number;
  /** New connections per second while ramping up (and for reconnects). */
  connectPerSecond: number;
  seed: number;
}

/** Orchestrator → clients process. */
export type ClientCommand =
  | { type: 'start'; settings: ClientSettings }
  /** The endpoint is about to be terminated: connections to it that end from now on are expected. */
  | { type: 'retiring'; id: number }
  | { type: 'stats' }
  /** Finish the echo in flight, then close every connection and report. */
  | { type: 'stop' };

/** Clients process → orchestrator. */
export type ClientReply =
  | { type: 'retiring-ack'; id: number }
  | { type: 'stats'; stats: ClientStats }
  | { type: 'stopped'; stats: ClientStats };

export interface ClientStats {
  open: number;
  connected: number;
  connectFailures: Record<string, number>;
  reconnects: number;
  messages: number;
  bytesEchoed: number;
  bytesCorrupted: number;
  /** Connections that ended while their endpoint was alive, by reason. */
  lostLive: Record<string, number>;
  /** Connections that ended because their endpoint was retired (the pod went away). */
  endedRetired: number;
  /** Echo round trips in ms: p50, p99, max over the last stats interval. */
  rttMs: { p50: number; p99: number; max: number };
  /** Open connections per endpoint id. */
  perEndpoint: Record<number, number>;
}
