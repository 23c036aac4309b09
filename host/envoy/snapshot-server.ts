/**
 * The versioned snapshot endpoint the Envoy filter polls for live updates (`vipwasm serve`).
 *
 *   GET /snapshot   200 application/octet-stream: the encoded snapshot (host/engine/snapshot.ts),
 *                   with `ETag: "<version>-<sha256 prefix>"`; 304 when If-None-Match matches
 *   GET /healthz    200 "ok" once a model is loaded, 503 before
 *
 * The version increases only when the snapshot bytes change, so a no-op model rebuild does not
 * make every Envoy worker reload.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { encodeSnapshot } from '../engine/snapshot.js';
import type { ServiceModel } from '../engine/model.js';

export interface PublishedSnapshot {
  readonly version: number;
  readonly etag: string;
  readonly bytes: Uint8Array;
}

export class SnapshotServer {
  private current: PublishedSnapshot | null = null;
  private server: Server | null = null;
  /** Requests answered, by status code (for tests and logs). */
  readonly served = new Map<number, number>();

  /** Publishes the model's snapshot; returns it (unchanged bytes keep the version). */
  publish(model: ServiceModel): PublishedSnapshot {
    const bytes = encodeSnapshot(model);
    const digest = createHash('sha256').update(bytes).digest('hex').slice(0, 16);
    if (this.current && this.current.etag.endsWith(`-${digest}"`)) return this.current;
    const version = (this.current?.version ?? 0) + 1;
    this.current = { version, etag: `"${version}-${digest}"`, bytes };
    return this.current;
  }

  get snapshot(): PublishedSnapshot | null {
    return this.current;
  }

  /** Listens on host:port (port 0 = any free port); resolves with the bound address. */
  async listen(host: string, port: number): Promise<AddressInfo> {
    const server = createServer((req, res) => this.handle(req, res));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    return server.address() as AddressInfo;
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private reply(res: ServerResponse, status: number, headers: Record<string, string>, body?: Uint8Array | string): void {
    this.served.set(status, (this.served.get(status) ?? 0) + 1);
    res.writeHead(status, headers);
    res.end(body);
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      this.reply(res, 405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }, 'method not allowed\n');
      return;
    }
    const snap = this.current;
    if (path === '/healthz') {
      this.reply(res, snap ? 200 : 503, { 'content-type': 'text/plain' }, snap ? 'ok\n' : 'no model yet\n');
      return;
    }
    if (path !== '/snapshot') {
      this.reply(res, 404, { 'content-type': 'text/plain' }, 'not found: try /snapshot or /healthz\n');
      return;
    }
    if (!snap) {
      this.reply(res, 503, { 'content-type': 'text/plain', 'retry-after': '1' }, 'no model yet\n');
      return;
    }
    const common = { etag: snap.etag, 'x-vipwasm-snapshot-version': String(snap.version), 'cache-control': 'no-cache' };
    const match = (req.headers['if-none-match'] ?? '').split(',').map((s) => s.trim());
    if (match.includes(snap.etag) || match.includes('*')) {
      this.reply(res, 304, common);
      return;
    }
    this.reply(res, 200, { ...common, 'content-type': 'application/octet-stream', 'content-length': String(snap.bytes.length) }, req.method === 'HEAD' ? undefined : snap.bytes);
  }
}
