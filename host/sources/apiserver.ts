/**
 * Objects from a live API server: `@kubernetes/client-node` informers (list + watch) on Services,
 * EndpointSlices and Nodes. The informer re-watches from the last resourceVersion after a clean
 * stream end and relists on 410 Gone (ERROR event or HTTP status); any other error stops it, so
 * this source restarts it with exponential backoff (1 s doubling to 30 s, like the library's own
 * reconnect), serving the last state meanwhile and reporting the outage in its diagnostics until a
 * watch of that resource is accepted again. One-shot use (`failFast`) only lists.
 */
import { CoreV1Api, DiscoveryV1Api, KubeConfig, ListWatch, NetworkingV1Api, type KubernetesObject } from '@kubernetes/client-node';
import type { Diagnostic, KubeObject } from '../model/index.js';
import { errorDetail } from './api-errors.js';
import { ClosableWatch } from './watch.js';
import { EMPTY_SNAPSHOT, type Source, SourceListeners, type SourceListener, type SourceSnapshot } from './source.js';

export { errorDetail };

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
   * One-shot use (`get`, `simulate`): start() lists each resource once and opens no watch; it
   * rejects on the first error instead of retrying until startTimeoutMs, as kubectl fails at once.
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
  /** The one list of a one-shot source (failFast), which has no informer. */
  items?: KubeObject[];
  synced: boolean;
  /** The outage report: the last failure and what is done about it. */
  error?: string;
  /** The last failure alone (errorDetail), for the message when start() gives up. */
  lastFailure?: string;
  failures: number;
  retry?: ReturnType<typeof setTimeout>;
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
  private closed = false;
  private started = false;
  private syncWaiters: (() => void)[] = [];
  private readonly watch: ClosableWatch;

  constructor(private readonly options: ApiServerSourceOptions = {}) {
    this.kc = options.kubeConfig ?? loadKubeConfig(options.kubeconfig);
    this.watch = new ClosableWatch(
      this.kc,
      (path) => this.recovered(this.resources.find((r) => r.path === path)),
      (path, o) => slim(o, this.resources.find((r) => r.path === path)!),
    );
    this.resources = [
      { kind: 'Service', apiVersion: 'v1', path: '/api/v1/services', synced: false, failures: 0 },
      { kind: 'EndpointSlice', apiVersion: 'discovery.k8s.io/v1', path: '/apis/discovery.k8s.io/v1/endpointslices', synced: false, failures: 0 },
      { kind: 'Node', apiVersion: 'v1', path: '/api/v1/nodes', synced: false, failures: 0 },
      // The cluster's Service CIDRs (KEP-1880), as kube-proxy watches them for nftables' cluster-ips-check.
      { kind: 'ServiceCIDR', apiVersion: 'networking.k8s.io/v1', path: '/apis/networking.k8s.io/v1/servicecidrs', synced: false, failures: 0 },
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
    const net = this.kc.makeApiClient(NetworkingV1Api);
    const nodeSelector = this.options.nodeName ? `metadata.name=${this.options.nodeName}` : undefined;
    const lists: Record<string, () => Promise<{ items: KubernetesObject[]; metadata?: { resourceVersion?: string } }>> = {
      Service: () => core.listServiceForAllNamespaces(),
      EndpointSlice: () => disc.listEndpointSliceForAllNamespaces(),
      Node: () => core.listNode(nodeSelector ? { fieldSelector: nodeSelector } : {}),
      Pod: () => core.listPodForAllNamespaces(),
      Namespace: () => core.listNamespace(),
      ServiceCIDR: () => net.listServiceCIDR(),
    };
    if (this.options.failFast) return this.listOnce(lists);
    for (const r of this.resources) {
      const listFn = async () => {
        const typed = await lists[r.kind]!();
        // The informer caches what this returns: the slim form, not the client's typed objects.
        const list = { ...typed, items: typed.items.map((o) => slim(o, r)) };
        // Listed, but not yet recovered: that takes an accepted watch too (see recovered()).
        r.synced = true;
        this.schedule();
        this.checkSynced();
        return list;
      };
      const inf = new ListWatch<KubernetesObject>(
        r.path, this.watch, listFn as never, false, undefined, r.kind === 'Node' ? nodeSelector : undefined,
        this.options.delayFn ? { delayFn: this.options.delayFn } : {},
      );
      inf.on('change', () => this.schedule());
      inf.on('error', (err: unknown) => this.failed(r, err));
      r.informer = inf;
    }
    this.started = true;
    const synced = new Promise<void>((resolve) => this.syncWaiters.push(resolve));
    for (const r of this.resources) void this.run(r);
    const timeoutMs = this.options.startTimeoutMs ?? 30000;
    let timeout: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => (timeout = setTimeout(() => resolve('timeout'), timeoutMs)));
    const outcome = await Promise.race([synced, timedOut]);
    clearTimeout(timeout);
    if (outcome === 'timeout') {
      // There is no last state to serve yet: name each resource's failure without the retry plan.
      const why = this.resources.filter((r) => !r.synced).map((r) => `${r.kind}s: ${r.lastFailure ?? 'no answer'}`).join('; ');
      await this.close();
      throw new Error(`API server ${this.kc.getCurrentCluster()?.server}: not synced after ${timeoutMs} ms (${why})`);
    }
    // Let the informers fold their list results into their caches before the first snapshot.
    await new Promise((resolve) => setImmediate(resolve));
    this.publish();
    return this.snapshot;
  }

  /**
   * One-shot use: list each resource once, with no watch (kubectl get needs only `list`, and so
   * must get and simulate), failing at the first refused list with the server's reason.
   */
  private async listOnce(lists: Record<string, () => Promise<{ items: KubernetesObject[] }>>): Promise<SourceSnapshot> {
    await Promise.all(this.resources.map(async (r) => {
      try {
        r.items = (await lists[r.kind]!()).items.map((o) => slim(o, r));
        r.synced = true;
      } catch (e) {
        throw new Error(`API server ${this.kc.getCurrentCluster()?.server}: ${r.path}: ${errorDetail(e)}`);
      }
    }));
    this.started = true;
    this.publish();
    return this.snapshot;
  }

  private async run(r: Resource): Promise<void> {
    if (this.closed) return;
    try {
      await r.informer!.start();
    } catch (e) {
      this.failed(r, e);
    }
  }

  /**
   * A watch of `r` was accepted (the watch says so as the API server answers 200): it is followed
   * again, so its outage report goes and its backoff starts over. Not on a successful list alone:
   * a ClusterRole without `watch` lets the list through and then refuses the watch.
   */
  private recovered(r: Resource | undefined): void {
    if (!r || this.closed || (!r.error && r.failures === 0)) return;
    r.error = undefined;
    r.failures = 0;
    this.schedule();
  }

  private failed(r: Resource, err: unknown): void {
    if (this.closed) return;
    const detail = errorDetail(err);
    r.failures++;
    const base = this.options.backoffBaseMs ?? 1000;
    const delay = Math.min(base * 2 ** (r.failures - 1), this.options.backoffMaxMs ?? 30000);
    r.lastFailure = detail;
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
      for (const o of r.informer?.list() ?? r.items ?? []) objects.push(o as KubeObject);
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
    if (this.options.nodeName && nodes.synced && !nodes.error && (nodes.informer?.list() ?? nodes.items ?? []).length === 0) {
      diagnostics.push({
        severity: 'warning', object: `Node "${this.options.nodeName}"`, field: '',
        message: 'not found on the API server (check --node-name): no endpoint is local, and NodePorts are served only on --node-ip addresses',
      });
    }
    const prev = this.snapshot;
    // The informer keeps an unchanged object and replaces a changed one, so identity compares them.
    const same = prev.objects.length === objects.length && objects.every((o, i) => o === prev.objects[i]);
    const sameDiag = JSON.stringify(prev.diagnostics) === JSON.stringify(diagnostics);
    // A resource whose list ends after a debounced publish (an empty one adds no object) still
    // turns the source healthy: health is part of what a snapshot says.
    const healthy = !diagnostics.some((d) => d.severity === 'error') && this.resources.every((r) => r.synced);
    if (same && sameDiag && healthy === prev.healthy && prev !== EMPTY_SNAPSHOT) return;
    const first = prev === EMPTY_SNAPSHOT;
    this.snapshot = { objects: same ? prev.objects : objects, diagnostics, revision: same ? prev.revision : prev.revision + 1, healthy };
    if (!first) this.listeners.emit(this.snapshot);
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

/** `kind/namespace/name` of each slim object, computed once (see slim()). */
const sortKeys = new WeakMap<KubeObject, string>();

/** What nothing here reads and objects carry in bulk: server-side apply's and kubectl apply's bookkeeping. */
const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/**
 * The form the informers cache and every consumer shares (no copy per publish): plain JSON with
 * kind and apiVersion, without managedFields or kubectl's last-applied annotation, which are
 * often most of an object's size (the memory a large cluster costs). List items come typed from
 * the client (Dates, no kind) and are copied once; watch events come as parsed JSON and are
 * trimmed in place.
 */
function slim(o: object, r: Pick<Resource, 'kind' | 'apiVersion'>): KubeObject {
  const plain = (o.constructor === Object ? o : JSON.parse(JSON.stringify(o))) as KubeObject & { metadata?: { managedFields?: unknown; annotations?: Record<string, string> } };
  const meta = plain.metadata;
  if (meta) {
    delete meta.managedFields;
    if (meta.annotations && LAST_APPLIED in meta.annotations) {
      delete meta.annotations[LAST_APPLIED];
      if (Object.keys(meta.annotations).length === 0) delete meta.annotations;
    }
  }
  plain.kind = r.kind;
  plain.apiVersion = r.apiVersion;
  sortKeys.set(plain, `${plain.kind}/${plain.metadata?.namespace ?? ''}/${plain.metadata?.name ?? ''}`);
  return plain;
}

function sortKey(o: KubeObject): string {
  return sortKeys.get(o)!;
}
