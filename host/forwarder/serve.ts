/**
 * Runs a Forwarder from a Source (files or API server) through a ModelFeed: every snapshot that
 * changes a service port is synced; diagnostics are logged once per change; /metrics and /healthz
 * are served. `vipwasm forward` and `vipwasm demo` are thin wrappers around this.
 */
import type { Logger } from 'pino';
import type { EngineApi } from '../engine/api.js';
import { formatDiagnostic, isEmpty, MemoryAllocationStore } from '../model/index.js';
import type { ModelOptions, ModelResult } from '../model/index.js';
import { ModelFeed, type ModelUpdate } from '../sources/model-feed.js';
import type { Source } from '../sources/source.js';
import { TriggerTimes } from '../metrics/trigger-times.js';
import { Forwarder } from './forwarder.js';
import { servedFamilies } from './metrics.js';
import type { ForwarderOptions, SyncResult } from './forwarder.js';

export interface ServeOptions {
  readonly source: Source;
  readonly engine: EngineApi;
  readonly log: Logger;
  readonly model: ModelOptions;
  readonly forwarder: ForwarderOptions;
  /** `host:port` or null to disable. */
  readonly metricsAddress: string | null;
  readonly healthzAddress: string | null;
}

export interface ServingForwarder {
  readonly forwarder: Forwarder;
  readonly first: SyncResult;
  readonly result: ModelResult;
  readonly operations: { metrics?: string; healthz?: string };
  /** The model feed the forwarder follows (started): other servers (cluster DNS) may follow it too. */
  readonly feed: ModelFeed;
  /** Stops watching the source, drains for `graceMs`, releases everything. */
  stop(graceMs: number): Promise<{ aborted: number }>;
}

export async function serveForwarder(o: ServeOptions): Promise<ServingForwarder> {
  const forwarder = new Forwarder(o.engine, o.log, o.forwarder);
  const modelOptions: ModelOptions = { allocationStore: new MemoryAllocationStore(), ...o.model };
  await forwarder.prepare();
  let lastDiagnostics = '';
  const logDiagnostics = (u: ModelUpdate): void => {
    const diags = [...u.sourceDiagnostics, ...u.result.diagnostics];
    const text = diags.map(formatDiagnostic).join('\n');
    if (text === lastDiagnostics) return;
    lastDiagnostics = text;
    for (const d of diags) o.log[d.severity === 'error' ? 'error' : 'warn']({ object: d.object, field: d.field }, formatDiagnostic(d));
  };

  const operations = await forwarder.serveOperations(o.metricsAddress, o.healthzAddress);
  // The feed rebuilds the model per source snapshot and drops updates that change no service port
  // (kube-proxy's change tracker): the forwarder syncs only when something it serves changed.
  const feed = new ModelFeed(o.source, modelOptions);
  // Trigger times of EndpointSlice changes after this point become network-programming latency.
  const triggers = new TriggerTimes();
  forwarder.followTriggerTimes(triggers.cursor());
  let current = await feed.start();
  logDiagnostics(current);
  let first: SyncResult;
  try {
    first = await forwarder.sync(current.result.model);
  } catch (err) {
    // Nothing serves: release the servers and worker threads (the caller closes the source).
    await forwarder.close();
    throw err;
  }

  const unsubscribe = feed.subscribe(
    (u) => {
      logDiagnostics(u);
      current = u;
      // Nothing served changed (only the source's problems, or what `get` shows): no sync. The
      // forwarder syncs from the whole model; the change list decides whether and is logged.
      if (isEmpty(u.changes)) return;
      triggers.observe(u.snapshot.objects, u.changes.changed);
      forwarder.metrics.kubeProxy.queued(u.changes, servedFamilies(u.result.model));
      forwarder.sync(u.result.model).then(
        (r) => o.log.info({ revision: u.snapshot.revision, changed: u.changes.changed, durationMs: Math.round(r.durationMs * 100) / 100, listeners: r.listeners }, `synced: ${forwarder.summary()}`),
        (err: Error) => o.log.error({ err: err.message }, 'sync failed; the previous model keeps serving'),
      );
    },
    (err) => o.log.error({ err: err.message }, 'cannot build the service model; keeping the previous one'),
  );

  return {
    forwarder,
    first,
    get result() {
      return current.result;
    },
    operations,
    feed,
    async stop(graceMs: number) {
      unsubscribe();
      await feed.close();
      const r = await forwarder.drain(graceMs);
      await forwarder.close();
      return r;
    },
  };
}
