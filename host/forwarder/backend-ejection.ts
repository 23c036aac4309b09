/**
 * Passive outlier ejection: a backend whose connect was refused or timed out is quiesced for a
 * cool-down, so new connections stop paying a failed attempt plus a retry for it.
 *
 * Quiescing is done the IPVS way: the backend's weight becomes 0 in the model the engine serves
 * (every IPVS scheduler skips weight-0 destinations; existing flows keep working), so lc/wlc/sh/mh
 * state stays in the engine. The last usable backend of a service port is never ejected (as
 * Envoy's `max_ejection_percent` guards): with nothing left the engine would reject, and a
 * connect attempt that may succeed is better than a certain reject.
 */
import { backendKey } from '../engine/model.js';
import type { ModelBackend, ModelServicePort, ServiceModel } from '../engine/model.js';

export class BackendEjections {
  /** backendKey → ejected until (ms, forwarder clock). */
  private readonly until = new Map<string, number>();

  constructor(private readonly cooldownMs: number) {}

  get size(): number {
    return this.until.size;
  }

  /** Records a failed connect; returns true when this newly ejects the backend. */
  eject(key: string, nowMs: number): boolean {
    if (this.cooldownMs <= 0) return false;
    const was = this.until.get(key);
    this.until.set(key, nowMs + this.cooldownMs);
    return was === undefined || was <= nowMs;
  }

  isEjected(key: string, nowMs: number): boolean {
    const t = this.until.get(key);
    return t !== undefined && t > nowMs;
  }

  /** Forgets expired ejections; returns true when any was removed (the model must be re-applied). */
  expire(nowMs: number): boolean {
    let changed = false;
    for (const [key, t] of this.until) {
      if (t <= nowMs) {
        this.until.delete(key);
        changed = true;
      }
    }
    return changed;
  }

  /** The earliest expiry, or undefined when nothing is ejected. */
  nextExpiry(): number | undefined {
    let min: number | undefined;
    for (const t of this.until.values()) if (min === undefined || t < min) min = t;
    return min;
  }

  /** `model` with ejected backends at weight 0 (the same object when nothing applies). */
  apply(model: ServiceModel, nowMs: number): ServiceModel {
    if (this.until.size === 0) return model;
    let touched = false;
    const servicePorts = model.servicePorts.map((sp) => {
      const next = this.applyToPort(sp, nowMs);
      if (next !== sp) touched = true;
      return next;
    });
    return touched ? { ...model, servicePorts } : model;
  }

  private applyToPort(sp: ModelServicePort, nowMs: number): ModelServicePort {
    let hit = false;
    for (const b of sp.backends) if (b.weight > 0 && this.isEjected(backendKey(b), nowMs)) hit = true;
    if (!hit) return sp;
    // Keep at least one usable backend in each set (cluster and external) the port serves from.
    const usable = (b: ModelBackend, set: 'cluster' | 'external'): boolean => b[set] && b.weight > 0;
    const survivors = (set: 'cluster' | 'external'): number =>
      sp.backends.filter((b) => usable(b, set) && !this.isEjected(backendKey(b), nowMs)).length;
    const keepCluster = survivors('cluster') === 0;
    const keepExternal = survivors('external') === 0;
    const backends = sp.backends.map((b) => {
      if (b.weight === 0 || !this.isEjected(backendKey(b), nowMs)) return b;
      if ((keepCluster && b.cluster) || (keepExternal && b.external)) return b;
      return { ...b, weight: 0 };
    });
    return { ...sp, backends };
  }
}

/**
 * The backend to retry on after `failed` did not answer: the next usable backend of the same set
 * in engine order (as kube-proxy's userspace proxier tried the next endpoint), skipping those
 * already tried and, while others remain, those ejected. Returns -1 when none is left.
 */
export function nextBackend(
  sp: ModelServicePort,
  external: boolean,
  failed: number,
  tried: ReadonlySet<number>,
  ejections: BackendEjections,
  nowMs: number,
): number {
  const n = sp.backends.length;
  let fallback = -1;
  for (let step = 1; step <= n; step++) {
    const i = (failed + step) % n;
    if (tried.has(i)) continue;
    const b = sp.backends[i]!;
    if (!(external ? b.external : b.cluster)) continue;
    if (b.weight === 0 || ejections.isEjected(backendKey(b), nowMs)) {
      if (fallback < 0) fallback = i;
      continue;
    }
    return i;
  }
  return fallback;
}
