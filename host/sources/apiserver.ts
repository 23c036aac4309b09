/**
 * Objects from a live API server: `@kubernetes/client-node` informers (list + watch) on Services,
 * EndpointSlices and Nodes. The informer re-watches from the last resourceVersion after a clean
 * stream end and relists on 410 Gone (ERROR event or HTTP status); any other error stops it, so
 * this source restarts it with exponential backoff (1 s doubling to 30 s, like the library's own
 * reconnect), serving the last state meanwhile and reporting the outage in its diagnostics.
 */
import { CoreV1Api, DiscoveryV1Api, KubeConfig, ListWatch, Watch, type KubernetesObject } from '@kubernetes/client-node';
import type { Diagnostic, KubeObject } from '../model/index.js';
import { EMPTY_SNAPSHOT, type Source, SourceListeners, type SourceListener, type SourceSnapshot } from './source.js';

export interface ApiServerSourceOptions {
  /** Path to a kubeconfig; omitted = in-cluster config (service account), else the default loading rules. */
  kubeconfig?: string;
  /** A ready KubeConfig (tests); wins over `kubeconfig`. */
  kubeConfig?: KubeConfig;
  /** Only watch this Node (fieldSelector metadata.name=…); empty = all Nodes. */
  nodeName?: string;
  /** Restart backoff after an error: base and maximum in ms. Defaults 1000 and 30000. */
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** Batch bursts of watch events into one snapshot. Default 50 ms. */
  debounceMs?: number;
  /** How long start() waits for the first complete list of every resource. Default 30000 ms. */
  startTimeoutMs?: number;
  /** The informers' own reconnect delay (tests shorten it). */
  delayFn?: (ms: number) => Promise<void>;
  /**
   * One-shot use (`get`, `simulate`): start() rejects on the first error before every resource has
   * synced, instead of retrying until startTimeoutMs, as kubectl fails at once.
   */
  failFast?: boolean;
  /**
   * Also watch these kinds: Pods (pod IPs, hostnames and enableServiceLinks for `vipwasm dns` and
   * `vipwasm env`) and Namespaces (which exist, for DNS's NXDOMAIN vs NODATA).
   */
  extraKinds?: readonly ('Pod' | 'Namespace')[];
}

interface Resource {
  readonly kind: string;
  readonly apiVersion: string;
  readonly path: string;
  informer?: ListWatch<KubernetesObject>;
  synced: boolean;
  error?: string;
  failures: number;
  retry?: ReturnType<typeof setTimeout>;
}

/**
 * The informers' Watch, with two additions. It asks for BOOKMARK events (allowWatchBookmarks, as
 * client-go's reflector does; the API server sends none otherwise), so a quiet resource's
 * resourceVersion stays recent and a re-watch does not fall behind compaction into a relist. And
 * close() stops it for good: ListWatch.stop() only aborts a watch whose request has already
 * returned; a list or watch still in flight at that moment goes on to open a new watch stream,
 * which would keep the process alive until the server ends it. After close() no watch connects,
 * and the open ones are aborted.
 */
class ClosableWatch extends Watch {
  private closed = false;
  private readonly open = new Set<AbortController>();

  override async watch(
    path: string, queryParams: Record<string, string | number | boolean | undefined>,
    callback: (phase: string, apiObj: unknown, watchObj?: unknown) => void, done: (err: unknown) => void,
  ): Promise<AbortController> {
    if (this.closed) return new AbortController();
    let controller: AbortController | undefined;
    let ended = false;
    controller = await super.watch(path, { ...queryParams, allowWatchBookmarks: true }, callback, (err) => {
      ended = true;
      if (controller) this.open.delete(controller);
      done(err);
    });
    if (this.closed) controller.abort();
    else if (!ended) this.open.add(controller);
    return controller;
  }

  close(): void {
    this.closed = true;
    for (const c of this.open) c.abort();
    this.open.clear();
  }
}

/** Loads a KubeConfig from a file, or in-cluster, or by the default rules; throws a readable Error. */
export function loadKubeConfig(path?: string): KubeConfig {
  const kc = new KubeConfig();
  try {
    if (path) kc.loadFromFile(path);
    else if (process.env['KUBERNETES_SERVICE_HOST']) kc.loadFromCluster();
    else kc.loadFromDefault();
  } catch (e) {
    throw new Error(`cannot load kubeconfig${path ? ` ${path}` : ''}: ${(e as Error).message}`);
  }
  if (!kc.getCurrentCluster()) throw new Error(`kubeconfig${path ? ` ${path}` : ''} has no current cluster`);
  return kc;
}

export class ApiServerSource implements Source {
  private readonly listeners = new SourceListeners();
  private readonly kc: KubeConfig;
  private readonly resources: Resource[];
  private snapshot: SourceSnapshot = EMPTY_SNAPSHOT;
  private timer: ReturnType<typeof setTimeout> | undefined;
  /** Plain objects by informer object (see plain()). */
  private readonly plainObjects = new WeakMap<object, KubeObject>();
  private closed = false;
  private started = false;
  private syncWaiters: (() => void)[] = [];
  private readonly watch: ClosableWatch;
  private failWaiters: ((message: string) => void)[] = [];

