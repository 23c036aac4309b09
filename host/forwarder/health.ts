/**
 * kube-proxy's health surfaces, same paths and bodies (pkg/proxy/healthcheck):
 * - the proxier health server (`--healthz-bind-address`, default 127.0.0.1:10256): `/healthz` and
 *   `/livez` answer `{"lastUpdated": …, "currentTime": …, "nodeEligible": …}` with 200, or 503
 *   when an update has waited longer than the health timeout, before the first sync, or while
 *   draining;
 * - the metrics server (`--metrics-bind-address`, default 127.0.0.1:10249): `/metrics`,
 *   `/proxyMode`;
 * - one service health server per healthCheckNodePort (LoadBalancer with externalTrafficPolicy
 *   Local): `{"service": {"namespace", "name"}, "localEndpoints": n, "serviceProxyHealthy": b}`,
 *   200 when n > 0 and the proxy is healthy, else 503, with `X-Load-Balancing-Endpoint-Weight: n`.
 */
import http from 'node:http';
import type { Logger } from 'pino';
import type { ServiceModel } from '../engine/model.js';
import { localReadyEndpoints } from './listen-plan.js';
import type { PlannedHealthServer } from './listen-plan.js';
import type { ForwarderMetrics } from './metrics.js';

/** Tracks sync freshness as kube-proxy's ProxierHealthServer does (QueuedUpdate / Updated). */
export class ProxyHealth {
  private lastUpdated = 0;
  private oldestPending = 0;
  draining = false;

  constructor(
    private readonly timeoutMs: number,
    private readonly clock: () => number = Date.now,
  ) {}

  /** A change arrived that is not applied yet. */
  queued(): void {
    if (this.oldestPending === 0) this.oldestPending = this.clock();
  }

  /** Everything queued so far is applied. */
  updated(): void {
    this.lastUpdated = this.clock();
    this.oldestPending = 0;
  }

  get lastUpdatedMs(): number {
    return this.lastUpdated;
  }

  /** `live` ignores draining, as kube-proxy's /livez ignores node eligibility. */
  healthy(live = false): boolean {
    if ((this.draining && !live) || this.lastUpdated === 0) return false;
    return this.oldestPending === 0 || this.clock() - this.oldestPending < this.timeoutMs;
  }

  body(): string {
    const last = this.lastUpdated ? new Date(this.lastUpdated).toISOString() : '';
    return JSON.stringify({ lastUpdated: last, currentTime: new Date(this.clock()).toISOString(), nodeEligible: !this.draining });
  }
}

/** Parses `host:port` / `[v6]:port`; throws naming the flag on bad input. */
export function parseBindAddress(flag: string, value: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\[\]]+)):(\d{1,5})$/.exec(value);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new Error(`${flag}: "${value}" is not host:port (e.g. 127.0.0.1:10249 or [::1]:10249)`);
  return { host: (m[1] ?? m[2])!, port };
}

function send(res: http.ServerResponse, status: number, type: string, body: string, extra: Record<string, string> = {}): void {
  res.writeHead(status, { 'Content-Type': type, 'X-Content-Type-Options': 'nosniff', ...extra });
  res.end(body);
}

/** Starts an HTTP server; resolves with it once listening (port 0 → pick one). */
export function listenHttp(host: string, port: number, handler: http.RequestListener): Promise<http.Server> {
  const server = http.createServer(handler);
  server.keepAliveTimeout = 5000;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port }, () => {
      server.removeListener('error', reject);
      resolve(server);
    });
  });
}

/** The proxier health server; every answer is counted in kubeproxy_proxy_healthz_total / _livez_total. */
export function healthzHandler(health: ProxyHealth, metrics: ForwarderMetrics): http.RequestListener {
  return (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/healthz' || path === '/livez') {
      const code = health.healthy(path === '/livez') ? 200 : 503;
      metrics.kubeProxy.answered(path, code);
      send(res, code, 'application/json', health.body());
    } else send(res, 404, 'text/plain; charset=utf-8', '404 page not found\n');
  };
}

/** `render` produces the /metrics text when it is not this registry's alone (worker threads' counts merged in). */
export function metricsHandler(metrics: ForwarderMetrics, health?: ProxyHealth, render?: () => Promise<string>): http.RequestListener {
  return (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/metrics') {
      (render ? render() : metrics.registry.metrics()).then(
        (text) => send(res, 200, metrics.registry.contentType, text),
        (err: Error) => send(res, 500, 'text/plain; charset=utf-8', `${err.message}\n`),
      );
    } else if (path === '/proxyMode') send(res, 200, 'text/plain; charset=utf-8', 'userspace');
    else if (health && (path === '/healthz' || path === '/livez')) healthzHandler(health, metrics)(req, res);
    else send(res, 404, 'text/plain; charset=utf-8', '404 page not found\n');
  };
}

/** The service health servers, reconciled by key against the plan. */
export class ServiceHealthServers {
  private readonly servers = new Map<string, { planned: PlannedHealthServer; server: http.Server }>();
  private model: ServiceModel = { nodeIPs: [], servicePorts: [] };

  constructor(
    private readonly health: ProxyHealth,
    private readonly log: Logger,
  ) {}

  get size(): number {
    return this.servers.size;
  }

  async reconcile(model: ServiceModel, planned: readonly PlannedHealthServer[]): Promise<void> {
    this.model = model;
    const want = new Map(planned.map((p) => [p.key, p]));
    for (const [key, s] of this.servers) {
      const p = want.get(key);
      if (!p || p.namespace !== s.planned.namespace || p.name !== s.planned.name) {
        this.servers.delete(key);
        s.server.close();
      }
    }
    await Promise.all(
      planned
        .filter((p) => !this.servers.has(p.key))
        .map(async (p) => {
          try {
            const server = await listenHttp(p.ip, p.port, (req, res) => this.answer(p, res));
            this.servers.set(p.key, { planned: p, server });
          } catch (err) {
            this.log.warn({ healthCheckNodePort: p.key, err: (err as Error).message }, 'service health server not started');
          }
        }),
    );
  }

  closeAll(): void {
    for (const s of this.servers.values()) s.server.close();
    this.servers.clear();
  }

  private answer(p: PlannedHealthServer, res: http.ServerResponse): void {
    const n = localReadyEndpoints(this.model, p.namespace, p.name);
    const healthy = this.health.healthy();
    const body = JSON.stringify({ service: { namespace: p.namespace, name: p.name }, localEndpoints: n, serviceProxyHealthy: healthy });
    send(res, n > 0 && healthy ? 200 : 503, 'application/json', body, { 'X-Load-Balancing-Endpoint-Weight': String(n) });
  }
}
