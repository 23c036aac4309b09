/**
 * Real loopback servers and clients for forwarder end-to-end tests: hostnames-style HTTP backends,
 * TCP echo servers, UDP echo servers, and small clients. Everything binds 127.x addresses only.
 */
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import http from 'node:http';
import net from 'node:net';

/** Test servers get `stop()` (their own `close` keeps its Node meaning). */
export interface Closable {
  stop(): Promise<void>;
}

/** An HTTP server answering `<p>The host is <name></p>` (the seeds' hostnames pods). */
export async function hostnameServer(ip: string, port: number, name: string): Promise<http.Server & Closable> {
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html' });
    res.end(`<p>The host is ${name}</p>\n`);
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: ip, port }, () => resolve());
  });
  const stop = (): Promise<void> =>
    new Promise((r) => {
      server.close(() => r());
      server.closeAllConnections();
    });
  return Object.assign(server, { stop });
}

/** A TCP echo server that tags nothing: bytes in = bytes out, half-close honoured. */
export async function echoServer(ip: string, port: number): Promise<net.Server & Closable & { accepted: number; sockets: Set<net.Socket> }> {
  const sockets = new Set<net.Socket>();
  const state = { accepted: 0 };
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    state.accepted++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
    s.pipe(s);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: ip, port, backlog: 2048 }, () => resolve());
  });
  const stop = (): Promise<void> =>
    new Promise((r) => {
      for (const s of sockets) s.destroy();
      server.close(() => r());
    });
  // (Object.assign would copy the getter's current value, not the getter.)
  Object.defineProperty(server, 'accepted', { get: () => state.accepted });
  return Object.assign(server as net.Server & { accepted: number }, { stop, sockets });
}

/** A UDP server answering each datagram with `<name>:<payload>`. */
export async function udpNameServer(ip: string, port: number, name: string): Promise<dgram.Socket & Closable> {
  const s = dgram.createSocket('udp4');
  s.on('message', (msg, rinfo) => s.send(Buffer.concat([Buffer.from(`${name}:`), msg]), rinfo.port, rinfo.address));
  await new Promise<void>((resolve) => s.bind(port, ip, () => resolve()));
  return Object.assign(s, { stop: () => new Promise<void>((r) => s.close(() => r())) });
}

/** GET http://ip:port/ with a fresh connection; resolves with the body. */
export function httpGet(ip: string, port: number, localAddress?: string, localPort?: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: ip, port, path: '/', agent: false, localAddress, localPort, timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve(body.trim()));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

/** Connects, sends `payload`, half-closes, resolves with everything received before the peer's FIN. */
export function tcpRoundTrip(ip: string, port: number, payload: Buffer, localAddress?: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const s = net.connect({ host: ip, port, localAddress, allowHalfOpen: true });
    s.setTimeout(10_000, () => s.destroy(new Error('timeout')));
    s.on('connect', () => s.end(payload));
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('end', () => {
      resolve(Buffer.concat(chunks));
      s.destroy();
    });
    s.on('error', reject);
  });
}

/** Connects and reports how the attempt ended: 'reset', 'closed' (FIN without data) or 'open'. */
export function connectOutcome(ip: string, port: number, waitMs = 1000): Promise<'reset' | 'refused' | 'closed' | 'open'> {
  return new Promise((resolve) => {
    const s = net.connect({ host: ip, port });
    const timer = setTimeout(() => {
      s.destroy();
      resolve('open');
    }, waitMs);
    s.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve(err.code === 'ECONNREFUSED' ? 'refused' : 'reset');
    });
    s.on('end', () => {
      clearTimeout(timer);
      s.destroy();
      resolve('closed');
    });
    s.resume();
  });
}

/** Sends one datagram from a fresh or given socket; resolves with the first reply (or null on timeout). */
export function udpAsk(socket: dgram.Socket, ip: string, port: number, payload: string, timeoutMs = 1000): Promise<string | null> {
  return new Promise((resolve) => {
    const onMsg = (msg: Buffer): void => {
      clearTimeout(timer);
      socket.removeListener('message', onMsg);
      resolve(msg.toString());
    };
    const timer = setTimeout(() => {
      socket.removeListener('message', onMsg);
      resolve(null);
    }, timeoutMs);
    socket.on('message', onMsg);
    socket.send(payload, port, ip);
  });
}

export async function closeAll(...items: (Closable | undefined | null)[]): Promise<void> {
  await Promise.all(items.map((i) => i?.stop()));
}

/**
 * A backend whose connects time out: a child process listens with a one-slot backlog and blocks
 * its event loop at once, so it never accepts; two held connections fill the accept queue, and
 * Linux drops further SYNs while it is full. A connect to it is neither accepted nor refused.
 * The child lives at most 30 s.
 */
export async function blackholeServer(ip: string, port: number): Promise<Closable> {
  const code = `
    const net = require('node:net');
    const fs = require('node:fs');
    net.createServer().listen({ host: ${JSON.stringify(ip)}, port: ${port}, backlog: 1 }, () => {
      fs.writeSync(1, 'ready\\n');
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 30000);
    });`;
  const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  await new Promise<void>((resolve, reject) => {
    child.stdout.once('data', () => resolve());
    void exited.then(() => reject(new Error('blackhole backend exited early')));
  });
  const held: net.Socket[] = [];
  for (let i = 0; i < 2; i++) {
    const s = net.connect({ host: ip, port });
    s.on('error', () => undefined);
    held.push(s);
    await new Promise((r) => s.once('connect', r));
  }
  return {
    stop: async () => {
      for (const s of held) s.destroy();
      child.kill('SIGKILL');
      await exited;
    },
  };
}
