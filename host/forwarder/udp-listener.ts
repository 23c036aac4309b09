/**
 * UDP forwarding for one service address: one session per client (address, port), each with its
 * own connected socket to the backend the engine chose, so replies go back to the right client.
 *
 * The engine's flow table is the session table's source of truth for the backend (`connect` on a
 * client's first datagram, refreshed by `lookup` while the session is busy, `close` on idle
 * timeout); the JS map only holds the sockets. Sessions idle longer than the UDP timeout are closed,
 * and the client's next datagram is scheduled afresh. Sessions whose backend left the Service end
 * at the next sync (`revalidate`), as kube-proxy deletes the conntrack entries of removed UDP
 * endpoints, so busy clients move too.
 */
import dgram from 'node:dgram';
import type { Address } from '../engine/address.js';
import { Verdict, Via } from '../engine/api.js';
import { backendKey } from '../engine/model.js';
import type { DataPathContext } from './context.js';
import type { PlannedListener } from './listen-plan.js';
import type { PortMetrics } from './metrics.js';

const UDP = 17;

interface UdpSession {
  readonly clientIP: string;
  readonly clientPort: number;
  readonly src: Address;
  readonly upstream: dgram.Socket;
  readonly pm: PortMetrics;
  readonly backendKey: string;
  /** Datagrams waiting for the upstream socket to connect; null once connected. */
  queue: Buffer[] | null;
  lastSeen: number;
  /** Seen traffic since the last sweep (then the engine flow is refreshed). */
  busy: boolean;
  bytesIn: number;
  bytesOut: number;
}

