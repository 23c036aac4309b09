/**
 * A loopback fake of the Kubernetes API server's list/watch protocol (reference/hosts-and-style.md
 * §4.4), for Services, EndpointSlices and Nodes: lists carry a resourceVersion; watches stream
 * newline-delimited JSON events from a given resourceVersion; it can send BOOKMARKs, expire history
 * (ERROR 410 on open streams, HTTP 410 for watches from before the expiry), drop every connection,
 * fail the next requests of a resource with an error status, and go down and come back on the
 * same port.
 */
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';

type Obj = { kind?: string; apiVersion?: string; metadata: { name: string; namespace?: string; resourceVersion?: string; [k: string]: unknown }; [k: string]: unknown };

interface Resource {
  readonly kind: string;
  readonly apiVersion: string;
  readonly path: string;
  readonly objects: Map<string, Obj>;
}

interface Event {
  readonly rv: number;
  readonly resource: string;
  readonly type: 'ADDED' | 'MODIFIED' | 'DELETED';
  readonly object: Obj;
}

interface Watcher {
  readonly resource: string;
  readonly res: ServerResponse;
  readonly fieldName?: string;
  /** The client sent allowWatchBookmarks=true; the API server sends BOOKMARKs only then. */
  readonly bookmarks: boolean;
}

export class FakeApiServer {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly resources = new Map<string, Resource>();
  private readonly history: Event[] = [];
  private readonly watchers = new Set<Watcher>();
  private rv = 100;
  /** Watches asking for a resourceVersion older than this get HTTP 410. */
  private oldestRV = 0;
  port = 0;
  /** Watch requests answered with HTTP 410 Gone. */
  httpGone = 0;
  /** Requests seen, e.g. `GET /api/v1/services?watch=true&resourceVersion=101`. */
  readonly requests: string[] = [];
  /** Injected failures: path → how many of its next requests (list or watch) get an error status. */
  private readonly failures = new Map<string, { count: number; status: number; message: string }>();

  constructor() {
    for (const [kind, apiVersion, path] of [
      ['Service', 'v1', '/api/v1/services'],
      ['EndpointSlice', 'discovery.k8s.io/v1', '/apis/discovery.k8s.io/v1/endpointslices'],
      ['Node', 'v1', '/api/v1/nodes'],
      ['ServiceCIDR', 'networking.k8s.io/v1', '/apis/networking.k8s.io/v1/servicecidrs'],
    ] as const) {
      this.resources.set(path, { kind, apiVersion, path, objects: new Map() });
    }
  }

