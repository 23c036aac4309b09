/**
 * Starts an in-process Forwarder over the real engine.wasm for end-to-end tests, and reads its
 * metrics back.
 */
import pino from 'pino';
import type { EngineOptions } from '../../../host/engine/api.js';
import type { ServiceModel } from '../../../host/engine/model.js';
import { loadEngine } from '../../../host/engine/node.js';
import { Forwarder } from '../../../host/forwarder/forwarder.js';
import type { ForwarderOptions } from '../../../host/forwarder/forwarder.js';

export async function startForwarder(model: ServiceModel, options: ForwarderOptions = {}, engineOptions: EngineOptions = {}): Promise<Forwarder> {
  const engine = await loadEngine(engineOptions);
  const log = pino({ level: process.env['VIPWASM_TEST_LOG'] ?? 'silent' });
  const f = new Forwarder(engine, log, { processMetrics: false, expireIntervalMs: 100, ...options });
  const r = await f.sync(model);
  if (r.bindFailures.length) throw new Error(`forwarder could not bind: ${JSON.stringify(r.bindFailures)}`);
  return f;
}

/** A port's tallies (zeros when the port never saw traffic). */
export function tallies(f: Forwarder, servicePort: string, protocol = 'TCP') {
  const t = f.metrics.snapshot().get(`${servicePort}|${protocol}`);
  return t ?? { connections: 0, active: 0, retries: 0, connectFailures: 0, rejectNoEndpoints: 0, rejectDropped: 0, rejectUnreachable: 0, viaAffinity: 0, viaScheduler: 0, viaFlow: 0, bytesToBackend: 0, bytesToClient: 0 };
}

/** Polls `check` every 20 ms until it returns true (bounded). */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`condition not met within ${timeoutMs} ms`);
}

/** Counts of each answer. */
export function countBy(items: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const i of items) out[i] = (out[i] ?? 0) + 1;
  return out;
}
