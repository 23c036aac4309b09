/**
 * The reference engine: EngineApi's behaviour (host/engine/api.ts) written the obvious way, on
 * top of the reference schedulers and Map-based tables. The differential tests drive it and
 * engine.wasm with the same calls and compare every answer.
 *
 * Rules it follows (issue 2, issue 17, DESIGN.md, reference/ipvs-schedulers.md):
 * - Match (protocol, destination, port): clusterIPs, externalIPs, LB ingress IPs and
 *   nodeIPs:nodePort. Each such address is its own IPVS virtual service (address-services.ts): its
 *   own destination list (the port's backends of the address's family in the cluster set for a
 *   clusterIP, the external set otherwise), scheduler state and per-destination counters, as
 *   kube-proxy's IPVS proxier programs the kernel. The first service port in model order wins.
 *   LB ingress traffic from outside loadBalancerSourceRanges → Drop. Empty list → Drop when the
 *   port has endpoints (hasEndpoints) and one of the destination's family is ready, or serving and
 *   terminating (that family proxier's hasAnyEndpoints), else Reject.
 * - connect: an existing flow wins before any matching (via Flow, refreshed; a closed TCP flow
 *   seeing a new SYN is active again), then a live ClientIP affinity entry of this address (per
 *   virtual service, like the kernel's persistence templates) whose backend is still in the
 *   address's list (via Affinity), then the scheduler; the affinity
 *   entry is then (re)pointed and re-armed. The scheduler sees the counters before the new
 *   connection is counted. No server → Reject (with the scheduler's bucket/slot as detail). A TCP
 *   connection counts as active at once (the SYN moves IPVS to SYN_RECV); UDP and SCTP ones as
 *   inactive until `established`.
 * - Timeouts: active TCP `tcp`, closed TCP `tcpFin`, UDP `udp`, SCTP `sctp`; an entry expires once
 *   now − last use ≥ timeout; a TCP connection is `tcpSyn` (IPVS SYN_RECV, 60 s) until
 *   `established`. A full flow table evicts the entry furthest past its timeout, else the least
 *   recently used `tcpSyn` one, else the least recently used (ties between timeout classes go to
 *   the class listed first in FLOW_CLASSES); a full affinity table does the same among its AFFINITY_EVICT_SCAN least
 *   recently used entries (issue 10).
 * - load: each address's virtual service is synced by replaying the exporter's ipvsadm commands
 *   on the previous one (same scheduler), or built afresh (address-services.ts): list order,
 *   rr/wrr state, tables and last_weight are whatever the kernel's hooks make of those commands.
 *   A flow or affinity entry survives while its backend is still in the list of the address it
 *   belongs to.
 *   Counters are then those of the surviving flows. `counters()` sums a backend's over addresses.
 * - rebind moves a flow to another backend of the same address's list (else false).
 */
import { cidrContains, parseAddress, type Address } from '../../host/engine/address.js';
import { Verdict, Via, type EngineStats } from '../../host/engine/api.js';
import { backendKey, PROTOCOL_NUMBER, servicePortKey, type ModelServicePort, type ServiceModel } from '../../host/engine/model.js';
import type { RefDest } from './dest.js';
import { affinityKey, BoundedTable, FLOW_CLASSES, flowKey, IPVS_TIMEOUTS, isExpired, type FlowClass, type RefAffinity, type RefFlow, type Timeouts } from './tables.js';
import type { RefVirtualService } from './virtual-service.js';
import { syncServices, vsKey } from './address-services.js';
import { XorShift32 } from './random.js';

export interface RefDecision {
  verdict: Verdict;
  via: Via;
  servicePortIndex: number;
  backendIndex: number;
  detail: number;
}

export type RefStats = Pick<
  EngineStats,
  'generation' | 'servicePorts' | 'flows' | 'affinities' | 'flowEvictions' | 'affinityEvictions' | 'flowExpirations' | 'affinityExpirations' | 'flowsDroppedOnSwap'
>;

interface RefServicePort {
  readonly sp: ModelServicePort;
  readonly index: number;
  readonly key: string;
  /** Backend id → index in sp.backends. */
  readonly indexOf: Map<string, number>;
  /** One virtual service per address (vsKey), each with its own servers and counters. */
  readonly vss: Map<string, RefVirtualService>;
  /** Per family: an empty pool answers Drop (true) or Reject (false). */
  readonly hasEndpoints: Readonly<Record<Family, boolean>>;
}

type Family = 4 | 6;

