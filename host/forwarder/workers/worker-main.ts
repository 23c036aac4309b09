/**
 * A worker thread of `vipwasm forward --workers N`: the data plane. It attaches to the leader's
 * engine (engine-link.ts), binds every service listener with SO_REUSEPORT beside the other
 * workers, and serves connections with the same code as the single-threaded forwarder
 * (DataPlane: listeners, TCP connections, UDP sessions). Main tells it which model to decide with
 * and which listeners to hold; it tells main about failed backends (main owns ejections).
 */
import { parentPort, workerData } from 'node:worker_threads';
import pino from 'pino';
import { BackendEjections } from '../backend-ejection.js';
import { ConnectDeadlines } from '../connect-deadlines.js';
import { AddressCache } from '../context.js';
import type { DataPathContext } from '../context.js';
import { DataPlane } from '../data-plane.js';
import { ForwarderMetrics } from '../metrics.js';
import { attachWorkerEngine, engineClock } from './engine-link.js';
import { FlowRegistry } from './flow-registry.js';
import type { FromWorker, ToWorker, WorkerReply, WorkerSetup } from './messages.js';

/** Metric names a worker reports: its data path's. Engine, kube-proxy and process metrics are main's. */
export const WORKER_METRIC_PREFIX = 'vipwasm_forwarder_';

async function run(port: NonNullable<typeof parentPort>, setup: WorkerSetup): Promise<void> {
  const log = pino({ level: setup.logLevel, base: { component: 'forwarder', worker: setup.workerId } }, pino.destination({ fd: 2, sync: true }));
  const post = (m: FromWorker): void => port.postMessage(m);
  const linked = await attachWorkerEngine(setup.handle, setup.workerId, new FlowRegistry(setup.flows));
  const now = engineClock(setup.handle.epoch);
  const metrics = new ForwarderMetrics(() => null, { processMetrics: false });
  const ejections = new BackendEjections(setup.ejectMs);
  const ctx: DataPathContext = {
    engine: linked.engine,
    metrics,
    log,
    options: setup.dataPath,
    addresses: new AddressCache(),
    ejections,
    connectDeadlines: new ConnectDeadlines(setup.dataPath.connectTimeoutMs, now),
    now,
    backendFailed(key) {
      // Skip it on this worker's own retries at once; main ejects it for everyone and resyncs.
      ejections.eject(key, now());
      post({ type: 'backendFailed', key });
    },
  };
  const plane = new DataPlane(ctx);

  const answer = async (m: ToWorker & { seq: number }): Promise<WorkerReply> => {
    switch (m.type) {
      case 'model':
        linked.useModel(m.generation, m.model);
        return { kind: 'ack' };
      case 'listeners': {
        const bindFailures = await plane.reconcile(m.listeners);
        return { kind: 'listeners', bindFailures, keys: plane.listeners.keys(), open: plane.openConnections };
      }
      case 'metrics': {
        const all = await metrics.registry.getMetricsAsJSON();
        return { kind: 'metrics', metrics: all.filter((x) => x.name.startsWith(WORKER_METRIC_PREFIX)), open: plane.openConnections };
      }
      case 'drain':
        return { kind: 'drained', ...(await plane.drain(m.graceMs)) };
      default:
        throw new Error(`unknown request ${(m as { type: string }).type}`);
    }
  };

  port.on('message', (m: ToWorker) => {
    if (m.type === 'serving') linked.dropModelsBefore(m.generation);
    else if (m.type === 'crash') process.exit(1);
    else if (m.type === 'hang') Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, m.ms);
    else if (m.type === 'close') {
      plane.close();
      linked.close();
      process.exit(0);
    } else {
      answer(m).then(
        (body) => post({ type: 'reply', seq: m.seq, body }),
        (err: Error) => post({ type: 'reply', seq: m.seq, error: err.message }),
      );
    }
  });
  post({ type: 'ready' });
}

if (parentPort) await run(parentPort, workerData as WorkerSetup);
