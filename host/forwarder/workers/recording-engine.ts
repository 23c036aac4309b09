/**
 * A worker's engine as its data path sees it: every call goes to the engine, and each flow the
 * worker opens (`connect` → Backend) or ends (`close`) is also written to the worker's shared
 * FlowRegistry, so main can close the flows of a worker that died (flow-registry.ts).
 *
 * A flow is recorded BEFORE its connect (and forgotten again when the connect is refused): a flow
 * another worker left behind when it died may be taken over here by that connect (a UDP client
 * whose datagrams now reach this worker, a TCP client reusing its port), and main, closing the
 * dead worker's flows under the engine lock, must then see it recorded here (closeDeadWorkerFlows).
 */
import type { Address } from '../../engine/address.js';
import { Verdict } from '../../engine/api.js';
import type { Decision, EngineApi, EngineStats, FlowTuple } from '../../engine/api.js';
import type { ServicePortChanges } from '../../engine/delta.js';
import type { ServiceModel } from '../../engine/model.js';
import type { EngineStateView } from '../../engine/state-view.js';
import type { FlowRegistry } from './flow-registry.js';

export class RecordingEngine implements EngineApi {
  constructor(
    private readonly engine: EngineApi,
    private readonly registry: FlowRegistry,
  ) {}

  connect(protocol: number, src: Address, srcPort: number, dst: Address, dstPort: number, nowMs: number): Decision {
    const fresh = this.registry.add(protocol, src, srcPort, dst, dstPort);
    const d = this.engine.connect(protocol, src, srcPort, dst, dstPort, nowMs);
    if (fresh && d.verdict !== Verdict.Backend) this.registry.remove(protocol, src, srcPort, dst, dstPort);
    return d;
  }

  close(protocol: number, src: Address, srcPort: number, dst: Address, dstPort: number, nowMs: number): boolean {
    this.registry.remove(protocol, src, srcPort, dst, dstPort);
    return this.engine.close(protocol, src, srcPort, dst, dstPort, nowMs);
  }

  connectMany(tuples: readonly FlowTuple[], nowMs: number): readonly Decision[] {
    const fresh = tuples.map((t) => this.registry.add(t.protocol, t.src, t.srcPort, t.dst, t.dstPort));
    const out = this.engine.connectMany(tuples, nowMs);
    for (let i = 0; i < tuples.length; i++) {
      const t = tuples[i]!;
      if (fresh[i] && out[i]!.verdict !== Verdict.Backend) this.registry.remove(t.protocol, t.src, t.srcPort, t.dst, t.dstPort);
    }
    return out;
  }

  get model(): ServiceModel {
    return this.engine.model;
  }

  established(protocol: number, src: Address, srcPort: number, dst: Address, dstPort: number, nowMs: number): boolean {
    return this.engine.established(protocol, src, srcPort, dst, dstPort, nowMs);
  }

  rebind(protocol: number, src: Address, srcPort: number, dst: Address, dstPort: number, backendIndex: number, nowMs: number): boolean {
    return this.engine.rebind(protocol, src, srcPort, dst, dstPort, backendIndex, nowMs);
  }

  lookup(protocol: number, src: Address, srcPort: number, dst: Address, dstPort: number, nowMs: number): Decision {
    return this.engine.lookup(protocol, src, srcPort, dst, dstPort, nowMs);
  }

  lookupMany(tuples: readonly FlowTuple[], nowMs: number): readonly Decision[] {
    return this.engine.lookupMany(tuples, nowMs);
  }

  load(model: ServiceModel): void {
    this.engine.load(model);
  }

  loadInSteps(model: ServiceModel, options?: { budget?: number; pause?: () => Promise<void> }): Promise<void> {
    return this.engine.loadInSteps(model, options);
  }

  loadSnapshot(bytes: Uint8Array, model: ServiceModel): void {
    this.engine.loadSnapshot(bytes, model);
  }

  applyChanges(changes: ServicePortChanges): 'delta' | 'full' {
    return this.engine.applyChanges(changes);
  }

  expire(nowMs: number): number {
    return this.engine.expire(nowMs);
  }

  counters(servicePortIndex: number): { active: number; inactive: number }[] {
    return this.engine.counters(servicePortIndex);
  }

  stats(): EngineStats {
    return this.engine.stats();
  }

  stateView(): EngineStateView {
    return this.engine.stateView();
  }
}
