/**
 * The API server's refusal of invalid updates, for sources that have no API server in front of
 * them (files). kube-apiserver validates every update and refuses one that fails: the object keeps
 * its previous version and everything built on it keeps working. A manifest file has no such
 * gate, so without this an edit that breaks one field (a port out of range, an unknown protocol)
 * dropped the Service from the model, and the forwarder closed its listeners until the file was
 * fixed (found by the soak, bench/soak.ts, issue 14).
 *
 * Here an object that was accepted before and now fails validation keeps its last accepted version;
 * its errors are still reported, with a warning that the update was refused. An object that never
 * validated stays out, as before. A model is built once when nothing is refused, twice when
 * something is; allocations (ClusterIPs, NodePorts) are saved only from the model that is kept, so
 * a refused update never releases its Service's addresses.
 */
import {
  type AllocationState, type AllocationStore, type Diagnostic, type KubeObject, type ModelOptions, type ModelResult, buildServiceModel,
} from '../model/index.js';
import { flatten } from '../model/build.js';
import { objectRef } from '../model/fields.js';

/** `Kind "ns/name"` and `Kind "name"`: diagnostics name namespaced and cluster-scoped objects so. */
function refsOf(obj: KubeObject): [string, string] {
  return [objectRef(obj, true), objectRef(obj, false)];
}

export class RefusedUpdates {
  /** The last version of each object that built without errors, by its namespaced reference. */
  private readonly accepted = new Map<string, KubeObject>();

  constructor(private readonly options: ModelOptions) {}

  /** Builds the model from `objects`, refusing updates that turn a valid object invalid. */
  build(objects: readonly KubeObject[]): ModelResult {
    const first = this.trial(objects);
    const failing = errorObjects(first.result.diagnostics);
    const refused: Diagnostic[] = [];
    let kept = objects;
    if (failing.size && this.accepted.size) {
      kept = flatten(objects).map((obj) => {
        const [ref, clusterRef] = refsOf(obj);
        const last = this.accepted.get(ref);
        if (!last || !(failing.has(ref) || failing.has(clusterRef)) || JSON.stringify(last) === JSON.stringify(obj)) return obj;
        refused.push({ severity: 'warning', object: failing.has(ref) ? ref : clusterRef, field: '', message: 'update refused: it does not validate; keeping the last valid version, as the API server would' });
        return last;
      });
    }
    let result = first.result;
    if (refused.length) {
      const refusedRefs = new Set(refused.map((d) => d.object));
      result = buildServiceModel(kept, this.options);
      const theirErrors = first.result.diagnostics.filter((d) => refusedRefs.has(d.object));
      result = { ...result, diagnostics: [...result.diagnostics, ...theirErrors, ...refused] };
    } else first.commit();
    this.remember(kept, errorObjects(result.diagnostics, refused));
    return result;
  }

  /** A build whose allocation changes are held back until commit(). */
  private trial(objects: readonly KubeObject[]): { result: ModelResult; commit(): void } {
    const store = this.options.allocationStore;
    if (!store) return { result: buildServiceModel(objects, this.options), commit: () => undefined };
    let held: AllocationState | undefined;
    const holding: AllocationStore = { load: () => store.load(), save: (s) => void (held = s) };
    const result = buildServiceModel(objects, { ...this.options, allocationStore: holding });
    return { result, commit: () => held && store.save(held) };
  }

  /** The objects now in effect that build cleanly become the versions kept for later refusals. */
  private remember(objects: readonly KubeObject[], failing: Set<string>): void {
    const present = new Set<string>();
    for (const obj of flatten(objects)) {
      const [ref, clusterRef] = refsOf(obj);
      present.add(ref);
      if (!failing.has(ref) && !failing.has(clusterRef)) this.accepted.set(ref, obj);
    }
    for (const ref of [...this.accepted.keys()]) if (!present.has(ref)) this.accepted.delete(ref);
  }
}

/** Objects named by error diagnostics, leaving out those whose errors belong to a refused update. */
function errorObjects(diagnostics: readonly Diagnostic[], refused: readonly Diagnostic[] = []): Set<string> {
  const skip = new Set(refused.map((d) => d.object));
  const out = new Set<string>();
  for (const d of diagnostics) if (d.severity === 'error' && !skip.has(d.object)) out.add(d.object);
  return out;
}
