/** `vipwasm rules --watch`: each applier's syncs reported to kube-proxy's metrics (host/metrics). */
import { type IPFamilyLabel, KubeProxyMetrics } from '../../metrics/kube-proxy.js';
import type { TriggerCursor } from '../../metrics/trigger-times.js';
import type { RuleApplier } from './sync-result.js';

export { KubeProxyMetrics, type IPFamilyLabel };

/**
 * `applier`, reporting each sync (and each refused one) to `metrics` under its IP family, and the
 * EndpointSlice trigger times `triggers` reads as network-programming latency once installed.
 */
export function instrumented(applier: RuleApplier, family: IPFamilyLabel, metrics: KubeProxyMetrics, triggers?: TriggerCursor): RuleApplier {
  return {
    mode: applier.mode,
    async sync(model) {
      triggers?.mark();
      try {
        const result = await applier.sync(model);
        metrics.synced(result, family, model);
        if (triggers) metrics.programmed(family, triggers.take());
        return result;
      } catch (err) {
        metrics.failed(applier.mode, family);
        throw err;
      }
    },
    forceFullSync: () => applier.forceFullSync(),
    cleanup: () => applier.cleanup(),
  };
}
