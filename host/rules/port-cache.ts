/**
 * Per-Service-port memo for the renderers. A sync re-renders every port, but between two syncs almost
 * all are unchanged (KEP-3453's observation), so a port's rendered rules are reused when the port is the
 * same object as last time (a model source that keeps unchanged objects), or failing that when the
 * previous render had a port with the same identity (ns/name:port, protocol) and equal content under
 * the same render context. Holds only what the latest render used. Cached values must never be
 * mutated by callers.
 *
 * Content is compared structurally, and only for ports that missed by object: a cold render or a
 * render where most objects are kept serialises nothing (JSON keys for every port cost ~0.2 s at 10k).
 */
import type { ModelServicePort } from '../engine/model.js';

interface Entry<T> {
  readonly sp: ModelServicePort;
  readonly context: string;
  readonly value: T;
}

export class PortRenderCache<T> {
  private byObject = new WeakMap<ModelServicePort, { readonly context: string; readonly value: T }>();
  /** What the previous render used, in order; indexed by identity on the first object miss. */
  private previous: Entry<T>[] = [];
  private previousIndex: Map<string, Entry<T>> | undefined;
  private current: Entry<T>[] = [];

  /** The cached rendering of `sp` in `context`, or `render()`'s. */
  get(sp: ModelServicePort, context: string, render: () => T): T {
    const hit = this.byObject.get(sp);
    if (hit && hit.context === context) {
      this.current.push({ sp, context, value: hit.value });
      return hit.value;
    }
    const before = this.previous.length ? this.indexPrevious().get(identity(sp)) : undefined;
    const value = before && before.context === context && sameContent(before.sp, sp) ? before.value : render();
    this.byObject.set(sp, { context, value });
    this.current.push({ sp, context, value });
    return value;
  }

  private indexPrevious(): Map<string, Entry<T>> {
    if (!this.previousIndex) {
      this.previousIndex = new Map();
      for (const e of this.previous) this.previousIndex.set(identity(e.sp), e);
    }
    return this.previousIndex;
  }

  /** Forgets everything (benchmarks measure cold renders with this). */
  clear(): void {
    this.byObject = new WeakMap();
    this.previous = [];
    this.previousIndex = undefined;
    this.current = [];
  }

  /** Ends one full render: forgets entries it did not use. */
  endRender(): void {
    this.previous = this.current;
    this.previousIndex = undefined;
    this.current = [];
  }
}

function identity(sp: ModelServicePort): string {
  return `${sp.namespace}/${sp.name}:${sp.portName}/${sp.protocol}`;
}

/** Structural equality of JSON-like values (what the model holds: primitives, arrays, plain objects). */
export function sameContent(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameContent(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  for (const k of ka) {
    if (!Object.prototype.hasOwnProperty.call(b, k) || !sameContent((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])) return false;
  }
  return true;
}