export class UdpServiceListener {
  readonly socket: dgram.Socket;
  /** client IP → client port → session (no string building per datagram). */
  private readonly sessions = new Map<string, Map<number, UdpSession>>();
  private count = 0;
  private sweepTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly ctx: DataPathContext,
    readonly listener: PlannedListener,
  ) {
    // reusePort (worker threads): the kernel hashes each client to one worker's socket, so a
    // client's datagrams keep reaching the worker that holds its session.
    const reusePort = ctx.options.reusePort || undefined;
    this.socket = dgram.createSocket({ type: listener.address.family === 6 ? 'udp6' : 'udp4', ...(reusePort && { reusePort }) } as dgram.SocketOptions);
    this.socket.on('message', this.onMessage);
    const every = Math.min(10_000, Math.max(50, Math.floor(ctx.options.udpTimeoutMs / 4)));
    this.sweepTimer = setInterval(() => this.sweep(), every);
    this.sweepTimer.unref();
  }

  get sessionCount(): number {
    return this.count;
  }

  /** Binds; resolves or rejects with the bind error. */
  bind(): Promise<void> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      this.socket.once('error', onError);
      this.socket.bind({ address: this.listener.ip, port: this.listener.port, exclusive: true }, () => {
        this.socket.removeListener('error', onError);
        this.socket.on('error', (err) => this.ctx.log.warn({ listener: this.listener.key, err: err.message }, 'udp listener error'));
        resolve();
      });
    });
  }

  /** Stops receiving and closes every session. */
  close(): void {
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.sweepTimer = null;
    for (const byPort of this.sessions.values()) for (const s of byPort.values()) this.closeSession(s);
    try {
      this.socket.close();
    } catch {
      // already closed
    }
  }

  private readonly onMessage = (msg: Buffer, rinfo: dgram.RemoteInfo): void => {
    let byPort = this.sessions.get(rinfo.address);
    let s = byPort?.get(rinfo.port);
    if (s === undefined) {
      s = this.open(rinfo);
      if (s === undefined) return;
      if (byPort === undefined) {
        byPort = new Map();
        this.sessions.set(rinfo.address, byPort);
      }
      byPort.set(rinfo.port, s);
      this.count++;
      this.ctx.metrics.udpSessions.inc();
    }
    s.lastSeen = this.ctx.now();
    s.busy = true;
    s.bytesIn += msg.length;
    if (s.queue !== null) {
      if (s.queue.length < this.ctx.options.udpQueueLimit) s.queue.push(msg);
      return;
    }
    s.upstream.send(msg);
  };

  private open(rinfo: dgram.RemoteInfo): UdpSession | undefined {
    const { ctx, listener } = this;
    if (this.count >= ctx.options.udpMaxSessions) {
      // Each session holds a socket: bound them so a spray of source ports cannot exhaust FDs.
      ctx.metrics.reject(ctx.metrics.portMetricsByKey(listener.servicePorts[0] ?? '', 'UDP'), 'session_limit');
      return undefined;
    }
    const src = ctx.addresses.get(rinfo.address);
    const d = ctx.engine.connect(UDP, src, rinfo.port, listener.address, listener.port, ctx.now());
    const pm = ctx.metrics.portMetrics(d.servicePort);
    if (d.verdict !== Verdict.Backend) {
      // UDP has no reset to send from userspace; kube-proxy's REJECT would send ICMP.
      ctx.metrics.reject(pm, d.verdict === Verdict.Reject ? 'no_endpoints' : d.verdict === Verdict.Drop ? 'dropped_by_policy' : 'no_service');
      return undefined;
    }
    if (d.via === Via.Flow) pm.viaFlow++;
    else if (d.via === Via.Affinity) pm.viaAffinity++;
    else pm.viaScheduler++;
    pm.connections++;
    pm.active++;
    const { ip, port } = d.backend!;
    const upstream = dgram.createSocket({ type: ip.includes(':') ? 'udp6' : 'udp4' });
    const s: UdpSession = {
      clientIP: rinfo.address,
      clientPort: rinfo.port,
      src,
      upstream,
      pm,
      backendKey: backendKey({ ip, port }),
      queue: [],
      lastSeen: ctx.now(),
      busy: true,
      bytesIn: 0,
      bytesOut: 0,
    };
    upstream.on('message', (reply: Buffer) => {
      s.lastSeen = this.ctx.now();
      s.busy = true;
      s.bytesOut += reply.length;
      this.socket.send(reply, s.clientPort, s.clientIP);
    });
    upstream.on('error', (err: NodeJS.ErrnoException) => {
      // ECONNREFUSED: the backend answered with ICMP port unreachable. End the session so the
      // client's next datagram is scheduled again, and quiesce the backend for a while.
      if (err.code === 'ECONNREFUSED') {
        pm.connectFailures++;
        this.ctx.backendFailed(s.backendKey);
      }
      this.ctx.log.debug({ backend: s.backendKey, code: err.code }, 'udp backend error');
      this.closeSession(s);
    });
    upstream.connect(port, ip, () => {
      const q = s.queue;
      s.queue = null;
      if (q) for (const m of q) upstream.send(m);
    });
    return s;
  }

  private closeSession(s: UdpSession): void {
    const byPort = this.sessions.get(s.clientIP);
    if (byPort?.get(s.clientPort) !== s) return;
    byPort.delete(s.clientPort);
    if (byPort.size === 0) this.sessions.delete(s.clientIP);
    this.count--;
    const { ctx, listener } = this;
    ctx.metrics.udpSessions.dec();
    s.pm.active--;
    s.pm.bytesToBackend += s.bytesIn;
    s.pm.bytesToClient += s.bytesOut;
    ctx.engine.close(UDP, s.src, s.clientPort, listener.address, listener.port, ctx.now());
    try {
      s.upstream.close();
    } catch {
      // already closed
    }
  }

  /**
   * After a new model is loaded: ends the sessions whose engine flow is gone (the engine drops a
   * flow on swap when its backend left the Service port), so the client's next datagram is
   * scheduled on the current endpoints instead of following a removed one. kube-proxy does the
   * same for UDP by deleting the conntrack entries of removed endpoints. Returns how many ended.
   */
  revalidate(): number {
    const { ctx, listener } = this;
    const now = ctx.now();
    const stale: UdpSession[] = [];
    for (const byPort of this.sessions.values()) {
      for (const s of byPort.values()) {
        const d = ctx.engine.lookup(UDP, s.src, s.clientPort, listener.address, listener.port, now);
        if (d.verdict !== Verdict.Backend || backendKey(d.backend!) !== s.backendKey) stale.push(s);
      }
    }
    for (const s of stale) this.closeSession(s);
    return stale.length;
  }

  /** Closes idle sessions; refreshes the engine flow of busy ones so it does not expire under them. */
  sweep(): void {
    const { ctx, listener } = this;
    const now = ctx.now();
    const limit = ctx.options.udpTimeoutMs;
    const idle: UdpSession[] = [];
    for (const byPort of this.sessions.values()) {
      for (const s of byPort.values()) {
        if (now - s.lastSeen >= limit) idle.push(s);
        else if (s.busy) {
          s.busy = false;
          ctx.engine.lookup(UDP, s.src, s.clientPort, listener.address, listener.port, now);
        }
      }
    }
    for (const s of idle) this.closeSession(s);
  }
}
