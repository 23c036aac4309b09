/**
 * One proxied TCP connection: ask the engine for a backend, connect with a timeout, retry another
 * backend on a refused or timed-out connect (what iptables mode cannot do: its DNAT is decided
 * before the backend answers), then pump bytes both ways with backpressure and half-close.
 *
 * Engine events follow IPVS: `connect` on accept (the SYN), `established` when the backend
 * answered, a `lookup` refresh while data flows (throttled to `flowRefreshMs`, as IPVS re-arms
 * its timer per packet), `close` when both directions are done, so lc/wlc/sed/nq count real
 * connections, long-lived ones included.
 */
import net from 'node:net';
import type { Address } from '../engine/address.js';
import { Verdict, Via } from '../engine/api.js';
import { backendKey, type ModelServicePort } from '../engine/model.js';
import { nextBackend } from './backend-ejection.js';
import type { ConnectDeadline } from './connect-deadlines.js';
import type { DataPathContext } from './context.js';
import type { PlannedListener } from './listen-plan.js';
import type { PortMetrics } from './metrics.js';
import type { OpenConnection } from './open-connections.js';
import { pump } from './socket-pump.js';

const TCP = 6;

/** Connection attempts end in one of these; anything else after connect is a mid-stream error. */
const RETRYABLE = new Set(['ECONNREFUSED', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNRESET', 'EADDRNOTAVAIL', 'EHOSTDOWN', 'ENETDOWN']);

export class TcpProxyConnection implements ConnectDeadline, OpenConnection {
  // The connect timeout's list links (ctx.connectDeadlines), instead of a timer per socket.
  deadlineAt = 0;
  prevDeadline: ConnectDeadline | null = null;
  nextDeadline: ConnectDeadline | null = null;
  // The listeners' list of open connections (open-connections.ts).
  prevOpen: OpenConnection | null = null;
  nextOpen: OpenConnection | null = null;
  private upstream: net.Socket | null = null;
  private connected = false;
  private finished = false;
  private pm: PortMetrics;
  private sp: ModelServicePort | null = null;
  private backendIndex = -1;
  private tried: Set<number> | null = null;
  private attempts = 0;
  private hasFlow = false;
  private clientClosed = false;
  private upstreamClosed = true;
  /** When traffic last refreshed the engine flow (ctx.now() ms). */
  private refreshedAt = 0;

  constructor(
    private readonly ctx: DataPathContext,
    private readonly listener: PlannedListener,
    private readonly client: net.Socket,
    private readonly src: Address,
    private readonly srcPort: number,
    private readonly onFinish: (c: TcpProxyConnection) => void,
  ) {
    this.pm = ctx.metrics.unmatched;
    client.on('error', this.onClientError);
    client.on('close', this.onClientClose);
  }

  /** Decide and start forwarding (or refuse). */
  start(): void {
    const { ctx, listener } = this;
    const d = ctx.engine.connect(TCP, this.src, this.srcPort, listener.address, listener.port, ctx.now());
    if (d.verdict !== Verdict.Backend) {
      const pm = ctx.metrics.portMetrics(d.servicePort);
      if (d.verdict === Verdict.Drop) {
        // Local policy without local endpoints (or source not allowed): kube-proxy DROPs. A
        // userspace proxy has already accepted, so it closes without a byte and without RST.
        ctx.metrics.reject(pm, 'dropped_by_policy');
        this.client.destroy();
      } else {
        ctx.metrics.reject(pm, d.verdict === Verdict.Reject ? 'no_endpoints' : 'no_service');
        this.client.resetAndDestroy();
      }
      this.finish();
      return;
    }
    this.hasFlow = true;
    this.sp = d.servicePort!;
    this.pm = ctx.metrics.portMetrics(this.sp);
    if (d.via === Via.Flow) this.pm.viaFlow++;
    else if (d.via === Via.Affinity) this.pm.viaAffinity++;
    else this.pm.viaScheduler++;
    this.pm.connections++;
    this.pm.active++;
    const b = this.sp.backends[d.backendIndex]!; // (d.backend would look the port up again)
    this.connectTo(d.backendIndex, b.ip, b.port);
  }

  /** Ends the connection at once (drain grace period over, or forwarder closed). */
  abort(): void {
    this.ctx.connectDeadlines.remove(this);
    this.upstream?.destroy();
    this.client.destroy();
  }

  private connectTo(index: number, ip: string, port: number): void {
    this.attempts++;
    this.backendIndex = index;
    this.upstreamClosed = false;
    const up = net.connect({ host: ip, port, allowHalfOpen: true, noDelay: true });
    this.upstream = up;
    this.ctx.connectDeadlines.add(this);
    // 'connect' comes once per socket: `on` spares the once-wrapper allocations per connection.
    up.on('connect', this.onUpstreamConnect);
    up.on('error', this.onUpstreamError);
    up.on('close', this.onUpstreamClose);
  }

  private readonly onUpstreamConnect = (): void => {
    const { ctx, listener, client } = this;
    const up = this.upstream!;
    this.connected = true;
    ctx.connectDeadlines.remove(this);
    const idle = ctx.options.tcpIdleTimeoutMs;
    if (idle > 0) {
      // `--tcp-idle-timeout` passed on either side ends both. The closure is made here, not as a
      // field: without the flag (the default) no connection needs it.
      const onIdleTimeout = (): void => this.abort();
      up.setTimeout(idle);
      up.on('timeout', onIdleTimeout);
      client.setTimeout(idle);
      client.on('timeout', onIdleTimeout);
    }
    this.refreshedAt = ctx.now();
    ctx.engine.established(TCP, this.src, this.srcPort, listener.address, listener.port, this.refreshedAt);
    if (this.clientClosed) {
      up.destroy();
      return;
    }
    pump(client, up, this.onTraffic);
    pump(up, client, this.onTraffic);
  };

  /** Data moved: refresh the engine flow, at most every `flowRefreshMs`. */
  private readonly onTraffic = (): void => {
    const { ctx, listener } = this;
    const now = ctx.now();
    if (now - this.refreshedAt < ctx.options.flowRefreshMs) return;
    this.refreshedAt = now;
    ctx.engine.lookup(TCP, this.src, this.srcPort, listener.address, listener.port, now);
  };

  /** The connect deadline passed (ConnectDeadlines): fail the attempt as ETIMEDOUT, which may retry. */
  connectTimedOut(): void {
    if (this.connected || !this.upstream) return;
    this.upstream.destroy(Object.assign(new Error('connect timed out'), { code: 'ETIMEDOUT' }));
  }

  private readonly onUpstreamError = (err: NodeJS.ErrnoException): void => {
    if (this.connected) {
      // Backend reset or failed mid-stream: pass the reset on.
      if (!this.client.destroyed) this.client.resetAndDestroy();
      return;
    }
    this.connectFailed(err.code ?? 'EUNKNOWN');
  };

  private connectFailed(code: string): void {
    const { ctx } = this;
    ctx.connectDeadlines.remove(this);
    this.pm.connectFailures++;
    // The key is built here, not per connection: only failures need it.
    const key = backendKey(this.sp!.backends[this.backendIndex]!);
    ctx.backendFailed(key);
    ctx.log.debug({ backend: key, code, servicePort: this.pm.key }, 'backend connect failed');
    if (this.clientClosed) return;
    if (RETRYABLE.has(code) && this.attempts <= ctx.options.connectRetries && this.sp) {
      (this.tried ??= new Set()).add(this.backendIndex);
      const next = nextBackend(this.sp, this.listener.kind !== 'clusterIP', this.backendIndex, this.tried, ctx.ejections, ctx.now());
      if (next >= 0) {
        this.pm.retries++;
        const b = this.sp.backends[next]!;
        // The engine's flow (its lc/wlc counters and the client's affinity) follows the retry.
        ctx.engine.rebind(TCP, this.src, this.srcPort, this.listener.address, this.listener.port, next, ctx.now());
        // The failed socket's 'close' arrives later; detach it so it does not end this connection.
        this.upstream!.removeListener('close', this.onUpstreamClose);
        this.connectTo(next, b.ip, b.port);
        return;
      }
    }
    ctx.metrics.reject(this.pm, 'backend_unreachable');
    this.client.resetAndDestroy();
  }

  private readonly onClientError = (): void => {
    // ECONNRESET etc. from the client: reset the backend side too.
    if (this.upstream && !this.upstream.destroyed) {
      if (this.connected) this.upstream.resetAndDestroy();
      else this.upstream.destroy();
    }
  };

  private readonly onClientClose = (): void => {
    this.clientClosed = true;
    if (this.upstream && !this.connected) this.upstream.destroy();
    if (this.upstreamClosed) this.finish();
  };

  private readonly onUpstreamClose = (): void => {
    this.upstreamClosed = true;
    if (this.connected && !this.client.destroyed) {
      // Backend gone: if the client side is still open, end it (a reset was sent on error already).
      this.client.end();
    }
    if (this.clientClosed) this.finish();
  };

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    const { ctx, listener, pm, client } = this;
    ctx.connectDeadlines.remove(this);
    if (this.hasFlow) {
      pm.active--;
      pm.bytesToBackend += client.bytesRead;
      pm.bytesToClient += client.bytesWritten;
      ctx.engine.close(TCP, this.src, this.srcPort, listener.address, listener.port, ctx.now());
    }
    this.onFinish(this);
  }
}
