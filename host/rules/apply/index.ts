/** The appliers (node-only): install rendered rules in the kernel. */
export { IptablesApplier } from './iptables.js';
export { NftablesApplier } from './nftables.js';
export { IpvsApplier, ipvsUnavailableReason } from './ipvs.js';
export { SyncLoop, type SyncLoopOptions } from './sync-loop.js';
export { KubeProxyMetrics, instrumented, type IPFamilyLabel } from './metrics.js';
export { localRunner, mustRun, ToolError, type Runner, type ExecResult } from './exec.js';
export type { ApplierOptions, RuleApplier, RuleMode, SyncResult } from './sync-result.js';
import type { ApplierOptions, RuleApplier, RuleMode } from './sync-result.js';
import { IptablesApplier } from './iptables.js';
import { NftablesApplier } from './nftables.js';
import { IpvsApplier } from './ipvs.js';

export function createApplier(mode: RuleMode, opts: ApplierOptions): RuleApplier {
  return mode === 'iptables' ? new IptablesApplier(opts) : mode === 'nftables' ? new NftablesApplier(opts) : new IpvsApplier(opts);
}
