/**
 * Starts the real forwarder with worker threads (host/forwarder/workers) over the real engine.wasm
 * for tests, with its main-thread log lines collected and /metrics on a free port.
 */
import http from 'node:http';
import net from 'node:net';
import { Writable } from 'node:stream';
import pino from 'pino';
import type { EngineApi } from '../../host/engine/api.js';
import type { ServiceModel } from '../../host/engine/model.js';
import { Forwarder } from '../../host/forwarder/forwarder.js';
import type { ForwarderOptions } from '../../host/forwarder/forwarder.js';
import { startForwarderEngine } from '../../host/forwarder/workers/start.js';
import type { WorkerPool } from '../../host/forwarder/workers/worker-pool.js';
import { reusePortSupported } from '../../host/forwarder/workers/worker-count.js';

/** Why worker tests cannot run on this Node, or null when they can. */
export function workersUnsupported(): string | null {
  return reusePortSupported() ? null : `Node ${process.versions.node} has no reusePort (needs >= 22.12): worker threads cannot share a listener`;
}

export interface WorkerForwarder {
  readonly forwarder: Forwarder;
  /** The leader engine (main thread). */
  readonly engine: EngineApi;
  readonly pool: WorkerPool;
  readonly metricsUrl: string;
  /** Main-thread log lines, parsed. */
  readonly logs: { msg: string; [k: string]: unknown }[];
  stop(): Promise<void>;
}

export async function startWorkerForwarder(model: ServiceModel, workers = 2, options: ForwarderOptions = {}, ackTimeoutMs = 5000): Promise<WorkerForwarder> {
  const logs: WorkerForwarder['logs'] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n')) if (line) logs.push(JSON.parse(line) as WorkerForwarder['logs'][number]);
      done();
    },
  });
  const log = pino({ level: 'info' }, sink);
  const ejectMs = options.ejectMs ?? 5000;
  const started = await startForwarderEngine({}, workers, { ejectMs, ackTimeoutMs });
  const forwarder = new Forwarder(started.engine, log, { processMetrics: false, expireIntervalMs: 100, ...options, plane: started.plane });
  const pool = started.pool();
  if (!pool) throw new Error('no worker pool: ask for 2 workers or more');
  try {
    const r = await forwarder.sync(model);
    if (r.bindFailures.length) throw new Error(`forwarder could not bind: ${JSON.stringify(r.bindFailures)}`);
  } catch (err) {
    await forwarder.close();
    throw err;
  }
  const ops = await forwarder.serveOperations('127.0.0.1:0', null);
  return { forwarder, engine: started.engine, pool, metricsUrl: `http://${ops.metrics}/metrics`, logs, stop: () => forwarder.close() };
}

/** GET /metrics. */
export function scrape(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent: false, timeout: 5000 }, (r) => {
        let body = '';
        r.setEncoding('utf8');
        r.on('data', (c: string) => (body += c));
        r.on('end', () => resolve(body));
      })
      .on('error', reject);
  });
}

/** The value of the sample whose line starts with `series` (name and labels as exported), or 0 when absent. */
export function sample(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.slice(series.length + 1));
}

/** Connections per worker thread, from `vipwasm_forwarder_worker_connections_total`. */
export function perWorker(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const m of text.matchAll(/^vipwasm_forwarder_worker_connections_total\{worker="(\d+)"\} (\d+)/gm)) out.set(m[1]!, Number(m[2]));
  return out;
}

/** A free TCP port on an address (scripts/k8s/cluster.ts: below the ephemeral range), for a Service port on a test-only address. */
export { freePort } from '../../scripts/k8s/cluster.js';

/** A long-lived client connection to an echo backend through the forwarder. */
export class HeldConnection {
  ended = false;
  private received = Buffer.alloc(0);
  private waiter: (() => void) | null = null;

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (c: Buffer) => {
      this.received = Buffer.concat([this.received, c]);
      this.waiter?.();
    });
    const end = (): void => {
      this.ended = true;
      this.waiter?.();
    };
    socket.on('close', end);
    socket.on('error', end);
  }

  static open(ip: string, port: number, localAddress?: string): Promise<HeldConnection> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ host: ip, port, localAddress });
      s.once('connect', () => resolve(new HeldConnection(s)));
      s.once('error', reject);
    });
  }

  /** Sends `payload` and resolves true when exactly it came back, false when the connection ended first. */
  async echo(payload: Buffer, timeoutMs = 5000): Promise<boolean> {
    if (this.ended) return false;
    this.received = Buffer.alloc(0);
    this.socket.write(payload);
    const deadline = Date.now() + timeoutMs;
    while (this.received.length < payload.length && !this.ended && Date.now() < deadline) {
      await new Promise<void>((r) => {
        this.waiter = r;
        setTimeout(r, 50);
      });
    }
    this.waiter = null;
    return this.received.length === payload.length && this.received.equals(payload);
  }

  close(): void {
    this.socket.destroy();
  }
}
