/**
 * The reference engine: EngineApi's behaviour (host/engine/api.ts) written the obvious way, on
 * top of the reference schedulers and Map-based tables. The differential tests drive it and
 * engine.wasm with the same calls and compare every answer.
 *
 * Rules it follows (issue 2, DESIGN.md, reference/ipvs-schedulers.md):
 * - Match (protocol, destination, port): clusterIPs → the cluster pool; externalIPs, LB ingress
 *   IPs and nodeIPs:nodePort → the external pool. The first service port in model order wins.
 *   LB ingress traffic from outside loadBalancerSourceRanges → Drop. Empty pool → Drop when the
 *   port has endpoints somewhere (hasEndpoints), else Reject.
 * - A pool is the port's backends with the `cluster` (or `external`) flag, in model order, which
 *   is the kernel's head-first list. Ports whose two pools hold the same backends share one.
 * - connect: an existing flow wins (via Flow, refreshed), then a live ClientIP affinity entry
 *   whose backend is still in the pool (via Affinity, refreshed), then the scheduler. The
 *   scheduler sees the counters before the new connection is counted. No server → Reject.
 *   A TCP/SCTP connection counts as active at once (the SYN moves IPVS to SYN_RECV); UDP as inactive.
 * - Timeouts: active TCP `tcp`, closed TCP `tcpFin`, UDP `udp`; every use re-arms now + timeout.
 * - load: counters and mh's last non-zero weight carry over per (service port, backend);
 *   each pool is rebuilt as the exporter builds an ipvs service (created empty, servers added tail
 *   first, so wrr starts in the build-order phase of §9.2); flows and affinity entries whose
 *   backend left both pools of its service port are dropped, releasing their counters.
 */
import { cidrContains, type Address } from '../../host/engine/address.js';
import { Verdict, Via } from '../../host/engine/api.js';
import { backendKey, PROTOCOL_NUMBER, servicePortKey, type ModelServicePort, type ServiceModel } from '../../host/engine/model.js';
import type { RefDest } from './dest.js';
import { affinityKey, BoundedTable, flowKey, IPVS_TIMEOUTS, type RefAffinity, type RefFlow, type Timeouts } from './tables.js';
import { createScheduler, newDest, RefVirtualService } from './virtual-service.js';

export interface RefDecision {
  verdict: Verdict;
  via: Via;
  servicePortIndex: number;
  backendIndex: number;
  detail: number;
}

interface RefServicePort {
  readonly sp: ModelServicePort;
  readonly index: number;
  readonly key: string;
  /** Backend id → server (counters live here) and → index in sp.backends. */
  readonly dests: Map<string, RefDest>;
  readonly indexOf: Map<string, number>;
  readonly cluster: RefVirtualService | null;
  readonly external: RefVirtualService | null;
}

export interface RefEngineOptions {
  flowCapacity?: number;
  affinityCapacity?: number;
  timeouts?: Partial<Timeouts>;
}

const PASS: RefDecision = { verdict: Verdict.Pass, via: Via.None, servicePortIndex: -1, backendIndex: -1, detail: -1 };

export class RefEngine {
  readonly flows: BoundedTable<RefFlow>;
  readonly affinity: BoundedTable<RefAffinity>;
  readonly timeouts: Timeouts;
  model: ServiceModel = { nodeIPs: [], servicePorts: [] };
  generation = 0;
  flowsDroppedOnSwap = 0;
  private ports: RefServicePort[] = [];

  constructor(options: RefEngineOptions = {}) {
    this.flows = new BoundedTable(options.flowCapacity ?? 1 << 20);
    this.affinity = new BoundedTable(options.affinityCapacity ?? 1 << 16);
    this.timeouts = { ...IPVS_TIMEOUTS, ...options.timeouts };
  }

  load(model: ServiceModel): void {
    const previous = new Map(this.ports.map((p) => [p.key, p]));
    this.ports = model.servicePorts.map((sp, index) => this.buildPort(sp, index, previous.get(servicePortKey(sp))));
    this.model = model;
    this.generation++;
    const byKey = new Map(this.ports.map((p) => [p.key, p]));
    for (const [key, flow] of [...this.flows.entries]) {
      const dest = byKey.get(flow.servicePort)?.dests.get(flow.backend);
      // The new server already carries the counts, this flow's included (copied in buildPort).
      if (dest && this.inPool(byKey.get(flow.servicePort)!, flow.backend)) continue;
      this.flows.delete(key);
      this.flowsDroppedOnSwap++;
      if (dest) this.release(dest, flow);
    }
    for (const [key, entry] of [...this.affinity.entries]) {
      const port = byKey.get(entry.servicePort);
      if (!port || !this.inPool(port, entry.backend)) this.affinity.delete(key);
    }
  }

