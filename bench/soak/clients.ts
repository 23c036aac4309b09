/**
 * The soak's clients: many long-lived TCP connections to one Service address, each sending
 * random-size messages and checking every echoed byte against what it sent, in a child process the
 * orchestrator drives over IPC (./protocol.ts).
 *
 * A connection that ends is judged by the endpoint its greeting named: retired on purpose (an
 * expected end, the pod went away) or still alive (a loss, by reason). Lost and retired connections
 * are replaced, so the concurrency holds through the run. Messages come from one random pool, so a
 * message is a view (no copy, no per-message allocation) and the check is a compare against it.
 *
 * Run as `node --import tsx bench/soak/clients.ts` with an IPC channel.
 */
import { randomFillSync } from 'node:crypto';
import net from 'node:net';
import { seededUnit } from '../../host/browser/simulate.js';
import { type ClientCommand, type ClientReply, type ClientSettings, type ClientStats } from './protocol.js';
import { SoakConnection, type ConnectionEnd } from './connection.js';

/** Random bytes every message is a slice of. */
const POOL_BYTES = 4 << 20;
/** Connects in flight at most (the forwarder's accept backlog is finite). */
const MAX_PENDING_CONNECTS = 256;
/** How long `stop` waits for echoes in flight before counting them as stalled. */
const STOP_WAIT_MS = 15_000;

const pool = randomFillSync(Buffer.alloc(POOL_BYTES));
const live = new Set<SoakConnection>();
const retired = new Set<number>();
const perEndpoint = new Map<number, number>();
let settings: ClientSettings;
let pending = 0;
let started = 0;
let stopping = false;
/** Seeded: message sizes and think times are reproducible per seed. */
let rng = seededUnit(1);
const rtts: number[] = [];
const stats: Omit<ClientStats, 'open' | 'rttMs' | 'perEndpoint'> = {
  connected: 0, connectFailures: {}, reconnects: 0, messages: 0, bytesEchoed: 0, bytesCorrupted: 0, lostLive: {}, endedRetired: 0,
};

function bump(map: Record<string, number>, key: string): void {
  map[key] = (map[key] ?? 0) + 1;
}

/** The next message: log-uniform size (mostly small, some up to maxBytes) at a random pool offset. */
function nextMessage(): Buffer {
  const { minBytes, maxBytes } = settings;
  const size = Math.min(maxBytes, Math.floor(Math.exp(Math.log(minBytes) + rng() * (Math.log(maxBytes + 1) - Math.log(minBytes)))));
  const offset = Math.floor(rng() * (POOL_BYTES - size));
  return pool.subarray(offset, offset + size);
}

function open(): void {
  pending++;
  started++;
  if (started > settings.connections) stats.reconnects++;
  const socket = net.connect({ host: settings.vip, port: settings.port });
  const conn = new SoakConnection(socket, {
    nextMessage,
    thinkMs: () => rng() * settings.thinkMaxMs,
    stopping: () => stopping,
    onConnect: () => {
      pending--;
      stats.connected++;
      live.add(conn);
    },
    onGreeting: (id) => perEndpoint.set(id, (perEndpoint.get(id) ?? 0) + 1),
    onEcho: (bytes, rttMs) => {
      stats.messages++;
      stats.bytesEchoed += bytes;
      rtts.push(rttMs);
    },
    onCorrupt: (bytes) => (stats.bytesCorrupted += bytes),
    onEnd: (end) => ended(conn, end),
  });
  socket.setNoDelay(true);
}

/** Books a connection's end under the category it belongs to. */
function ended(conn: SoakConnection, end: ConnectionEnd): void {
  if (!end.connected) {
    pending--;
    bump(stats.connectFailures, end.reason);
    return;
  }
  live.delete(conn);
  if (conn.endpoint !== null) perEndpoint.set(conn.endpoint, (perEndpoint.get(conn.endpoint) ?? 1) - 1);
  if (end.byUs) return;
  if (conn.endpoint === null) bump(stats.connectFailures, `closed before greeting (${end.reason})`);
  else if (retired.has(conn.endpoint)) stats.endedRetired++;
  else bump(stats.lostLive, end.reason);
}

/** Keeps `connections` open: starts the missing ones at `connectPerSecond`, in 100 ms steps. */
function topUp(): void {
  if (stopping) return;
  let budget = Math.max(1, Math.round(settings.connectPerSecond / 10));
  while (budget-- > 0 && live.size + pending < settings.connections && pending < MAX_PENDING_CONNECTS) open();
}

/** Echoes waiting longer than stallMs: the connection is stuck; count it and replace it. */
function checkStalls(): void {
  const now = performance.now();
  for (const c of live) if (c.waitingSince !== null && now - c.waitingSince > settings.stallMs) c.abandon('stalled');
}

function percentile(sorted: number[], p: number): number {
  return sorted.length ? Math.round(sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]! * 100) / 100 : 0;
}

function snapshot(): ClientStats {
  const sorted = rtts.splice(0).sort((a, b) => a - b);
  return {
    ...stats,
    open: live.size,
    rttMs: { p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99), max: percentile(sorted, 1) },
    perEndpoint: Object.fromEntries([...perEndpoint].filter(([, n]) => n > 0)),
  };
}

function send(msg: ClientReply): void {
  process.send?.(msg);
}

/** Lets every echo in flight finish (bounded), then closes every connection from this side. */
async function stop(): Promise<void> {
  stopping = true;
  const deadline = performance.now() + STOP_WAIT_MS;
  while (performance.now() < deadline && [...live].some((c) => c.waitingSince !== null)) await new Promise((r) => setTimeout(r, 100));
  for (const c of live) if (c.waitingSince !== null) c.abandon('stalled at stop');
  for (const c of live) c.close();
  const closed = performance.now() + 5000;
  while (live.size && performance.now() < closed) await new Promise((r) => setTimeout(r, 50));
  send({ type: 'stopped', stats: snapshot() });
  process.disconnect?.();
  setTimeout(() => process.exit(0), 100).unref();
}

process.on('message', (msg: ClientCommand) => {
  switch (msg.type) {
    case 'start':
      settings = msg.settings;
      rng = seededUnit(settings.seed);
      setInterval(topUp, 100).unref();
      setInterval(checkStalls, 1000).unref();
      return;
    case 'retiring':
      retired.add(msg.id);
      return send({ type: 'retiring-ack', id: msg.id });
    case 'stats':
      return send({ type: 'stats', stats: snapshot() });
    case 'stop':
      void stop();
      return;
  }
});
process.on('disconnect', () => process.exit(0));
