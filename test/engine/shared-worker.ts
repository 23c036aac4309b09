/**
 * A worker thread of test/engine/shared-engine.test.ts: attaches to the test's shared engine and
 * runs the commands it is sent, answering each with its result.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { attachSharedEngine, type SharedEngineHandle } from '../../host/engine/shared.js';
import type { ServiceModel } from '../../host/engine/model.js';
import { ip } from './fixtures.js';

export type WorkerCommand =
  | { op: 'model'; generation: number; model: ServiceModel }
  /** connect + established (TCP) for ports [from, to) from `client` to `vip:port`; answers the backend ips chosen, in order. */
  | { op: 'open'; proto: number; client: string; vip: string; port: number; from: number; to: number }
  | { op: 'close'; proto: number; client: string; vip: string; port: number; from: number; to: number }
  /** Holds the engine lock (lockEngine) while it connects and looks up one flow, then frees it; answers the two backends. */
  | { op: 'nested'; client: string; vip: string; port: number }
  /** Takes the engine lock and exits holding it (a worker that dies inside a call). */
  | { op: 'die-locked' };

const { handle, id } = workerData as { handle: SharedEngineHandle; id: number };
const engine = await attachSharedEngine(handle, id);

parentPort!.on('message', (c: WorkerCommand) => {
  if (c.op === 'model') {
    engine.useModel(c.generation, c.model);
    parentPort!.postMessage(null);
  } else if (c.op === 'open') {
    const chosen: string[] = [];
    for (let p = c.from; p < c.to; p++) {
      const d = engine.connect(c.proto, ip(c.client), p, ip(c.vip), c.port, performance.now());
      chosen.push(d.backend?.ip ?? `verdict ${d.verdict}`);
      engine.established(c.proto, ip(c.client), p, ip(c.vip), c.port, performance.now());
    }
    parentPort!.postMessage(chosen);
  } else if (c.op === 'close') {
    let closed = 0;
    for (let p = c.from; p < c.to; p++) if (engine.close(c.proto, ip(c.client), p, ip(c.vip), c.port, performance.now())) closed++;
    parentPort!.postMessage(closed);
  } else if (c.op === 'nested') {
    const ex = (engine as unknown as { ex: { lockEngine(): void; unlockEngine(): void } }).ex;
    ex.lockEngine();
    const a = engine.connect(6, ip(c.client), 4000, ip(c.vip), c.port, performance.now());
    const b = engine.lookup(6, ip(c.client), 4000, ip(c.vip), c.port, performance.now());
    ex.unlockEngine();
    parentPort!.postMessage([a.backend?.ip, b.backend?.ip]);
  } else {
    (engine as unknown as { ex: { lockEngine(): void } }).ex.lockEngine();
    process.exit(3);
  }
});
parentPort!.postMessage('ready');