  private buildPort(sp: ModelServicePort, index: number, old: RefServicePort | undefined): RefServicePort {
    if (sp.scheduler === 'random') throw new Error(`reference engine: scheduler "random" is not modelled (${servicePortKey(sp)})`);
    const dests = new Map<string, RefDest>();
    const indexOf = new Map<string, number>();
    sp.backends.forEach((b, i) => {
      const d = newDest({ ip: b.ip, port: b.port, weight: b.weight });
      const before = old?.dests.get(d.id);
      if (before) {
        d.active = before.active;
        d.inactive = before.inactive;
        if (b.weight === 0) d.lastWeight = before.lastWeight;
      }
      dests.set(d.id, d);
      indexOf.set(d.id, i);
    });
    const listOf = (flag: 'cluster' | 'external'): RefDest[] =>
      sp.backends.filter((b) => b[flag]).map((b) => dests.get(backendKey(b))!);
    const clusterList = listOf('cluster');
    const externalList = listOf('external');
    const pool = (list: RefDest[]): RefVirtualService | null =>
      list.length ? RefVirtualService.addedTailFirst(createScheduler(sp.scheduler as never, sp.schedulerFlags), list) : null;
    const cluster = pool(clusterList);
    const same = clusterList.length === externalList.length && clusterList.every((d, i) => d === externalList[i]);
    const external = same ? cluster : pool(externalList);
    return { sp, index, key: servicePortKey(sp), dests, indexOf, cluster, external };
  }

  private inPool(port: RefServicePort, backend: string): boolean {
    const d = port.dests.get(backend);
    return !!d && (!!port.cluster?.list.includes(d) || !!port.external?.list.includes(d));
  }

  private release(dest: RefDest, flow: RefFlow): void {
    if (flow.active) dest.active--;
    else dest.inactive--;
  }

  private match(protocol: number, dst: Address, dstPort: number): { port: RefServicePort; external: boolean; lb: boolean } | null {
    for (const port of this.ports) {
      const sp = port.sp;
      if (PROTOCOL_NUMBER[sp.protocol] !== protocol) continue;
      if (sp.port === dstPort && sp.clusterIPs.includes(dst.text)) return { port, external: false, lb: false };
      if (sp.port === dstPort && sp.externalIPs.includes(dst.text)) return { port, external: true, lb: false };
      if (sp.port === dstPort && sp.loadBalancerIPs.includes(dst.text)) return { port, external: true, lb: true };
      if (sp.nodePort !== 0 && sp.nodePort === dstPort && this.model.nodeIPs.includes(dst.text)) {
        return { port, external: true, lb: false };
      }
    }
    return null;
  }

  private decision(port: RefServicePort, verdict: Verdict, via: Via = Via.None, backend = '', detail = -1): RefDecision {
    const backendIndex = verdict === Verdict.Backend ? port.indexOf.get(backend)! : -1;
    return { verdict, via, servicePortIndex: port.index, backendIndex, detail };
  }

  private flowTimeoutMs(protocol: number, active: boolean): number {
    const t = this.timeouts;
    const s = protocol === 6 ? (active ? t.tcp : t.tcpFin) : protocol === 17 ? t.udp : t.sctp;
    return s * 1000;
  }

