/**
 * A deliberately simple EngineApi in plain TypeScript (rr with weights-0 skipped, flows, ClientIP
 * affinity, Reject/Drop verdicts). Used only to unit-test the forwarder's listener and data-path
 * plumbing in isolation; the end-to-end suites run the real engine.wasm.
 */
import type { Address } from '../../host/engine/address.js';
import { Verdict, Via } from '../../host/engine/api.js';
import type { Decision, EngineApi, EngineStats } from '../../host/engine/api.js';
import type { ServiceModel } from '../../host/engine/model.js';

export class SimpleEngine implements EngineApi {
  model: ServiceModel = { nodeIPs: [], servicePorts: [] };
  private rr: number[] = [];
  private readonly flows = new Map<string, { sp: number; b: number; active: boolean }>();
  private readonly affinity = new Map<string, { b: number; at: number }>();
  private readonly d: Decision = { verdict: Verdict.Pass, via: Via.None, servicePortIndex: -1, backendIndex: -1, servicePort: null, backend: null, detail: -1 };
  loads = 0;

  load(model: ServiceModel): void {
    this.model = model;
    this.rr = model.servicePorts.map(() => -1);
    this.loads++;
  }
  loadSnapshot(_bytes: Uint8Array, model: ServiceModel): void {
    this.load(model);
  }

  private match(protocol: number, dst: Address, dstPort: number): { sp: number; external: boolean } {
    const proto = protocol === 6 ? 'TCP' : protocol === 17 ? 'UDP' : 'SCTP';
    const m = this.model;
    for (let i = 0; i < m.servicePorts.length; i++) {
      const sp = m.servicePorts[i]!;
      if (sp.protocol !== proto) continue;
      if (sp.port === dstPort && sp.clusterIPs.includes(dst.text)) return { sp: i, external: false };
      if (sp.port === dstPort && (sp.externalIPs.includes(dst.text) || sp.loadBalancerIPs.includes(dst.text))) return { sp: i, external: true };
      if (sp.nodePort === dstPort && m.nodeIPs.includes(dst.text)) return { sp: i, external: true };
    }
    return { sp: -1, external: false };
  }

  private set(verdict: Verdict, via: Via, sp: number, b: number): Decision {
    const d = this.d;
    d.verdict = verdict;
    d.via = via;
    d.servicePortIndex = sp;
    d.backendIndex = b;
    d.servicePort = sp >= 0 ? this.model.servicePorts[sp]! : null;
    d.backend = sp >= 0 && b >= 0 ? d.servicePort!.backends[b]! : null;
    return d;
  }

  connect(protocol: number, src: Address, srcPort: number, dst: Address, dstPort: number, nowMs: number): Decision {
    const { sp, external } = this.match(protocol, dst, dstPort);
    if (sp < 0) return this.set(Verdict.Pass, Via.None, -1, -1);
    const key = `${protocol}|${src.text}|${srcPort}|${dst.text}|${dstPort}`;
    const f = this.flows.get(key);
    if (f && f.sp === sp) return this.set(Verdict.Backend, Via.Flow, sp, f.b);
    const port = this.model.servicePorts[sp]!;
    if (!port.hasEndpoints) return this.set(Verdict.Reject, Via.None, sp, -1);
    const usable = port.backends.map((b, i) => ((external ? b.external : b.cluster) && b.weight > 0 ? i : -1)).filter((i) => i >= 0);
    if (usable.length === 0) return this.set(Verdict.Drop, Via.None, sp, -1);
    const akey = `${sp}|${src.text}`;
    const a = this.affinity.get(akey);
    if (port.sessionAffinity === 'ClientIP' && a && nowMs - a.at < port.affinityTimeoutSeconds * 1000 && usable.includes(a.b)) {
      a.at = nowMs;
      this.flows.set(key, { sp, b: a.b, active: true });
      return this.set(Verdict.Backend, Via.Affinity, sp, a.b);
    }
    const next = usable.find((i) => i > this.rr[sp]!) ?? usable[0]!;
    this.rr[sp] = next;
    this.flows.set(key, { sp, b: next, active: true });
    if (port.sessionAffinity === 'ClientIP') this.affinity.set(akey, { b: next, at: nowMs });
    return this.set(Verdict.Backend, Via.Scheduler, sp, next);
  }
  established(): boolean {
    return true;
  }
  close(protocol: number, src: Address, srcPort: number, dst: Address, dstPort: number): boolean {
    return this.flows.delete(`${protocol}|${src.text}|${srcPort}|${dst.text}|${dstPort}`);
  }
  lookup(protocol: number, src: Address, srcPort: number, dst: Address, dstPort: number): Decision {
    const f = this.flows.get(`${protocol}|${src.text}|${srcPort}|${dst.text}|${dstPort}`);
    return f ? this.set(Verdict.Backend, Via.Flow, f.sp, f.b) : this.set(Verdict.Pass, Via.None, -1, -1);
  }
  expire(): number {
    return 0;
  }
  counters(i: number): { active: number; inactive: number }[] {
    return (this.model.servicePorts[i]?.backends ?? []).map(() => ({ active: 0, inactive: 0 }));
  }
  stats(): EngineStats {
    return {
      generation: this.loads, servicePorts: this.model.servicePorts.length, backends: 0, flows: this.flows.size, flowCapacity: 0,
      affinities: this.affinity.size, affinityCapacity: 0, flowEvictions: 0, affinityEvictions: 0, flowExpirations: 0,
      affinityExpirations: 0, flowsDroppedOnSwap: 0, memoryBytes: 0,
    };
  }
}