  constructor(private readonly options: ApiServerSourceOptions = {}) {
    this.kc = options.kubeConfig ?? loadKubeConfig(options.kubeconfig);
    this.watch = new ClosableWatch(this.kc);
    this.resources = [
      { kind: 'Service', apiVersion: 'v1', path: '/api/v1/services', synced: false, failures: 0 },
      { kind: 'EndpointSlice', apiVersion: 'discovery.k8s.io/v1', path: '/apis/discovery.k8s.io/v1/endpointslices', synced: false, failures: 0 },
      { kind: 'Node', apiVersion: 'v1', path: '/api/v1/nodes', synced: false, failures: 0 },
      ...(options.extraKinds ?? []).map((kind) => ({ kind, apiVersion: 'v1', path: `/api/v1/${kind.toLowerCase()}s`, synced: false, failures: 0 })),
    ];
  }

  get current(): SourceSnapshot {
    return this.snapshot;
  }

  subscribe(listener: SourceListener): () => void {
    return this.listeners.add(listener);
  }

  async start(): Promise<SourceSnapshot> {
    const core = this.kc.makeApiClient(CoreV1Api);
    const disc = this.kc.makeApiClient(DiscoveryV1Api);
    const nodeSelector = this.options.nodeName ? `metadata.name=${this.options.nodeName}` : undefined;
    const lists: Record<string, () => Promise<{ items: KubernetesObject[]; metadata?: { resourceVersion?: string } }>> = {
      Service: () => core.listServiceForAllNamespaces(),
      EndpointSlice: () => disc.listEndpointSliceForAllNamespaces(),
      Node: () => core.listNode(nodeSelector ? { fieldSelector: nodeSelector } : {}),
      Pod: () => core.listPodForAllNamespaces(),
      Namespace: () => core.listNamespace(),
    };
    for (const r of this.resources) {
      const listFn = async () => {
        const list = await lists[r.kind]!();
        // A successful list means the connection is back: clear the outage for this resource.
        r.synced = true;
        r.failures = 0;
        r.error = undefined;
        this.schedule();
        this.checkSynced();
        return list;
      };
      const inf = new ListWatch<KubernetesObject>(
        r.path, this.watch, listFn as never, false, undefined, r.kind === 'Node' ? nodeSelector : undefined,
        this.options.delayFn ? { delayFn: this.options.delayFn } : {},
      );
      inf.on('change', () => {
        if (r.error) {
          r.error = undefined;
          r.failures = 0;
        }
        this.schedule();
      });
      inf.on('error', (err: unknown) => this.failed(r, err));
      r.informer = inf;
    }
    this.started = true;
    const synced = new Promise<void>((resolve) => this.syncWaiters.push(resolve));
    const failedFirst = new Promise<{ failed: string }>((resolve) => this.failWaiters.push((failed) => resolve({ failed })));
    for (const r of this.resources) void this.run(r);
    const timeoutMs = this.options.startTimeoutMs ?? 30000;
    let timeout: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => (timeout = setTimeout(() => resolve('timeout'), timeoutMs)));
    const outcome = await Promise.race([synced, timedOut, ...(this.options.failFast ? [failedFirst] : [])]);
    clearTimeout(timeout);
    this.failWaiters = [];
    if (typeof outcome === 'object') {
      await this.close();
      throw new Error(`API server ${this.kc.getCurrentCluster()?.server}: ${outcome.failed}`);
    }
    if (outcome === 'timeout') {
      const why = this.resources.filter((r) => !r.synced).map((r) => `${r.kind}s: ${r.error ?? 'no answer'}`).join('; ');
      await this.close();
      throw new Error(`API server ${this.kc.getCurrentCluster()?.server}: not synced after ${timeoutMs} ms (${why})`);
    }
    // Let the informers fold their list results into their caches before the first snapshot.
    await new Promise((resolve) => setImmediate(resolve));
    this.publish();
    return this.snapshot;
  }

  private async run(r: Resource): Promise<void> {
    if (this.closed) return;
    const failures = r.failures;
    try {
      await r.informer!.start();
    } catch (e) {
      this.failed(r, e);
      return;
    }
    // start() returns once the watch stream is open (or has failed, which bumps r.failures):
    // a quiet resource that re-watched fine has recovered even though no event arrived.
    if (r.failures === failures && r.error && !this.closed) {
      r.error = undefined;
      r.failures = 0;
      this.schedule();
    }
  }

  private failed(r: Resource, err: unknown): void {
    if (this.closed) return;
    const detail = errorDetail(err);
    for (const w of this.failWaiters.splice(0)) w(`${r.path}: ${detail}`);
    r.failures++;
    const base = this.options.backoffBaseMs ?? 1000;
    const delay = Math.min(base * 2 ** (r.failures - 1), this.options.backoffMaxMs ?? 30000);
    r.error = `${detail}; retrying in ${delay} ms, serving the last state`;
    clearTimeout(r.retry);
    r.retry = setTimeout(() => void this.run(r), delay);
    this.schedule();
  }

  private checkSynced(): void {
    if (this.resources.every((r) => r.synced)) {
      for (const w of this.syncWaiters.splice(0)) w();
    }
  }

  private schedule(): void {
    if (this.closed || !this.started) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.publish(), this.options.debounceMs ?? 50);
  }

  private publish(): void {
    if (this.closed) return;
    const objects: KubeObject[] = [];
    for (const r of this.resources) {
      for (const o of r.informer?.list() ?? []) objects.push(this.plain(o, r));
    }
    objects.sort((a, b) => {
      const x = sortKey(a);
      const y = sortKey(b);
      return x < y ? -1 : x > y ? 1 : 0;
    });
    const diagnostics: Diagnostic[] = this.resources
      .filter((r) => r.error)
      .map((r) => ({ severity: 'error', object: `API server ${this.kc.getCurrentCluster()?.server ?? ''}`, field: r.path, message: r.error! }));
    const nodes = this.resources.find((r) => r.kind === 'Node')!;
    if (this.options.nodeName && nodes.synced && !nodes.error && (nodes.informer?.list().length ?? 0) === 0) {
      diagnostics.push({
        severity: 'warning', object: `Node "${this.options.nodeName}"`, field: '',
        message: 'not found on the API server (check --node-name): no endpoint is local, and NodePorts are served only on --node-ip addresses',
      });
    }
    const prev = this.snapshot;
    // Unchanged informer objects map to the same plain objects, so identity compares them.
    const same = prev.objects.length === objects.length && objects.every((o, i) => o === prev.objects[i]);
    const sameDiag = JSON.stringify(prev.diagnostics) === JSON.stringify(diagnostics);
    if (same && sameDiag && prev !== EMPTY_SNAPSHOT) return;
    const first = prev === EMPTY_SNAPSHOT;
    this.snapshot = {
      objects: same ? prev.objects : objects, diagnostics, revision: same ? prev.revision : prev.revision + 1,
      healthy: !diagnostics.some((d) => d.severity === 'error') && this.resources.every((r) => r.synced),
    };
    if (!first) this.listeners.emit(this.snapshot);
  }

  /**
   * The plain JSON form (with kind) of an informer object. List items come typed (Dates, no kind);
   * watch events come raw. The informer cache replaces an object on every change and keeps it
   * otherwise, so the form is computed once per object version, not once per publish.
   */
  private plain(o: object, r: Resource): KubeObject {
    let plain = this.plainObjects.get(o);
    if (plain === undefined) {
      // managedFields (server-side apply bookkeeping) is often the larger half of an object and
      // nothing here reads it: leave it out of the copy every consumer keeps.
      plain = JSON.parse(JSON.stringify(o), (key, value: unknown) => (key === 'managedFields' ? undefined : value)) as KubeObject;
      plain.kind = r.kind;
      plain.apiVersion = r.apiVersion;
      sortKeys.set(plain, `${plain.kind}/${plain.metadata?.namespace ?? ''}/${plain.metadata?.name ?? ''}`);
      this.plainObjects.set(o, plain);
    }
    return plain;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.timer);
    this.watch.close();
    for (const r of this.resources) {
      clearTimeout(r.retry);
      await r.informer?.stop();
    }
  }
}