  connect(protocol: number, src: Address, srcPort: number, dst: Address, dstPort: number, nowMs: number): RefDecision {
    const m = this.match(protocol, dst, dstPort);
    if (!m) return PASS;
    const { port } = m;
    const sp = port.sp;
    if (m.lb && sp.loadBalancerSourceRanges.length && !sp.loadBalancerSourceRanges.some((r) => cidrContains(r, src.text))) {
      return this.decision(port, Verdict.Drop);
    }
    const pool = m.external ? port.external : port.cluster;
    if (!pool) return this.decision(port, sp.hasEndpoints ? Verdict.Drop : Verdict.Reject);

    const fk = flowKey(protocol, src.text, srcPort, dst.text, dstPort);
    const flow = this.flows.get(fk);
    if (flow) {
      flow.expiresAtMs = nowMs + flow.timeoutMs;
      return this.decision(port, Verdict.Backend, Via.Flow, flow.backend);
    }

    let backend: string | null = null;
    let via: Via = Via.Scheduler;
    let detail = -1;
    const ak = affinityKey(port.key, src.text);
    const pinned = sp.sessionAffinity === 'ClientIP' ? this.affinity.get(ak) : undefined;
    if (pinned && pinned.expiresAtMs > nowMs && pool.list.some((d) => d.id === pinned.backend)) {
      backend = pinned.backend;
      via = Via.Affinity;
    } else {
      const choice = pool.schedule({ client: src, clientPort: srcPort, vip: dst });
      if (!choice.dest) return this.decision(port, Verdict.Reject);
      backend = choice.dest.id;
      detail = choice.detail;
    }
    if (sp.sessionAffinity === 'ClientIP') {
      const timeoutMs = sp.affinityTimeoutSeconds * 1000;
      this.affinity.set(ak, { servicePort: port.key, backend, timeoutMs, expiresAtMs: nowMs + timeoutMs });
    }
    const active = protocol !== 17;
    const dest = port.dests.get(backend)!;
    if (active) dest.active++;
    else dest.inactive++;
    const timeoutMs = this.flowTimeoutMs(protocol, active);
    const evicted = this.flows.set(fk, { servicePort: port.key, backend, protocol, active, timeoutMs, expiresAtMs: nowMs + timeoutMs });
    if (evicted) this.releaseFlow(evicted);
    return this.decision(port, Verdict.Backend, via, backend, detail);
  }

  /** Release an evicted or expired flow's counter, if its server still exists. */
  private releaseFlow(flow: RefFlow): void {
    const dest = this.ports.find((p) => p.key === flow.servicePort)?.dests.get(flow.backend);
    if (dest) this.release(dest, flow);
  }

  established(protocol: number, src: Address, srcPort: number, dst: Address, dstPort: number, nowMs: number): boolean {
    const flow = this.flows.get(flowKey(protocol, src.text, srcPort, dst.text, dstPort));
    if (!flow) return false;
    if (protocol !== 17 && !flow.active) {
      const dest = this.ports.find((p) => p.key === flow.servicePort)!.dests.get(flow.backend)!;
      dest.inactive--;
      dest.active++;
      flow.active = true;
    }
    flow.timeoutMs = this.flowTimeoutMs(protocol, flow.active);
    flow.expiresAtMs = nowMs + flow.timeoutMs;
    return true;
  }

  close(protocol: number, src: Address, srcPort: number, dst: Address, dstPort: number, nowMs: number): boolean {
    const key = flowKey(protocol, src.text, srcPort, dst.text, dstPort);
    const flow = this.flows.get(key);
    if (!flow) return false;
    const dest = this.ports.find((p) => p.key === flow.servicePort)!.dests.get(flow.backend)!;
    if (protocol !== 6) {
      this.flows.delete(key);
      this.release(dest, flow);
      return true;
    }
    if (flow.active) {
      dest.active--;
      dest.inactive++;
      flow.active = false;
    }
    flow.timeoutMs = this.flowTimeoutMs(protocol, false);
    flow.expiresAtMs = nowMs + flow.timeoutMs;
    return true;
  }

  lookup(protocol: number, src: Address, srcPort: number, dst: Address, dstPort: number, nowMs: number): RefDecision {
    const flow = this.flows.get(flowKey(protocol, src.text, srcPort, dst.text, dstPort));
    if (!flow) return PASS;
    flow.expiresAtMs = nowMs + flow.timeoutMs;
    const port = this.ports.find((p) => p.key === flow.servicePort)!;
    return this.decision(port, Verdict.Backend, Via.Flow, flow.backend);
  }

  /** Remove every flow and affinity entry whose idle timeout has run out at `nowMs`. */
  expire(nowMs: number): number {
    let removed = 0;
    for (const [key, flow] of [...this.flows.entries]) {
      if (flow.expiresAtMs > nowMs) continue;
      this.flows.delete(key);
      this.flows.expirations++;
      this.releaseFlow(flow);
      removed++;
    }
    for (const [key, entry] of [...this.affinity.entries]) {
      if (entry.expiresAtMs > nowMs) continue;
      this.affinity.delete(key);
      this.affinity.expirations++;
      removed++;
    }
    return removed;
  }

  counters(servicePortIndex: number): { active: number; inactive: number }[] {
    const port = this.ports[servicePortIndex];
    if (!port) return [];
    return port.sp.backends.map((b) => {
      const d = port.dests.get(backendKey(b))!;
      return { active: d.active, inactive: d.inactive };
    });
  }
}
