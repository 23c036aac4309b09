/**
 * Per-Service-port memo for the renderers. A sync re-renders every port, but between two syncs almost
 * all are unchanged (KEP-3453's observation), so a port's rendered rules are reused when the port is the
 * same object as last time (a model source that keeps unchanged objects), or failing that has the same
 * content (JSON text) under the same render context. Holds only what the latest render used.
 * Cached values must never be mutated by callers.
 */
import type { ModelServicePort } from '../engine/model.js';

export class PortRenderCache<T> {
  private byObject = new WeakMap<ModelServicePort, { readonly context: string; readonly value: T }>();
  private byText = new Map<string, T>();
  private used = new Map<string, T>();

  /** The cached rendering of `sp` in `context`, or `render()`'s. */
  get(sp: ModelServicePort, context: string, render: () => T): T {
    const hit = this.byObject.get(sp);
    if (hit && hit.context === context) return hit.value;
    const key = `${context}\n${JSON.stringify(sp)}`;
    let value = this.used.get(key) ?? this.byText.get(key);
    if (value === undefined) value = render();
    this.used.set(key, value);
    this.byObject.set(sp, { context, value });
    return value;
  }

  /** Forgets everything (benchmarks measure cold renders with this). */
  clear(): void {
    this.byObject = new WeakMap();
    this.byText = new Map();
    this.used = new Map();
  }

  /** Ends one full render: forgets content entries it did not use. */
  endRender(): void {
    this.byText = this.used;
    this.used = new Map();
  }
}
