/**
 * The filter's Envoy stats, defined through proxy_define_metric. Envoy exposes them under the
 * `wasmcustom.` prefix (e.g. `wasmcustom.vipwasm.decisions`); every VM copy (worker) defines the
 * same names and Envoy's stats store adds them up.
 */
import { defineMetric, incrementMetric, recordMetric } from './abi/hostcalls-state';
import { MetricType } from './abi/types';

export class FilterMetrics {
  /** Ids are valid only after define() (Envoy's first counter id can be 0, so no id is a sentinel). */
  defined: bool = false;
  /** Backend chosen (endpoint header or original_dst_address set). */
  decisions: u32 = 0;
  /** No usable endpoints: 503 / connection closed (kube-proxy's REJECT). */
  rejects: u32 = 0;
  /** Dropped by policy: 403 / connection closed. */
  drops: u32 = 0;
  /** Neither :authority nor the destination names a Service port: 404 / connection closed. */
  unmatched: u32 = 0;
  /** Decisions taken from the ClientIP affinity entry another worker stored in shared data. */
  sharedAffinityHits: u32 = 0;
  /** The serving snapshot generation. */
  generation: u32 = 0;
  snapshotUpdates: u32 = 0;
  snapshotUpdateFailures: u32 = 0;
  /** Per service port decisions, indexed like the serving generation's service ports. */
  perServicePort: StaticArray<u32> = new StaticArray<u32>(0);

  define(): void {
    this.decisions = defineMetric(MetricType.Counter, 'vipwasm.decisions');
    this.rejects = defineMetric(MetricType.Counter, 'vipwasm.rejects');
    this.drops = defineMetric(MetricType.Counter, 'vipwasm.drops');
    this.unmatched = defineMetric(MetricType.Counter, 'vipwasm.unmatched');
    this.sharedAffinityHits = defineMetric(MetricType.Counter, 'vipwasm.shared_affinity_hits');
    this.generation = defineMetric(MetricType.Gauge, 'vipwasm.snapshot.generation');
    this.snapshotUpdates = defineMetric(MetricType.Counter, 'vipwasm.snapshot.updates');
    this.snapshotUpdateFailures = defineMetric(MetricType.Counter, 'vipwasm.snapshot.update_failures');
    this.defined = true;
  }

  /** Defines `vipwasm.service.<ns>.<name>.<port>.decisions` for each service port of a new generation. */
  defineServicePorts(keys: string[]): void {
    if (!this.defined) return;
    const ids = new StaticArray<u32>(keys.length);
    for (let i = 0; i < keys.length; i++) ids[i] = defineMetric(MetricType.Counter, 'vipwasm.service.' + keys[i] + '.decisions');
    this.perServicePort = ids;
  }

  // @ts-ignore: decorator
  @inline count(id: u32): void {
    if (this.defined) incrementMetric(id, 1);
  }

  countServicePort(sp: i32): void {
    if (sp >= 0 && sp < this.perServicePort.length) incrementMetric(unchecked(this.perServicePort[sp]), 1);
  }

  setGeneration(gen: u32): void {
    if (this.defined) recordMetric(this.generation, <u64>gen);
  }
}

export const metrics = new FilterMetrics();
