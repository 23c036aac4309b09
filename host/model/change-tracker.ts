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

function fingerprint(sp: ModelServicePort): string {
  return JSON.stringify(sp);
}

export class ServiceChangeTracker {
  private model: ServiceModel = EMPTY;
  private prints = new Map<string, string>();

  /** The last model handed to `update`. */
  get current(): ServiceModel {
    return this.model;
  }

  /** Compare with the previous state; `isEmpty(changes)` tells a no-op update. */
  update(next: ModelResult | ServiceModel): ServiceChanges {
    const model = 'model' in next ? next.model : next;
    const prints = new Map<string, string>();
    for (const sp of model.servicePorts) prints.set(servicePortKey(sp), fingerprint(sp));
    const added: string[] = [];
    const updated: string[] = [];
    const removed: string[] = [];
    for (const [k, f] of prints) {
      const old = this.prints.get(k);
      if (old === undefined) added.push(k);
      else if (old !== f) updated.push(k);
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
