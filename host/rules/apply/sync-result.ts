/** What every data-plane applier reports after a sync. */
import type { ServiceModel } from '../../engine/model.js';
import type { RuleOptions } from '../options.js';
import { staleUdpConntrackDeletions } from '../conntrack.js';
import type { Runner } from './exec.js';

export type RuleMode = 'iptables' | 'nftables' | 'ipvs';

export interface SyncResult {
  readonly mode: RuleMode;
  /** Full sync (everything rewritten) or partial (only what changed). */
  readonly full: boolean;
  /** Bytes of rule text handed to the kernel tool. */
  readonly bytes: number;
  /** Wall time of the whole sync, ms. */
  readonly ms: number;
  /** `conntrack -D` invocations made for stale UDP entries. */
  readonly conntrackDeletions: number;
  /** ipvs: virtual services found changed behind this applier's back (or not its own) and put right. */
  readonly repaired?: number;
}

export interface RuleApplier {
  readonly mode: RuleMode;
  /** Installs the rules for `model`; throws (and schedules a full sync) when the kernel refuses them. */
  sync(model: ServiceModel): Promise<SyncResult>;
  /** The next sync rewrites everything. */
  forceFullSync(): void;
  /** Removes everything this mode installed. */
  cleanup(): Promise<void>;
}

export interface ApplierOptions {
  readonly runner: Runner;
  readonly rules?: Partial<RuleOptions>;
  /** Longest time between full syncs (kube-proxy's FullSyncPeriod, 1 h). */
  readonly fullSyncPeriodMs?: number;
  /**
   * iptables mode: which iptables to run. `default` is whatever `iptables` is (here iptables-nft);
   * `legacy` (x_tables) restores large rulesets far faster than iptables-nft 1.8.9 does.
   */
  readonly iptablesBackend?: 'default' | 'legacy' | 'nft';
  /**
   * iptables mode: check the canary chain (did someone flush the tables?) at most this often; a missing
   * canary forces a full sync. Default 10 s (kube-proxy checks every syncPeriod); 0 = every sync.
   */
  readonly canaryCheckIntervalMs?: number;
  /** Delete stale UDP conntrack entries after each sync (default true). */
  readonly conntrackCleanup?: boolean;
}

export const FULL_SYNC_PERIOD_MS = 60 * 60 * 1000;

/** Runs the stale-UDP `conntrack -D` calls; exit 1 ("0 flow entries deleted") is expected and ignored. */
export async function clearStaleUdp(runner: Runner, prev: ServiceModel | undefined, next: ServiceModel, family: 4 | 6): Promise<number> {
  const deletions = staleUdpConntrackDeletions(prev, next, family);
  for (const args of deletions) await runner.run('conntrack', args);
  return deletions.length;
}
