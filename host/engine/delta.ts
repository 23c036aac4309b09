/**
 * Delta snapshots: the host side of engine/delta.ts (format in docs/snapshot.md). A change to a
 * few service ports is sent as those service ports only, against the serving generation, so its
 * cost does not grow with the cluster. `ServicePortOrder` mirrors where the engine keeps each
 * service port (decisions name service ports by that index): a replaced one keeps its index, an
 * added one goes last, a removed one's index is taken by the last one.
 */
import { PROTOCOL_NUMBER, servicePortKey, type ModelServicePort, type ServiceModel } from './model.js';
import { encodeSnapshot, fnv1a } from './snapshot.js';

export const DELTA_MAGIC = 0x44504956;
export const DELTA_VERSION = 1;
const HEADER_SIZE = 32;
const OP = { replace: 1, append: 2, remove: 3 } as const;

export type DeltaOp =
  | { readonly kind: 'replace'; readonly index: number; readonly servicePort: ModelServicePort }
  | { readonly kind: 'append'; readonly servicePort: ModelServicePort }
  | { readonly kind: 'remove'; readonly index: number };

/** What changed between two models, as host/model's ServiceChangeTracker reports it. */
export interface ServicePortChanges {
  /** The new model. */
  readonly current: ServiceModel;
  /** Changed `servicePortKey`s (namespace/name[:portName]): added, updated and removed. */
  readonly added: readonly string[];
  readonly updated: readonly string[];
  readonly removed: readonly string[];
  readonly nodeIPsChanged: boolean;
}

/** Encodes `ops` as a delta against serving generation `baseGeneration`. */
export function encodeDelta(ops: readonly DeltaOp[], baseGeneration: number): Uint8Array {
  const records: ModelServicePort[] = [];
  for (const op of ops) if (op.kind !== 'remove') records.push(op.servicePort);
  const embedded = encodeSnapshot({ nodeIPs: [], servicePorts: records });
  const at = HEADER_SIZE + ops.length * 8;
  const bytes = new Uint8Array(at + embedded.length);
  const view = new DataView(bytes.buffer);
  ops.forEach((op, k) => {
    view.setUint32(HEADER_SIZE + k * 8, OP[op.kind], true);
    view.setUint32(HEADER_SIZE + k * 8 + 4, op.kind === 'append' ? 0 : op.index, true);
  });
  bytes.set(embedded, at);
  view.setUint32(0, DELTA_MAGIC, true);
  view.setUint16(4, DELTA_VERSION, true);
  view.setUint16(6, HEADER_SIZE, true);
  view.setUint32(8, bytes.length, true);
  view.setUint32(12, ops.length, true);
  view.setUint32(16, baseGeneration, true);
  view.setUint32(20, at, true);
  view.setUint32(24, 0, true);
  view.setUint32(28, fnv1a(bytes.subarray(HEADER_SIZE)), true);
  return bytes;
}

/** Identity of a service port in the engine: key and protocol (engine/remap.ts sameIdentity). */
function identity(sp: ModelServicePort): string {
  return `${servicePortKey(sp)}/${sp.protocol}`;
}

/** The service ports of `model` whose servicePortKey is `key` (the model is sorted by key, then protocol). */
function portsWithKey(model: ServiceModel, key: string): ModelServicePort[] {
  const ports = model.servicePorts;
  let lo = 0;
  let hi = ports.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (servicePortKey(ports[mid]!) < key) lo = mid + 1;
    else hi = mid;
  }
  const found: ModelServicePort[] = [];
  for (let i = lo; i < ports.length && servicePortKey(ports[i]!) === key; i++) found.push(ports[i]!);
  return found;
}

/** Where the engine keeps each service port, mirrored so deltas can name them by index. */
export class ServicePortOrder {
  readonly ports: ModelServicePort[];
  private readonly index = new Map<string, number>();

  /** Indexes `model`'s service ports now, or (`indexed` false) as `indexMore` is called. */
  constructor(model: ServiceModel, indexed = true) {
    this.ports = [...model.servicePorts];
    if (indexed) this.indexMore(this.ports.length);
  }

  private indexedUpTo = 0;

  /** Indexes up to `count` more service ports (100k take ~0.2 s: a staged load spreads them over its pauses); true when all are. */
  indexMore(count: number): boolean {
    const end = Math.min(this.ports.length, this.indexedUpTo + count);
    for (let i = this.indexedUpTo; i < end; i++) this.index.set(identity(this.ports[i]!), i);
    this.indexedUpTo = end;
    return end === this.ports.length;
  }

  /**
   * The ops that turn the serving service ports into `changes.current`'s, for the changed keys; null
   * when an added or updated key is not found in the model (not sorted by key as host/model sorts
   * it): a full load is then the safe answer.
   */
  plan(changes: ServicePortChanges): DeltaOp[] | null {
    this.indexMore(Infinity);
    const replace: DeltaOp[] = [];
    const append: DeltaOp[] = [];
    const remove: DeltaOp[] = [];
    const present = new Set([...changes.added, ...changes.updated]);
    const keys = new Set([...changes.added, ...changes.updated, ...changes.removed]);
    for (const key of keys) {
      const now = portsWithKey(changes.current, key);
      if (now.length === 0 && present.has(key)) return null;
      const seen = new Set<string>();
      for (const sp of now) {
        const id = identity(sp);
        seen.add(id);
        const i = this.index.get(id);
        if (i === undefined) append.push({ kind: 'append', servicePort: sp });
        else replace.push({ kind: 'replace', index: i, servicePort: sp });
      }
      for (const protocol of Object.keys(PROTOCOL_NUMBER)) {
        const id = `${key}/${protocol}`;
        const i = this.index.get(id);
        if (i !== undefined && !seen.has(id)) remove.push({ kind: 'remove', index: i });
      }
    }
    return [...replace, ...append, ...remove];
  }

  /** Mirrors what engine/splice.ts does with `ops` once the engine accepted them. */
  apply(ops: readonly DeltaOp[]): void {
    applyOps(this.ports, this.index, ops);
  }

  /** The service ports in engine order after `ops`, without applying them (a plan shown before it is sent). */
  preview(ops: readonly DeltaOp[]): ModelServicePort[] {
    const ports = this.ports.slice();
    applyOps(ports, null, ops);
    return ports;
  }
}

/** Replaces, appends, then removes (each removed index takes the last port), keeping `index` (when given) in step. */
function applyOps(ports: ModelServicePort[], index: Map<string, number> | null, ops: readonly DeltaOp[]): void {
  const removes: number[] = [];
  for (const op of ops) {
    if (op.kind === 'replace') ports[op.index] = op.servicePort;
    else if (op.kind === 'append') {
      index?.set(identity(op.servicePort), ports.length);
      ports.push(op.servicePort);
    } else removes.push(op.index);
  }
  for (const t of removes.sort((a, b) => b - a)) {
    index?.delete(identity(ports[t]!));
    const last = ports.pop()!;
    if (t < ports.length) {
      ports[t] = last;
      index?.set(identity(last), t);
    }
  }
}