/** The family the engine sees (parseAddress: IPv4-mapped IPv6 counts as IPv4). */
function familyOf(ip: string): Family {
  return parseAddress(ip).family;
}

export interface RefEngineOptions {
  flowCapacity?: number;
  affinityCapacity?: number;
  /** Seed of the `random` scheduler's generator (EngineOptions.seed). Default 1. */
  seed?: number;
  timeouts?: Partial<Timeouts>;
}

/** A service port's identity across generations: `ns/name:portName/protocol`. */
function identity(sp: ModelServicePort): string {
  return `${servicePortKey(sp)}/${sp.protocol}`;
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
  private readonly rng: XorShift32;

  constructor(options: RefEngineOptions = {}) {
    this.rng = new XorShift32(options.seed ?? 1);
    this.flows = new BoundedTable<RefFlow>(options.flowCapacity ?? 1 << 20, (f, now) => {
      const over = now - f.lastUsedMs - this.timeoutMs(f.cls);
      const cls = FLOW_CLASSES.indexOf(f.cls);
      if (over >= 0) return [0, -over, cls];
      return f.cls === 'tcpSyn' ? [1, f.lastUsedMs, cls] : [2, f.lastUsedMs, cls];
    }, (f) => f.cls);
    this.affinity = new BoundedTable<RefAffinity>(options.affinityCapacity ?? 1 << 16, (a, now) =>
      now - a.lastUsedMs >= a.timeoutMs ? [0, -(now - a.lastUsedMs - a.timeoutMs)] : [1],
    );
    this.timeouts = { ...IPVS_TIMEOUTS, ...options.timeouts };
  }

  load(model: ServiceModel): void {
    const previous = new Map(this.ports.map((p) => [p.key, p]));
    this.ports = model.servicePorts.map((sp, index) => this.buildPort(sp, index, model.nodeIPs, previous.get(identity(sp))));
    this.model = model;
    this.generation++;
    const byKey = new Map(this.ports.map((p) => [p.key, p]));
    for (const [key, flow] of [...this.flows.entries]) {
      const dest = byKey.get(flow.servicePort)?.vss.get(flow.vs)?.list.find((d) => d.id === flow.backend);
      if (dest) {
        if (flow.active) dest.active++;
        else dest.inactive++;
        continue;
      }
      this.flows.delete(key);
      this.flowsDroppedOnSwap++;
    }
    for (const [key, entry] of [...this.affinity.entries]) {
      const kept = byKey.get(entry.servicePort)?.vss.get(entry.vs)?.list.some((d) => d.id === entry.backend);
      if (!kept) this.affinity.delete(key);
    }
  }

  private buildPort(sp: ModelServicePort, index: number, nodeIPs: readonly string[], old: RefServicePort | undefined): RefServicePort {
    const indexOf = new Map(sp.backends.map((b, i) => [backendKey(b), i]));
    const vss = syncServices(sp, nodeIPs, old, this.rng);
    const familyHasEndpoints = (family: Family): boolean =>
      sp.hasEndpoints && sp.backends.some((b) => familyOf(b.ip) === family && (b.ready || (b.serving && b.terminating)));
    const hasEndpoints = { 4: familyHasEndpoints(4), 6: familyHasEndpoints(6) };
    return { sp, index, key: identity(sp), indexOf, vss, hasEndpoints };
  }

  private match(protocol: number, dst: Address, dstPort: number): { port: RefServicePort; vs: string; lb: boolean } | null {
    const vs = vsKey(dst.text, dstPort);
    for (const port of this.ports) {
      const sp = port.sp;
      if (PROTOCOL_NUMBER[sp.protocol] !== protocol) continue;
      const lb = sp.port === dstPort && !sp.clusterIPs.includes(dst.text) && !sp.externalIPs.includes(dst.text) && sp.loadBalancerIPs.includes(dst.text);
      if (port.vss.has(vs)) return { port, vs, lb };
    }
    return null;
  }

  private decision(port: RefServicePort, verdict: Verdict, via: Via = Via.None, backend = '', detail = -1): RefDecision {
    const backendIndex = verdict === Verdict.Backend ? port.indexOf.get(backend)! : -1;
    return { verdict, via, servicePortIndex: port.index, backendIndex, detail };
  }

  private timeoutMs(cls: FlowClass): number {
    return this.timeouts[cls] * 1000;
  }

  private portOf(flow: RefFlow): RefServicePort {
    return this.ports.find((p) => p.key === flow.servicePort)!;
  }

  private destOf(flow: RefFlow): RefDest {
    return this.portOf(flow).vss.get(flow.vs)!.list.find((d) => d.id === flow.backend)!;
  }

  /** Remove a flow and release its counter. */
  private removeFlow(key: string, flow: RefFlow): void {
    this.flows.delete(key);
    this.release(flow);
  }

  private release(flow: RefFlow): void {
    const dest = this.destOf(flow);
    if (flow.active) dest.active--;
    else dest.inactive--;
  }

  private setActive(flow: RefFlow, active: boolean): void {
    if (flow.active === active) return;
    const dest = this.destOf(flow);
    dest.active += active ? 1 : -1;
    dest.inactive += active ? -1 : 1;
    flow.active = active;
  }

  /** The flow for this key unless it has expired (an expired one is removed on the way). */
  private liveFlow(key: string, nowMs: number): RefFlow | undefined {
    const flow = this.flows.get(key);
    if (flow && isExpired(flow.lastUsedMs, this.timeoutMs(flow.cls), nowMs)) {
      this.removeFlow(key, flow);
      this.flows.expirations++;
      return undefined;
    }
    return flow;
  }

  connect(protocol: number, src: Address, srcPort: number, dst: Address, dstPort: number, nowMs: number): RefDecision {
    const fk = flowKey(protocol, src.text, srcPort, dst.text, dstPort);
    const flow = this.liveFlow(fk, nowMs);
    if (flow) {
      if (protocol === 6 && !flow.active) {
        this.setActive(flow, true);
        flow.cls = 'tcpSyn';
      }
      this.flows.touch(fk, nowMs);
      return this.decision(this.portOf(flow), Verdict.Backend, Via.Flow, flow.backend);
    }
    const m = this.match(protocol, dst, dstPort);
    if (!m) return PASS;
    const { port } = m;
    const sp = port.sp;
    if (m.lb && sp.loadBalancerSourceRanges.length && !sp.loadBalancerSourceRanges.some((r) => cidrContains(r, src.text))) {
      return this.decision(port, Verdict.Drop);
    }
    const pool = port.vss.get(m.vs)!;
    if (!pool.list.length) return this.decision(port, port.hasEndpoints[dst.family] ? Verdict.Drop : Verdict.Reject);

    let backend: string | null = null;
    let via: Via = Via.Scheduler;
    let detail = -1;
    const ak = affinityKey(port.key, m.vs, src.text);
    const withAffinity = sp.sessionAffinity === 'ClientIP';
    let pinned = withAffinity ? this.affinity.get(ak) : undefined;
    if (pinned && isExpired(pinned.lastUsedMs, pinned.timeoutMs, nowMs)) {
      this.affinity.delete(ak);
      this.affinity.expirations++;
      pinned = undefined;
    }
    if (pinned && pool.list.some((d) => d.id === pinned.backend)) {
      backend = pinned.backend;
      via = Via.Affinity;
    } else {
      const choice = pool.schedule({ client: src, clientPort: srcPort, vip: dst });
      detail = choice.detail;
      if (!choice.dest) return this.decision(port, Verdict.Reject, Via.None, '', detail);
      backend = choice.dest.id;
    }
    if (withAffinity) {
      if (pinned) {
        this.affinity.entries.set(ak, { ...pinned, backend });
        this.affinity.touch(ak, nowMs);
      } else {
        const timeoutMs = sp.affinityTimeoutSeconds * 1000;
        const evicted = this.affinity.insert(ak, { servicePort: port.key, vs: m.vs, backend, timeoutMs, lastUsedMs: nowMs }, nowMs);
        if (evicted && isExpired(evicted[1].lastUsedMs, evicted[1].timeoutMs, nowMs)) this.affinity.expirations++;
        else if (evicted) this.affinity.evictions++;
      }
    }
    const active = protocol === 6;
    const cls: FlowClass = protocol === 6 ? 'tcpSyn' : protocol === 17 ? 'udp' : 'sctp';
    const evicted = this.flows.insert(fk, { servicePort: port.key, backend, protocol, vs: m.vs, active, cls, lastUsedMs: nowMs, queuedMs: nowMs }, nowMs);
    if (evicted) {
      // A victim that had already run out counts as an expiration, not an eviction.
      if (isExpired(evicted[1].lastUsedMs, this.timeoutMs(evicted[1].cls), nowMs)) this.flows.expirations++;
      else this.flows.evictions++;
      this.release(evicted[1]);
    }
    const dest = pool.list.find((d) => d.id === backend)!;
    if (active) dest.active++;
    else dest.inactive++;
    return this.decision(port, Verdict.Backend, via, backend, detail);
  }

  established(protocol: number, src: Address, srcPort: number, dst: Address, dstPort: number, nowMs: number): boolean {
    const key = flowKey(protocol, src.text, srcPort, dst.text, dstPort);
    const flow = this.liveFlow(key, nowMs);
    if (!flow) return false;
    if (protocol !== 17) this.setActive(flow, true);
    flow.cls = protocol === 6 ? 'tcp' : protocol === 17 ? 'udp' : 'sctp';
    this.flows.touch(key, nowMs);
    return true;
  }

  close(protocol: number, src: Address, srcPort: number, dst: Address, dstPort: number, nowMs: number): boolean {
    const key = flowKey(protocol, src.text, srcPort, dst.text, dstPort);
    const flow = this.liveFlow(key, nowMs);
    if (!flow) return false;
    if (protocol !== 6) {
      this.removeFlow(key, flow);
      return true;
    }
    this.setActive(flow, false);
    flow.cls = 'tcpFin';
    this.flows.touch(key, nowMs);
    return true;
  }

  /** The host connected the flow to backend `k` of its service port instead: flow, counter and the client's affinity follow. */
  rebind(protocol: number, src: Address, srcPort: number, dst: Address, dstPort: number, k: number, nowMs: number): boolean {
    const key = flowKey(protocol, src.text, srcPort, dst.text, dstPort);
    const flow = this.liveFlow(key, nowMs);
    if (!flow) return false;
    const port = this.portOf(flow);
    const target = port.sp.backends[k];
    if (!target) return false;
    const moved = backendKey(target);
    if (!port.vss.get(flow.vs)!.list.some((d) => d.id === moved)) return false;
    this.flows.touch(key, nowMs);
    const old = flow.backend;
    if (moved === old) return true;
    this.release(flow);
    flow.backend = moved;
    const dest = this.destOf(flow);
    if (flow.active) dest.active++;
    else dest.inactive++;
    const ak = affinityKey(port.key, flow.vs, src.text);
    const pinned = port.sp.sessionAffinity === 'ClientIP' ? this.affinity.get(ak) : undefined;
    if (pinned?.backend === old) this.affinity.entries.set(ak, { ...pinned, backend: moved });
    return true;
  }

  lookup(protocol: number, src: Address, srcPort: number, dst: Address, dstPort: number, nowMs: number): RefDecision {
    const key = flowKey(protocol, src.text, srcPort, dst.text, dstPort);
    const flow = this.liveFlow(key, nowMs);
    if (!flow) return PASS;
    this.flows.touch(key, nowMs, true);
    return this.decision(this.portOf(flow), Verdict.Backend, Via.Flow, flow.backend);
  }

  /** Remove every flow and affinity entry whose idle timeout has run out at `nowMs`. */
  expire(nowMs: number): number {
    let removed = 0;
    for (const [key, flow] of [...this.flows.entries]) {
      if (!isExpired(flow.lastUsedMs, this.timeoutMs(flow.cls), nowMs)) continue;
      this.removeFlow(key, flow);
      this.flows.expirations++;
      removed++;
    }
    for (const [key, entry] of [...this.affinity.entries]) {
      if (!isExpired(entry.lastUsedMs, entry.timeoutMs, nowMs)) continue;
      this.affinity.delete(key);
      this.affinity.expirations++;
      removed++;
    }
    return removed;
  }

  /** The EngineStats fields that describe the tables. */
  stats(): RefStats {
    return {
      generation: this.generation,
      servicePorts: this.ports.length,
      flows: this.flows.size,
      affinities: this.affinity.size,
      flowEvictions: this.flows.evictions,
      affinityEvictions: this.affinity.evictions,
      flowExpirations: this.flows.expirations,
      affinityExpirations: this.affinity.expirations,
      flowsDroppedOnSwap: this.flowsDroppedOnSwap,
    };
  }

  counters(servicePortIndex: number): { active: number; inactive: number }[] {
    const port = this.ports[servicePortIndex];
    if (!port) return [];
    return port.sp.backends.map((b) => {
      const id = backendKey(b);
      let active = 0;
      let inactive = 0;
      for (const svc of port.vss.values()) {
        const d = svc.list.find((x) => x.id === id);
        active += d?.active ?? 0;
        inactive += d?.inactive ?? 0;
      }
      return { active, inactive };
    });
  }
}