/**
 * One line for an informer error: `HTTP 403: <the Status message>` for an error status (a failed
 * watch carries `statusCode`; a failed list is the client's ApiException with `code`, the response
 * body, and for codes the API declares a description such as "Unauthorized"), else the network
 * error (`connect ECONNREFUSED …`).
 */
export function errorDetail(err: unknown): string {
  const e = err as { message?: string; statusCode?: unknown; code?: unknown; body?: unknown; cause?: { message?: string } } | undefined;
  const status = typeof e?.statusCode === 'number' ? e.statusCode : typeof e?.code === 'number' ? e.code : undefined;
  if (status !== undefined) {
    let body = e?.body;
    if (typeof body === 'string') {
      try {
        body = JSON.parse(body);
      } catch {
        // not JSON: no message to show
      }
    }
    let message = typeof body === 'object' && body !== null ? (body as { message?: unknown }).message : undefined;
    // Without a Status body, the client's own description of a known code ("Message: Unauthorized").
    const described = /\nMessage: (.*)/.exec(e?.message ?? '')?.[1];
    if (typeof message !== 'string' || !message) message = described && described !== 'Unknown API Status Code!' ? described : undefined;
    return message ? `HTTP ${status}: ${message}` : `HTTP ${status}`;
  }
  return e?.cause?.message ?? e?.message ?? String(err);
}

/** `kind/namespace/name` of each plain object, computed once (see ApiServerSource#plain). */
const sortKeys = new WeakMap<KubeObject, string>();

function sortKey(o: KubeObject): string {
  return sortKeys.get(o)!;
}
