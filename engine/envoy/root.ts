/**
 * Root (plugin) contexts: one per vipwasm filter configuration in this VM. Every root of a VM
 * shares the one engine (one snapshot generation, one flow and affinity table), so give all
 * vipwasm filters that share a `vm_id` the same snapshot source; each root keeps its own naming
 * and header settings and its own snapshot poller.
 */
import { FilterConfig } from './config';

export class Root {
  /** The response header map for local replies, serialized once. */
  replyHeaders: ArrayBuffer = new ArrayBuffer(0);
  header: ArrayBuffer = new ArrayBuffer(0);
  domain: ArrayBuffer = new ArrayBuffer(0);
  namespace: ArrayBuffer = new ArrayBuffer(0);
  /** Id of the snapshot request in flight, -1 when none. */
  pendingCall: i64 = -1;
  /** ETag of the snapshot serving now (the endpoint's version), for If-None-Match. */
  etag: string = '';
  constructor(public id: u32, public cfg: FilterConfig) {
    this.header = String.UTF8.encode(cfg.header);
    this.domain = String.UTF8.encode(cfg.clusterDomain);
    this.namespace = String.UTF8.encode(cfg.namespace);
  }
}

export const roots = new Map<u32, Root>();

export function rootOf(id: u32): Root | null {
  return roots.has(id) ? roots.get(id) : null;
}
