/**
 * The DNS server's sockets: UDP and TCP on the same address and port (RFC 7766: TCP is not
 * optional), each message handed to a Responder. TCP connections may carry several
 * length-prefixed queries (pipelined; replies in completion order, RFC 7766 §6.2.1.1) and are
 * closed after an idle period.
 */
import { type Socket as UdpSocket, createSocket } from 'node:dgram';
import { type Server, type Socket, createServer } from 'node:net';
import type { Responder, Transport } from './respond.js';

/** Close a TCP connection idle this long (RFC 7766 §6.2.3 suggests seconds). */
export const TCP_IDLE_TIMEOUT_MS = 10_000;

export interface DnsListenOptions {
  readonly host: string;
  /** 0 = pick a free port (the same one for UDP and TCP). */
  readonly port: number;
}

export interface DnsCounters {
  queries: Record<Transport, number>;
  errors: number;
}

export class DnsServer {
  private udp: UdpSocket | undefined;
  private tcp: Server | undefined;
  private readonly connections = new Set<Socket>();
  readonly counters: DnsCounters = { queries: { udp: 0, tcp: 0 }, errors: 0 };

  constructor(private readonly responder: Responder) {}

  /** Binds UDP, then TCP on the port UDP got; resolves with `host:port`. */
  async listen(o: DnsListenOptions): Promise<{ host: string; port: number }> {
    for (let attempt = 0; ; attempt++) {
      const udp = await this.bindUdp(o.host, o.port);
      const port = udp.address().port;
      try {
        this.tcp = await this.bindTcp(o.host, port);
        this.udp = udp;
        return { host: o.host, port };
      } catch (err) {
        udp.close();
        // With port 0, TCP may find the UDP port taken by someone else: pick another.
        if (o.port !== 0 || attempt >= 10 || (err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
      }
    }
  }

  private bindUdp(host: string, port: number): Promise<UdpSocket> {
    const sock = createSocket({ type: host.includes(':') ? 'udp6' : 'udp4' });
    return new Promise((resolve, reject) => {
      sock.once('error', reject);
      sock.bind({ address: host, port }, () => {
        sock.removeListener('error', reject);
        sock.on('error', () => void this.counters.errors++);
        sock.on('message', (msg, rinfo) => {
          this.counters.queries.udp++;
          void this.answer(msg, 'udp').then((out) => {
            if (out) sock.send(out, rinfo.port, rinfo.address, () => undefined);
          });
        });
        resolve(sock);
      });
    });
  }

  private bindTcp(host: string, port: number): Promise<Server> {
    const server = createServer((conn) => this.serveConnection(conn));
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host, port }, () => {
        server.removeListener('error', reject);
        resolve(server);
      });
    });
  }

  private serveConnection(conn: Socket): void {
    this.connections.add(conn);
    conn.setTimeout(TCP_IDLE_TIMEOUT_MS, () => conn.destroy());
    conn.on('close', () => this.connections.delete(conn));
    conn.on('error', () => void this.counters.errors++);
    let buf: Buffer = Buffer.alloc(0);
    conn.on('data', (chunk: Buffer) => {
      buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const msg = buf.subarray(2, 2 + buf.readUInt16BE(0));
        buf = buf.subarray(2 + msg.length);
        this.counters.queries.tcp++;
        void this.answer(msg, 'tcp').then((out) => {
          if (!out || conn.destroyed) return;
          const len = Buffer.alloc(2);
          len.writeUInt16BE(out.length);
          conn.write(Buffer.concat([len, out]));
        });
      }
    });
  }

  /** The Responder never throws by design; should it, the query is dropped and counted, never fatal. */
  private async answer(msg: Buffer, transport: Transport): Promise<Buffer | null> {
    try {
      return await this.responder.respond(msg, transport);
    } catch {
      this.counters.errors++;
      return null;
    }
  }

  async close(): Promise<void> {
    for (const c of this.connections) c.destroy();
    await Promise.all([
      new Promise<void>((resolve) => (this.udp ? this.udp.close(() => resolve()) : resolve())),
      new Promise<void>((resolve) => (this.tcp ? this.tcp.close(() => resolve()) : resolve())),
    ]);
    this.udp = undefined;
    this.tcp = undefined;
  }
}
