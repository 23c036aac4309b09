/**
 * One engine state for several threads (issue 14: `vipwasm forward --workers N`). The main thread
 * loads engine.shared.wasm (AssemblyScript with threads) over a shared `WebAssembly.Memory` as the
 * **leader**: it runs `_initialize`, loads snapshots, applies changes, expires and collects
 * garbage. Each worker thread instantiates the same code over the same memory as a **worker**: its
 * data segments made passive (instantiating must not rewrite the leader's static memory) and
 * `_initialize` not run, it only decides (connect, lookup, established, close, rebind). Every
 * export takes the engine's lock (engine/lock.ts), so flows, ClientIP affinity and the
 * lc/wlc/sed/nq counters are one state, as in IPVS's one connection table.
 *
 * Decisions index the model of the generation they were made in: the leader's `planChanges`
 * names the next generation's model before it is applied; workers receive it (`useModel`) first.
 */
import { readFileSync } from 'node:fs';
import type { EngineOptions } from './api.js';
import { Engine } from './engine.js';
import { builtWasmPath, wasiConstructor } from './node.js';
import type { ServiceModel } from './model.js';
import type { ServicePortChanges } from './delta.js';

/** Most workers one shared engine takes (ids 1..MAX_WORKERS; the lock's owner ids). */
export const MAX_WORKERS = 255;
/** Pages (64 KiB) the shared memory may grow to: 4 GiB, all of wasm32. */
const MAXIMUM_PAGES = 65536;

/** What a worker needs to attach (structured-cloneable: post it to the worker). */
export interface SharedEngineHandle {
  readonly memory: WebAssembly.Memory;
  /** engine.shared.wasm with its data segments made passive. */
  readonly workerModule: WebAssembly.Module;
  /** First worker area (allocated by the leader) and the bytes of each. */
  readonly areas: number;
  readonly areaBytes: number;
}

interface SharedExports {
  readonly memory: WebAssembly.Memory;
  allocWorkerAreas(count: number): number;
  workerAreaBytes(): number;
  lockEngine(): void;
  unlockEngine(): void;
  releaseLockOf(id: number): number;
  lockAcquisitions(): number;
  lockContentions(): number;
}

/**
 * Exports whose engine code takes the lock itself (engine/index.ts and batch.ts start them with
 * `enter()`; test/engine/shared-locking.test.ts checks each against the source): wrapping them
 * would only add a call on the hot path. Every other function export is wrapped in lockEngine /
 * unlockEngine; the lock is re-entrant, so a name missing here costs a call, never a deadlock.
 */
export const LOCKS_ITSELF: ReadonlySet<string> = new Set([
  'init', 'seedTables', 'snapshotBuffer', 'loadSnapshot', 'beginSnapshot', 'snapshotStep', 'commitSnapshot', 'abortSnapshot',
  'applyDelta', 'connect', 'lookup', 'established', 'close', 'rebind', 'connectMany', 'lookupMany', 'expire',
  'backendActive', 'backendInactive', 'fillStats', 'servicePortByName', 'allocWorkerAreas', 'checkTables',
]);

/**
 * Exports that need no lock: constants, this instance's own areas and last error, the lock itself,
 * and `_initialize` (run once, before any worker exists).
 */
export const NEEDS_NO_LOCK: ReadonlySet<string> = new Set([
  'abiVersion', 'scratch', 'batchRegion', 'batchCapacity', 'workerAreaBytes', 'attachWorker', 'errorOffset', 'errorServicePort',
  'lockEngine', 'unlockEngine', 'releaseLockOf', 'lockAcquisitions', 'lockContentions', 'sharedBlock', '_initialize', 'tableCheckSlot',
]);

let modules: Promise<{ leader: WebAssembly.Module; worker: WebAssembly.Module }> | null = null;

function compiled(): Promise<{ leader: WebAssembly.Module; worker: WebAssembly.Module }> {
  modules ??= (async () => {
    const bytes = new Uint8Array(readFileSync(builtWasmPath('engine.shared.wasm')));
    return { leader: await WebAssembly.compile(bytes), worker: await WebAssembly.compile(passiveDataSegments(bytes)) };
  })();
  return modules;
}

