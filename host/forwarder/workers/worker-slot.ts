/**
 * One worker thread as main sees it: started with its setup, ready once it attached to the engine,
 * asked things with a timeout, and watched for its exit.
 */
import { Worker } from 'node:worker_threads';
import type { FlowRegistry } from './flow-registry.js';
import type { FromWorker, ToWorker, WorkerReply, WorkerSetup } from './messages.js';

type Request = Extract<ToWorker, { seq: number }>;
type Unsequenced<T> = T extends unknown ? Omit<T, 'seq'> : never;

/** The worker script beside this module: .ts under tsx or vitest (then the worker loads tsx too), .js when built. */
function workerEntry(): { url: URL; execArgv?: string[] } {
  const fromSource = import.meta.url.endsWith('.ts');
  const url = new URL(fromSource ? './worker-main.ts' : './worker-main.js', import.meta.url);
  const hasTsx = process.execArgv.some((a) => a.includes('tsx'));
  return fromSource && !hasTsx ? { url, execArgv: [...process.execArgv, '--import', 'tsx'] } : { url };
}

export class WorkerSlot {
  readonly worker: Worker;
  /** Resolves when the worker attached to the engine; rejects when it exited first. */
  readonly ready: Promise<void>;
  /** Resolves with the exit code. */
  readonly exited: Promise<number>;
  /** Set before asking it to stop: its exit is then expected. */
  stopping = false;
  /** Open connections, as of its last reply. */
  open = 0;
  readonly startedAt = performance.now();
  private seq = 0;
  private readonly pending = new Map<number, { resolve: (r: WorkerReply) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();

  constructor(
    readonly id: number,
    readonly flows: FlowRegistry,
    setup: Omit<WorkerSetup, 'workerId' | 'flows'>,
    onMessage: (slot: WorkerSlot, m: FromWorker) => void,
  ) {
    const entry = workerEntry();
    this.worker = new Worker(entry.url, {
      workerData: { ...setup, workerId: id, flows: flows.buffer } satisfies WorkerSetup,
      execArgv: entry.execArgv,
      name: `vipwasm-worker-${id}`,
    });
    this.ready = new Promise((resolve, reject) => {
      this.worker.on('message', (m: FromWorker) => {
        if (m.type === 'ready') resolve();
        else if (m.type === 'reply') this.settle(m.seq, m.error, m.body);
        else onMessage(this, m);
      });
      this.worker.once('exit', (code) => reject(new Error(`worker ${id} exited with code ${code} before it was ready`)));
    });
    this.ready.catch(() => undefined);
    this.exited = new Promise((resolve) => {
      this.worker.once('exit', (code) => {
        for (const [seq] of this.pending) this.settle(seq, `worker ${id} exited with code ${code}`);
        resolve(code);
      });
    });
    this.worker.on('error', () => undefined); // an uncaught error ends the worker: 'exit' follows
  }

  /** Posts without waiting for anything. */
  post(m: Exclude<ToWorker, Request>): void {
    this.worker.postMessage(m);
  }

  /** Asks and waits for the reply; rejects on the worker's error, its exit, or `timeoutMs`. */
  request(m: Unsequenced<Request>, timeoutMs: number): Promise<WorkerReply> {
    const seq = ++this.seq;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => this.settle(seq, `worker ${this.id} did not answer "${m.type}" within ${timeoutMs} ms`), timeoutMs);
      this.pending.set(seq, { resolve, reject, timer });
      this.worker.postMessage({ ...m, seq });
    });
  }

  private settle(seq: number, error: string | undefined, body?: WorkerReply): void {
    const p = this.pending.get(seq);
    if (!p) return;
    this.pending.delete(seq);
    clearTimeout(p.timer);
    if (error !== undefined) p.reject(new Error(error));
    else p.resolve(body!);
  }
}
