/**
 * ServiceChangeTracker, after kube-proxy's servicechangetracker.go: keep the previous state,
 * compare each new one with it per service port, drop no-op updates, and hand every consumer
 * (engine snapshot, rule exporter, forwarder) one list of what changed.
 */
import { type ModelServicePort, type ServiceModel, servicePortKey } from '../engine/model.js';
import type { ModelResult } from './types.js';

export interface ServiceChanges {
  /** Every changed service port key (`ns/name:port`), sorted: added ∪ updated ∪ removed. */
  readonly changed: readonly string[];
  readonly added: readonly string[];
  readonly updated: readonly string[];
  readonly removed: readonly string[];
  /** The node's addresses changed: NodePort frontends of every port are affected. */
  readonly nodeIPsChanged: boolean;
  /** The Service CIDRs changed (a ServiceCIDR added, deleted or edited): nftables' cluster-ips-check is affected. */
  readonly serviceCIDRsChanged: boolean;
  readonly previous: ServiceModel;
  readonly current: ServiceModel;
}

const EMPTY: ServiceModel = { nodeIPs: [], servicePorts: [] };

/** A service port and its fingerprint (its JSON), as the last update saw it. */
interface Print {
  readonly sp: ModelServicePort;
  readonly print: string;
}

export class ServiceChangeTracker {
  private model: ServiceModel = EMPTY;
  private prints = new Map<string, Print>();

  /** The last model handed to `update`. */
  get current(): ServiceModel {
    return this.model;
  }

  /**
   * Compare with the previous state; `isEmpty(changes)` tells a no-op update. A service port that
   * is the very object the last update held under its key keeps its fingerprint without being
   * serialized again: the forwarder's ejection reloads (host/forwarder/backend-ejection.ts) pass
   * every untouched service port through as is, so such an update serializes only the touched
   * ones. Precondition: service ports are not mutated in place (the model's types are readonly).
   */
  update(next: ModelResult | ServiceModel): ServiceChanges {
    const model = 'model' in next ? next.model : next;
    const prints = new Map<string, Print>();
    for (const sp of model.servicePorts) {
      const key = servicePortKey(sp);
      const old = this.prints.get(key);
      prints.set(key, old !== undefined && old.sp === sp ? old : { sp, print: JSON.stringify(sp) });
    }
    const added: string[] = [];
    const updated: string[] = [];
    const removed: string[] = [];
    for (const [k, f] of prints) {
      const old = this.prints.get(k);
      if (old === undefined) added.push(k);
      else if (old.print !== f.print) updated.push(k);
    }
    for (const k of this.prints.keys()) if (!prints.has(k)) removed.push(k);
    const nodeIPsChanged = JSON.stringify(model.nodeIPs) !== JSON.stringify(this.model.nodeIPs);
    const serviceCIDRsChanged = JSON.stringify(model.serviceCIDRs ?? []) !== JSON.stringify(this.model.serviceCIDRs ?? []);
    const previous = this.model;
    this.model = model;
    this.prints = prints;
    const sort = (l: string[]): string[] => l.sort();
    return {
      changed: sort([...added, ...updated, ...removed]), added: sort(added), updated: sort(updated), removed: sort(removed),
      nodeIPsChanged, serviceCIDRsChanged, previous, current: model,
    };
  }
}

export function isEmpty(c: ServiceChanges): boolean {
  return c.changed.length === 0 && !c.nodeIPsChanged && !c.serviceCIDRsChanged;
}