async function wasiImports(memory: WebAssembly.Memory): Promise<{ imports: WebAssembly.Imports; wasi: import('node:wasi').WASI }> {
  const WASI = await wasiConstructor();
  const wasi = new WASI({ version: 'preview1', args: [], env: {} });
  const imports = wasi.getImportObject() as WebAssembly.Imports;
  return { imports: { ...imports, env: { memory } }, wasi };
}

/**
 * The leader: a normal `Engine` (options applied) over a fresh shared memory, with `workers` worker
 * areas allocated, and the handle workers attach with. Exports that read several values as one view
 * (explain, table displacement) take the lock around each call.
 */
export async function loadSharedEngine(options?: EngineOptions, workers = MAX_WORKERS): Promise<{ engine: Engine; handle: SharedEngineHandle }> {
  if (!Number.isInteger(workers) || workers < 1 || workers > MAX_WORKERS) throw new RangeError(`loadSharedEngine: workers ${workers} is not an integer in 1..${MAX_WORKERS}`);
  const { leader, worker } = await compiled();
  const memory = new WebAssembly.Memory({ initial: 2, maximum: MAXIMUM_PAGES, shared: true });
  const { imports, wasi } = await wasiImports(memory);
  const instance = await WebAssembly.instantiate(leader, imports);
  wasi.initialize(instance);
  const raw = instance.exports as unknown as SharedExports & Record<string, unknown>;
  const exports: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(raw)) {
    if (typeof value !== 'function' || LOCKS_ITSELF.has(name) || NEEDS_NO_LOCK.has(name)) exports[name] = value;
    else exports[name] = locked(raw, value as (...args: unknown[]) => unknown);
  }
  const engine = new Engine({ exports: exports as WebAssembly.Exports }, options);
  const areaBytes = raw.workerAreaBytes();
  const areas = raw.allocWorkerAreas(workers);
  return { engine, handle: { memory, workerModule: worker, areas, areaBytes } };
}

/** Runs `fn` holding the engine lock of `ex` (re-entrant: `fn` may call exports that take it). */
function holdingLock<T>(ex: SharedExports, fn: () => T): T {
  ex.lockEngine();
  try {
    return fn();
  } finally {
    ex.unlockEngine();
  }
}

function locked(ex: SharedExports, f: (...args: unknown[]) => unknown): (...args: unknown[]) => unknown {
  return (...args) => holdingLock(ex, () => f(...args));
}

/** A worker's engine: the data path over the leader's state; control-plane calls throw. */
export class SharedFollower extends Engine {
  /** Decisions made in generation `generation` index `model` (the leader's plan for it). */
  useModel(generation: number, model: ServiceModel): void {
    this.models!.set(generation >>> 0, model);
  }

  /** Forgets the models of generations before `generation` (the leader serves it now). */
  dropModelsBefore(generation: number): void {
    for (const g of this.models!.keys()) if (g < generation) this.models!.delete(g);
  }

  override get model(): ServiceModel {
    let newest = -1;
    for (const g of this.models!.keys()) newest = Math.max(newest, g);
    return this.models!.get(newest) ?? super.model;
  }

  override load(_model: ServiceModel): never {
    throw followerOnly('load');
  }
  override loadSnapshot(_bytes: Uint8Array, _model: ServiceModel): never {
    throw followerOnly('loadSnapshot');
  }
  override applyChanges(_changes: ServicePortChanges): never {
    throw followerOnly('applyChanges');
  }
  override planChanges(_changes: ServicePortChanges): never {
    throw followerOnly('planChanges');
  }
  override loadInSteps(): never {
    throw followerOnly('loadInSteps');
  }
  override expire(_nowMs: number): never {
    throw followerOnly('expire');
  }
}

function followerOnly(call: string): Error {
  return new Error(`${call}: a worker of a shared engine only decides; the leader (main thread) loads, applies and expires`);
}

/** In a worker thread: attaches to the leader's engine as worker `workerId` (1..MAX_WORKERS, unique among live workers). */
export async function attachSharedEngine(handle: SharedEngineHandle, workerId: number): Promise<SharedFollower> {
  if (!Number.isInteger(workerId) || workerId < 1 || workerId > MAX_WORKERS) throw new RangeError(`attachSharedEngine: workerId ${workerId} is not an integer in 1..${MAX_WORKERS}`);
  const { imports } = await wasiImports(handle.memory);
  const instance = await WebAssembly.instantiate(handle.workerModule, imports);
  return new SharedFollower(instance, {}, { id: workerId, area: handle.areas + (workerId - 1) * handle.areaBytes });
}

