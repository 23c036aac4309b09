/**
 * The watch the API-server source's informers use: `@kubernetes/client-node`'s Watch, with three
 * changes.
 *
 * - A refused watch says why. The library's Watch turns a non-200 answer into an Error carrying
 *   only the status text ("Forbidden"), so a ClusterRole without `watch` read as `HTTP 403`. Here
 *   the API server's Status body is kept (`body`, as the library's ApiException has it for a
 *   failed list), so the message names the resource, the verb and the user, as kubectl prints it.
 * - It asks for BOOKMARK events (allowWatchBookmarks, as client-go's reflector does; the API server
 *   sends none otherwise), so a quiet resource's resourceVersion stays recent and a re-watch does
 *   not fall behind compaction into a relist.
 * - close() stops it for good: ListWatch.stop() only aborts a watch whose request has already
 *   returned; a list or watch still in flight at that moment goes on to open a new watch stream,
 *   which would keep the process alive until the server ends it. After close() no watch
 *   connects, and the open ones are aborted.
 *
 * The stream handling otherwise follows the library's (dist/watch.js): newline-delimited JSON
 * events, a 30 s inactivity timeout reported as a TimeoutError (which ListWatch answers with an
 * immediate re-watch), done() called once.
 */
import { STATUS_CODES } from 'node:http';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { HttpMethod, type KubeConfig, RequestContext, Watch } from '@kubernetes/client-node';
import { fetch } from 'undici';

type QueryParams = Record<string, string | number | boolean | undefined>;
type Callback = (phase: string, apiObj: unknown, watchObj?: unknown) => void;

/** How long a watch may go without a byte before it is re-opened (the library's default). */
const INACTIVITY_TIMEOUT_MS = 30_000;
/** The most of a refusal's body kept for the message. */
const MAX_STATUS_BODY = 64 << 10;

/** A refused watch: the status and the API server's Status body, as errorDetail() reads them. */
export class WatchRefused extends Error {
  override name = 'WatchRefused';
  constructor(readonly statusCode: number, readonly body: string) {
    super(STATUS_CODES[statusCode] ?? `HTTP ${statusCode}`);
  }
}

export class ClosableWatch extends Watch {
  private closed = false;
  private readonly open = new Set<AbortController>();

  /**
   * `opened` is told each time a watch of `path` is accepted (HTTP 200): the resource is being
   * followed again. `transform` reshapes each ADDED/MODIFIED/DELETED object before the informer
   * caches it (as client-go's informer transforms do: kube-proxy strips managedFields there).
   */
  constructor(
    config: KubeConfig,
    private readonly opened: (path: string) => void = () => undefined,
    private readonly transform: (path: string, object: object) => object = (_path, object) => object,
  ) {
    super(config);
  }

  override async watch(path: string, queryParams: QueryParams, callback: Callback, done: (err: unknown) => void): Promise<AbortController> {
    const controller = new AbortController();
    if (this.closed) return controller;
    this.open.add(controller);
    let finished = false;
    let timedOut = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const resetTimer = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        timedOut = true;
        controller.abort();
      }, INACTIVITY_TIMEOUT_MS);
      timer.unref();
    };
    const finish = (err: unknown) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      this.open.delete(controller);
      controller.abort();
      done(err && timedOut ? new DOMException('The operation was aborted due to timeout', 'TimeoutError') : err);
    };
    try {
      const url = this.url(path, { ...queryParams, allowWatchBookmarks: true });
      const ctx = new RequestContext(url, HttpMethod.GET);
      await this.config.applySecurityAuthentication(ctx);
      if (this.closed) {
        finish(null);
        return controller;
      }
      resetTimer();
      const response = await fetch(url, { method: 'GET', headers: ctx.getHeaders(), dispatcher: ctx.getDispatcher(), signal: controller.signal });
      if (response.status !== 200) {
        const body = (await response.text().catch(() => '')).slice(0, MAX_STATUS_BODY);
        throw new WatchRefused(response.status, body);
      }
      resetTimer();
      this.opened(path);
      const body = Readable.fromWeb(response.body! as never);
      body.on('data', resetTimer);
      body.on('error', finish);
      body.on('close', () => finish(null));
      const lines = createInterface({ input: body });
      lines.on('line', (line) => {
        let event: { type: string; object: unknown };
        try {
          event = JSON.parse(line) as { type: string; object: unknown };
        } catch {
          return; // not an event: the library ignores it too
        }
        const changed = event.type === 'ADDED' || event.type === 'MODIFIED' || event.type === 'DELETED';
        if (changed && typeof event.object === 'object' && event.object !== null) event.object = this.transform(path, event.object);
        callback(event.type, event.object, event);
      });
      // readline re-emits the body's errors (an abort among them): unhandled, they would crash the process.
      lines.on('error', finish);
      lines.on('close', () => finish(null));
    } catch (err) {
      finish(err);
    }
    return controller;
  }

  close(): void {
    this.closed = true;
    for (const c of this.open) c.abort();
    this.open.clear();
  }

  private url(path: string, queryParams: QueryParams): string {
    const cluster = this.config.getCurrentCluster();
    if (!cluster) throw new Error('No currently active cluster');
    const url = new URL(cluster.server + path);
    url.searchParams.set('watch', 'true');
    for (const [key, value] of Object.entries(queryParams)) if (value !== undefined) url.searchParams.set(key, String(value));
    return url.toString();
  }
}
