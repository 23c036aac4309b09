/**
 * The soak's endpoints: echo servers on distinct loopback addresses (127.0.x.y, port 0), in a child
 * process of the orchestrator that drives it over IPC (./protocol.ts). Each endpoint plays a pod:
 * added (listening), removed from the manifest (still alive: it keeps serving its connections, as a
 * pod does after leaving an EndpointSlice), retired (the pod terminates: it stops listening and ends
 * its connections gracefully).
 *
 * Run as `node --import tsx bench/soak/backends.ts` with an IPC channel; exits on `stop` or when
 * the orchestrator goes away.
 */
import net from 'node:net';
import { GREETING_BYTES, type BackendCommand, type BackendReply, type BackendStats } from './protocol.js';

/** Accepts this long after a removal are still the forwarder's sync catching up, not stale routing. */
const REMOVAL_GRACE_MS = 3000;
/** A retired endpoint's connections get this long to finish their FIN handshake before being destroyed. */
const RETIRE_DESTROY_MS = 2000;

interface Endpoint {
  id: number;
  server: net.Server;
  sockets: Set<net.Socket>;
  removedAt: number | null;
}

const endpoints = new Map<number, Endpoint>();
const stats: BackendStats = { open: {}, accepted: 0, acceptedAfterRemoval: 0, socketErrors: {} };

function send(msg: BackendReply): void {
  process.send?.(msg);
}

/** One echo connection: greeting, then every byte back, with backpressure (pipe into itself). */
function serve(ep: Endpoint, socket: net.Socket): void {
  stats.accepted++;
  if (ep.removedAt !== null && performance.now() - ep.removedAt > REMOVAL_GRACE_MS) stats.acceptedAfterRemoval++;
  ep.sockets.add(socket);
  socket.setNoDelay(true);
  const greeting = Buffer.alloc(GREETING_BYTES);
  greeting.writeUInt32BE(ep.id);
  socket.write(greeting);
  socket.pipe(socket);
  socket.on('error', (err: NodeJS.ErrnoException) => {
    const code = err.code ?? 'unknown';
    stats.socketErrors[code] = (stats.socketErrors[code] ?? 0) + 1;
  });
  socket.on('close', () => ep.sockets.delete(socket));
}

function add(id: number, ip: string): void {
  const ep: Endpoint = { id, server: net.createServer(), sockets: new Set(), removedAt: null };
  ep.server.on('connection', (s) => serve(ep, s));
  ep.server.once('error', (err) => send({ type: 'error', message: `endpoint ${id} on ${ip}: ${err.message}` }));
  ep.server.listen({ host: ip, port: 0, backlog: 4096 }, () => {
    endpoints.set(id, ep);
    send({ type: 'added', id, port: (ep.server.address() as net.AddressInfo).port });
  });
}

/** The pod terminates: no new connections, open ones end with a FIN (destroyed if they linger). */
function retire(id: number): void {
  const ep = endpoints.get(id);
  if (!ep) return send({ type: 'retired', id, connections: 0 });
  endpoints.delete(id);
  ep.server.close();
  const connections = ep.sockets.size;
  for (const s of ep.sockets) {
    s.unpipe(s);
    s.end();
    setTimeout(() => s.destroy(), RETIRE_DESTROY_MS).unref();
  }
  send({ type: 'retired', id, connections });
}

function snapshot(): BackendStats {
  const open: Record<number, number> = {};
  for (const ep of endpoints.values()) open[ep.id] = ep.sockets.size;
  return { ...stats, open };
}

function stop(): void {
  for (const ep of endpoints.values()) {
    ep.server.close();
    for (const s of ep.sockets) s.destroy();
  }
  process.disconnect?.();
  setTimeout(() => process.exit(0), 100).unref();
}

process.on('message', (msg: BackendCommand) => {
  switch (msg.type) {
    case 'add':
      return add(msg.id, msg.ip);
    case 'removed': {
      const ep = endpoints.get(msg.id);
      if (ep) ep.removedAt = performance.now();
      return;
    }
    case 'retire':
      return retire(msg.id);
    case 'stats':
      return send({ type: 'stats', stats: snapshot() });
    case 'stop':
      return stop();
  }
});
// The orchestrator died or hung up: nothing to serve for any more.
process.on('disconnect', () => process.exit(0));
