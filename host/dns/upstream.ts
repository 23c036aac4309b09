/**
 * Upstream resolvers for names outside the cluster zone (CoreDNS's `forward . /etc/resolv.conf`):
 * the query goes to each upstream in turn, over the transport the client used, until one answers.
 * Every exchange has its own socket and a fresh message ID, so a stray or spoofed reply to one
 * query cannot answer another.
 */
import { randomInt } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import ipaddr from 'ipaddr.js';

export interface Upstream {
  readonly host: string;
  readonly port: number;
}

/** Per upstream and attempt (CoreDNS forward's read timeout is 2 s). */
export const DEFAULT_UPSTREAM_TIMEOUT_MS = 2000;

/** `1.2.3.4`, `1.2.3.4:5353`, `[::1]:53`, `::1` → Upstream; throws naming the value. */
export function parseUpstream(value: string): Upstream {
  const v = value.trim();
  const bracketed = /^\[([^\]]+)\](?::(\d{1,5}))?$/.exec(v);
  const plain4 = /^([0-9.]+)(?::(\d{1,5}))?$/.exec(v);
  const [host, port] = bracketed ? [bracketed[1]!, bracketed[2]] : plain4 ? [plain4[1]!, plain4[2]] : [v, undefined];
  const n = port === undefined ? 53 : Number(port);
  const valid = ipaddr.IPv4.isValidFourPartDecimal(host) || ipaddr.IPv6.isValid(host);
  if (!valid || !(n >= 1 && n <= 65535)) throw new Error(`"${value}" is not an upstream address (e.g. 10.0.0.10, 10.0.0.10:53 or [fd00::10]:53)`);
  return { host: ipaddr.parse(host).toString(), port: n };
}

/** The `nameserver` lines of a resolv.conf (resolv.conf(5)); missing file = none. */
export function resolvConfUpstreams(path = '/etc/resolv.conf'): Upstream[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return [];
  }
  const out: Upstream[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*nameserver\s+(\S+)/.exec(line);
    if (!m) continue;
    const host = m[1]!.replace(/%.*$/, '');
    if (ipaddr.isValid(host)) out.push({ host: ipaddr.parse(host).toString(), port: 53 });
  }
  return out;
}

function withId(msg: Buffer, id: number): Buffer {
  const copy = Buffer.from(msg);
  copy.writeUInt16BE(id, 0);
  return copy;
}

function exchangeUdp(u: Upstream, query: Buffer, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const sock = createSocket(u.host.includes(':') ? 'udp6' : 'udp4');
    const id = query.readUInt16BE(0);
    const timer = setTimeout(() => done(new Error(`upstream ${u.host}:${u.port}: no answer in ${timeoutMs} ms`)), timeoutMs);
    const done = (err: Error | null, reply?: Buffer): void => {
      clearTimeout(timer);
      sock.close();
      if (err) reject(err);
      else resolve(reply!);
    };
    sock.on('error', (err) => done(err));
    sock.on('message', (reply, rinfo) => {
      if (reply.length >= 12 && reply.readUInt16BE(0) === id && rinfo.port === u.port) done(null, reply);
    });
    sock.send(query, u.port, u.host);
  });
}

function exchangeTcp(u: Upstream, query: Buffer, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const sock = connect({ host: u.host, port: u.port });
    let buf = Buffer.alloc(0);
    const timer = setTimeout(() => done(new Error(`upstream ${u.host}:${u.port}: no answer in ${timeoutMs} ms`)), timeoutMs);
    const done = (err: Error | null, reply?: Buffer): void => {
      clearTimeout(timer);
      sock.destroy();
      if (err) reject(err);
      else resolve(reply!);
    };
    sock.on('error', (err) => done(err));
    sock.on('connect', () => {
      const len = Buffer.alloc(2);
      len.writeUInt16BE(query.length);
      sock.write(Buffer.concat([len, query]));
    });
    sock.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) done(null, buf.subarray(2, 2 + buf.readUInt16BE(0)));
    });
    sock.on('end', () => done(new Error(`upstream ${u.host}:${u.port}: closed without an answer`)));
  });
}

/**
 * Sends `query` (a wire-format message) to the upstreams in order; resolves with the first reply,
 * its ID set back to the query's. Rejects when none answers.
 */
export async function forwardQuery(upstreams: readonly Upstream[], query: Buffer, transport: 'udp' | 'tcp', timeoutMs = DEFAULT_UPSTREAM_TIMEOUT_MS): Promise<Buffer> {
  const clientId = query.readUInt16BE(0);
  const errors: string[] = [];
  for (const u of upstreams) {
    const q = withId(query, randomInt(0, 65536));
    try {
      const reply = transport === 'udp' ? await exchangeUdp(u, q, timeoutMs) : await exchangeTcp(u, q, timeoutMs);
      return withId(reply, clientId);
    } catch (err) {
      errors.push((err as Error).message);
    }
  }
  throw new Error(errors.join('; ') || 'no upstream');
}
