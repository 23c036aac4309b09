/**
 * Runs a Forwarder from a Source (files or API server): every new snapshot is built into a model
 * (host/model) and synced; diagnostics are logged once per change; /metrics and /healthz are
 * served. `vipwasm forward` and `vipwasm demo` are thin wrappers around this.
 */
import type { Logger } from 'pino';
import type { EngineApi } from '../engine/api.js';
import { buildServiceModel, formatDiagnostic, MemoryAllocationStore } from '../model/index.js';
import type { ModelOptions, ModelResult } from '../model/index.js';
import type { Source, SourceSnapshot } from '../sources/source.js';
import { Forwarder } from './forwarder.js';
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
  /** Stops watching the source, drains for `graceMs`, releases everything. */
  stop(graceMs: number): Promise<{ aborted: number }>;
}

export async function serveForwarder(o: ServeOptions): Promise<ServingForwarder> {
  const forwarder = new Forwarder(o.engine, o.log, o.forwarder);
  const modelOptions: ModelOptions = { allocationStore: new MemoryAllocationStore(), ...o.model };
  await forwarder.prepare();
  let lastDiagnostics = '';
  let current: ModelResult;

  const build = (snap: SourceSnapshot): ModelResult => {
    const result = buildServiceModel(snap.objects, modelOptions);
    const diags = [...snap.diagnostics, ...result.diagnostics];
    const text = diags.map(formatDiagnostic).join('\n');
    if (text !== lastDiagnostics) {
      lastDiagnostics = text;
      for (const d of diags) o.log[d.severity === 'error' ? 'error' : 'warn']({ object: d.object, field: d.field }, formatDiagnostic(d));
    }
    return result;
  };

  const operations = await forwarder.serveOperations(o.metricsAddress, o.healthzAddress);
  const snapshot = await o.source.start();
  current = build(snapshot);
  const first = await forwarder.sync(current.model);

  const unsubscribe = o.source.subscribe((snap) => {
    forwarder.queued();
    try {
      current = build(snap);
    } catch (err) {
      o.log.error({ err: (err as Error).message }, 'cannot build the service model; keeping the previous one');
      return;
    }
    forwarder.sync(current.model).then(
      (r) => o.log.info({ revision: snap.revision, durationMs: Math.round(r.durationMs * 100) / 100, listeners: r.listeners }, `synced: ${forwarder.summary()}`),
      (err: Error) => o.log.error({ err: err.message }, 'sync failed; the previous model keeps serving'),
    );
  });

  return {
    forwarder,
    first,
    get result() {
      return current;
    },
    operations,
    async stop(graceMs: number) {
      unsubscribe();
      await o.source.close();
      const r = await forwarder.drain(graceMs);
      await forwarder.close();
      return r;
    },
  };
}
