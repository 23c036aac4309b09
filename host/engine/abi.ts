/**
 * What `Engine` (engine.ts) speaks to engine.wasm and hands back: the exports it calls (the ABI is
 * described in engine/index.ts), the reused Decision object, and `planChanges`' result.
 */
import { Verdict, Via, type Decision } from './api.js';
import type { ModelBackend, ModelServicePort, ServiceModel } from './model.js';

/** The exports of engine.wasm this wrapper uses. */
export interface EngineExports {
  readonly memory: WebAssembly.Memory;
  abiVersion(): number;
  seedTables(a: number, b: number, c: number, d: number): void;
  flowIndexDisplacement(): number;
  affinityIndexDisplacement(): number;
  checkTables(): number;
  tableCheckSlot(): number;
  scratch(): number;
  /** 0 = applied; 1 = a timeout above 2,000,000 s was refused (nothing changed). */
  init(flowCap: number, affinityCap: number, seed: number, tcpS: number, tcpFinS: number, udpS: number, sctpS: number, synS: number): number;
  snapshotBuffer(len: number): number;
  loadSnapshot(): number;
  /** Applies the delta snapshot in the buffer; 0, or a rejection code (20: send a full snapshot). */
  applyDelta(): number;
  /** Starts building the snapshot in the buffer in steps; decisions keep the serving generation. */
  beginSnapshot(): void;
  /** Advances the staged build by at most `budget` records per stage: -1 more, 0 ready, else a rejection code. */
  snapshotStep(budget: number): number;
  /** Switches to the staged build: 0, -1 not ready, 18 the serving generation changed meanwhile, 21 none staged. */
  commitSnapshot(): number;
  abortSnapshot(): void;
  errorOffset(): number;
  errorServicePort(): number;
  connect(proto: number, sport: number, dport: number, nowMs: number): number;
  lookup(proto: number, sport: number, dport: number, nowMs: number): number;
  established(proto: number, sport: number, dport: number, nowMs: number): number;
  close(proto: number, sport: number, dport: number, nowMs: number): number;
  rebind(proto: number, sport: number, dport: number, k: number, nowMs: number): number;
  expire(nowMs: number): number;
  batchRegion(): number;
  batchCapacity(): number;
  lookupMany(n: number, nowMs: number): number;
  connectMany(n: number, nowMs: number): number;
  backendActive(sp: number, k: number): number;
  backendInactive(sp: number, k: number): number;
  fillStats(): void;
  /** engine.shared.wasm: makes a non-initialized instance worker `id` with its own scratch area. */
  attachWorker?(id: number, area: number): void;
}

export const EMPTY_MODEL: ServiceModel = { nodeIPs: [], servicePorts: [] };

/**
 * The reused Decision. `servicePort` and `backend` are looked up in the model only when read:
 * touching two model objects per decision would cost more than the decision itself at 10k+
 * services (two random cache misses), and many callers only need the indexes.
 */
export class ReusedDecision implements Decision {
  verdict: Verdict = Verdict.Pass;
  via: Via = Via.None;
  servicePortIndex = -1;
  backendIndex = -1;
  detail = -1;
  model: ServiceModel = EMPTY_MODEL;

  get servicePort(): ModelServicePort | null {
    return this.servicePortIndex >= 0 ? this.model.servicePorts[this.servicePortIndex] ?? null : null;
  }
  set servicePort(_: ModelServicePort | null) {
    throw new TypeError('Decision.servicePort is derived from servicePortIndex; copy the decision to change it');
  }
  get backend(): ModelBackend | null {
    const port = this.servicePort;
    return port !== null && this.backendIndex >= 0 ? port.backends[this.backendIndex] ?? null : null;
  }
  set backend(_: ModelBackend | null) {
    throw new TypeError('Decision.backend is derived from backendIndex; copy the decision to change it');
  }
}

/** `Engine.planChanges`: the model the next generation serves, and the call that serves it. */
export interface PlannedChanges {
  readonly model: ServiceModel;
  /** What `apply` will try first (it may still fall back to a full load). */
  readonly kind: 'delta' | 'full';
  apply(): 'delta' | 'full';
}

export function once<T>(f: () => T): () => T {
  let used = false;
  return () => {
    if (used) throw new Error('PlannedChanges.apply: already applied');
    used = true;
    return f();
  };
}