/**
 * Runs `fn` holding the engine lock: the calls it makes on `leader` (they take the lock again:
 * it is re-entrant) and what it reads elsewhere are one atomic step for every worker.
 */
export function withEngineLock<T>(leader: Engine, fn: () => T): T {
  return holdingLock((leader as unknown as { ex: SharedExports }).ex, fn);
}

/** Main thread, after worker `workerId` died: frees the engine's lock if that worker held it; true if it did. */
export function releaseWorkerLock(leader: Engine, workerId: number): boolean {
  return (leader as unknown as { ex: SharedExports }).ex.releaseLockOf(workerId) !== 0;
}

/** How often the lock was taken, and found held (`lockContended / acquisitions` is the contention rate). */
export function lockCounters(leader: Engine): { acquisitions: number; contended: number } {
  const ex = (leader as unknown as { ex: SharedExports }).ex;
  return { acquisitions: ex.lockAcquisitions(), contended: ex.lockContentions() };
}

/**
 * A copy of a module whose active data segments are passive: instantiating it leaves memory as
 * it is (an active segment would rewrite the leader's static data, counters and table headers
 * included, on every worker's start). Sections are `id, size, payload` (LEB128); the data section
 * (11) holds `count, segments`, an active segment `0, i32.const offset end, bytes` or
 * `2, memidx, expr, bytes`, a passive one `1, bytes`. The segment count, and so the datacount
 * section, stay the same.
 */
export function passiveDataSegments(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  const out: number[] = [...bytes.subarray(0, 8)];
  let at = 8;
  while (at < bytes.length) {
    const id = bytes[at]!;
    const [size, start] = leb(bytes, at + 1);
    const end = start + size;
    if (id !== 11) out.push(...bytes.subarray(at, end));
    else {
      const payload = passiveSegments(bytes.subarray(start, end));
      out.push(11, ...uleb(payload.length), ...payload);
    }
    at = end;
  }
  return Uint8Array.from(out);
}

function passiveSegments(section: Uint8Array): number[] {
  const [count, first] = leb(section, 0);
  const out = [...uleb(count)];
  let at = first;
  for (let k = 0; k < count; k++) {
    const [flag, afterFlag] = leb(section, at);
    if (flag === 1) {
      const [len, data] = leb(section, afterFlag);
      out.push(...section.subarray(at, data + len));
      at = data + len;
      continue;
    }
    if (flag !== 0 && flag !== 2) throw new Error(`engine.shared.wasm: data segment ${k} has flags ${flag}`);
    const expr = flag === 2 ? leb(section, afterFlag)[1] : afterFlag;
    if (section[expr] !== 0x41) throw new Error(`engine.shared.wasm: data segment ${k}'s offset is not an i32.const`);
    const [, exprEnd] = leb(section, expr + 1); // the operand's bytes (signed LEB128: same length rule)
    if (section[exprEnd] !== 0x0b) throw new Error(`engine.shared.wasm: data segment ${k}'s offset expression is not one i32.const`);
    const [len, data] = leb(section, exprEnd + 1);
    if (data + len > section.length) throw new Error(`engine.shared.wasm: data segment ${k} runs past its section`);
    out.push(1, ...uleb(len), ...section.subarray(data, data + len));
    at = data + len;
  }
  if (at !== section.length) throw new Error('engine.shared.wasm: data section has trailing bytes');
  return out;
}

/** An unsigned LEB128 at `at`: [value, index after it]. */
function leb(b: Uint8Array, at: number): [number, number] {
  let value = 0;
  let shift = 0;
  for (;;) {
    const x = b[at++]!;
    value += (x & 0x7f) * 2 ** shift;
    shift += 7;
    if ((x & 0x80) === 0) return [value, at];
  }
}

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let x = n & 0x7f;
    n = Math.floor(n / 128);
    if (n !== 0) x |= 0x80;
    out.push(x);
  } while (n !== 0);
  return out;
}