  async start(port = 0): Promise<void> {
    this.server = createServer((req, res) => this.handle(req, res));
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(port, '127.0.0.1', () => resolve());
    });
    this.port = (this.server.address() as AddressInfo).port;
  }

  /** Stop listening and cut every connection (an outage). `start(this.port)` brings it back. */
  async stop(): Promise<void> {
    this.dropConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.server = undefined;
  }

  /** Destroy every open socket (watch streams included) without a clean end. */
  dropConnections(): void {
    for (const w of this.watchers) w.res.destroy();
    this.watchers.clear();
    for (const s of this.sockets) s.destroy();
  }

  kubeConfig(): KubeConfig {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'fake', server: `http://127.0.0.1:${this.port}`, skipTLSVerify: true }],
      users: [{ name: 'fake', token: 'test' }],
      contexts: [{ name: 'fake', cluster: 'fake', user: 'fake' }],
      currentContext: 'fake',
    });
    return kc;
  }

  private resourceFor(kind: string): Resource {
    for (const r of this.resources.values()) if (r.kind === kind) return r;
    throw new Error(`unknown kind ${kind}`);
  }

  /** Create or update an object (kind from the object) and notify watchers. */
  apply(obj: Obj): void {
    const r = this.resourceFor(obj.kind!);
    const key = `${obj.metadata.namespace ?? ''}/${obj.metadata.name}`;
    const type = r.objects.has(key) ? 'MODIFIED' : 'ADDED';
    const stored: Obj = { ...obj, metadata: { ...obj.metadata, resourceVersion: String(++this.rv) } };
    r.objects.set(key, stored);
    this.emit({ rv: this.rv, resource: r.path, type, object: stored });
  }

  delete(kind: string, name: string, namespace?: string): void {
    const r = this.resourceFor(kind);
    const key = `${namespace ?? ''}/${name}`;
    const old = r.objects.get(key);
    if (!old) return;
    r.objects.delete(key);
    this.emit({ rv: ++this.rv, resource: r.path, type: 'DELETED', object: { ...old, metadata: { ...old.metadata, resourceVersion: String(this.rv) } } });
  }

  /** Change objects without telling watchers (as if the events were lost to compaction). */
  applySilently(obj: Obj): void {
    const r = this.resourceFor(obj.kind!);
    r.objects.set(`${obj.metadata.namespace ?? ''}/${obj.metadata.name}`, { ...obj, metadata: { ...obj.metadata, resourceVersion: String(++this.rv) } });
  }

  deleteSilently(kind: string, name: string, namespace?: string): void {
    this.resourceFor(kind).objects.delete(`${namespace ?? ''}/${name}`);
    this.rv++;
  }

  /** Send a BOOKMARK (a new resourceVersion, no object) to every watch that allowed bookmarks. */
  bookmark(): void {
    this.rv++;
    for (const w of this.watchers) {
      if (!w.bookmarks) continue;
      const r = this.resources.get(w.resource)!;
      w.res.write(`${JSON.stringify({ type: 'BOOKMARK', object: { kind: r.kind, apiVersion: r.apiVersion, metadata: { resourceVersion: String(this.rv) } } })}\n`);
    }
  }

  /** End every watch stream cleanly (what the API server does when a watch's timeout expires). */
  endWatches(): void {
    for (const w of this.watchers) w.res.end();
    this.watchers.clear();
  }

  /** Compact history: open watches get `ERROR 410 Expired` and end; older resourceVersions get HTTP 410. */
  expire(): void {
    this.oldestRV = this.rv;
    this.history.length = 0;
    for (const w of this.watchers) {
      w.res.end(`${JSON.stringify({ type: 'ERROR', object: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: `too old resource version: 1 (${this.rv})`, reason: 'Expired', code: 410 } })}\n`);
    }
    this.watchers.clear();
  }

  /** Answer the next `count` requests for `path` (lists and watches alike) with HTTP `status` and a Status body. */
  failNext(path: string, count: number, status = 500, message = 'injected failure'): void {
    this.failures.set(path, { count, status, message });
  }

  /** The latest resourceVersion handed out (by a change or a BOOKMARK). */
  get resourceVersion(): string {
    return String(this.rv);
  }

  get watchCount(): number {
    return this.watchers.size;
  }

  private emit(e: Event): void {
    this.history.push(e);
    for (const w of this.watchers) if (w.resource === e.resource && this.matches(w, e.object)) w.res.write(`${JSON.stringify({ type: e.type, object: e.object })}\n`);
  }

  private matches(w: { fieldName?: string }, o: Obj): boolean {
    return w.fieldName === undefined || o.metadata.name === w.fieldName;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    this.requests.push(`${req.method} ${req.url}`);
    const url = new URL(req.url ?? '/', 'http://x');
    const r = this.resources.get(url.pathname);
    if (!r || req.method !== 'GET') {
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ kind: 'Status', code: 404 }));
      return;
    }
    const failure = this.failures.get(url.pathname);
    if (failure && failure.count > 0) {
      failure.count--;
      res.writeHead(failure.status, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: failure.message, code: failure.status }));
      return;
    }
    const field = url.searchParams.get('fieldSelector');
    const fieldName = field?.startsWith('metadata.name=') ? field.slice('metadata.name='.length) : undefined;
    const sel = fieldName !== undefined ? { fieldName } : {};
    if (url.searchParams.get('watch') !== 'true' && url.searchParams.get('watch') !== '1') {
      const items = [...r.objects.values()].filter((o) => this.matches(sel, o));
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ kind: `${r.kind}List`, apiVersion: r.apiVersion, metadata: { resourceVersion: String(this.rv) }, items }));
      return;
    }
    const from = Number(url.searchParams.get('resourceVersion') ?? '0');
    if (from < this.oldestRV) {
      this.httpGone++;
      res.writeHead(410, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', message: 'too old resource version', reason: 'Expired', code: 410 }));
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    res.flushHeaders();
    for (const e of this.history) if (e.resource === r.path && e.rv > from && this.matches(sel, e.object)) res.write(`${JSON.stringify({ type: e.type, object: e.object })}\n`);
    const w: Watcher = { resource: r.path, res, ...sel, bookmarks: url.searchParams.get('allowWatchBookmarks') === 'true' };
    this.watchers.add(w);
    res.on('close', () => this.watchers.delete(w));
  }
}
