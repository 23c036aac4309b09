/**
 * Applies nftables mode (node-only). One `nft -f -` transaction per sync, holding only the changes
 * since the last successful sync (kube-proxy's partial sync with nftElementStorage). nft transactions
 * are atomic: a refused one changes nothing. A refused partial sync is retried at once as a full one;
 * when that is refused too, the old rules stay and the error is thrown (the next sync is full again).
 *
 * Noticing that someone deleted our table (`nft flush ruleset`): every partial transaction starts with
 * `add chain <table> services`, which fails when the table is gone, and so triggers the full retry.
 * (Listing anything, even `nft list tables`, makes nft 1.0.6 fetch the whole ruleset: seconds at 10k
 * Services, so there is no listing per sync.)
 */
import type { ServiceModel } from '../../engine/model.js';
import { ruleOptions } from '../options.js';
import { nftSameBase, nftTransactionFull, nftTransactionPartial, renderNftables, type NftRuleset } from '../render-nftables.js';
import { mustRun, ToolError } from './exec.js';
import { clearStaleUdp, FULL_SYNC_PERIOD_MS, type ApplierOptions, type RuleApplier, type SyncResult } from './sync-result.js';

export class NftablesApplier implements RuleApplier {
  readonly mode = 'nftables' as const;
  private installed: NftRuleset | undefined;
  private installedModel: ServiceModel | undefined;
  private needFullSync = true;
  private lastFullSync = 0;
  private readonly family: 4 | 6;
  private readonly table: string;

  constructor(private readonly opts: ApplierOptions) {
    const o = ruleOptions(opts.rules);
    this.family = o.family;
    this.table = `${o.family === 6 ? 'ip6' : 'ip'} ${o.nftTable}`;
  }

  forceFullSync(): void {
    this.needFullSync = true;
  }

  async sync(model: ServiceModel): Promise<SyncResult> {
    const started = performance.now();
    const next = renderNftables(model, this.opts.rules);
    let full =
      this.needFullSync ||
      !this.installed ||
      !nftSameBase(this.installed, next) ||
      performance.now() - this.lastFullSync > (this.opts.fullSyncPeriodMs ?? FULL_SYNC_PERIOD_MS);
    let payload = full ? nftTransactionFull(next) : `add chain ${this.table} services\n${nftTransactionPartial(this.installed!, next)}`;
    try {
      try {
        await mustRun(this.opts.runner, 'nft', ['-f', '-'], payload);
      } catch (err) {
        if (full || !(err instanceof ToolError)) throw err;
        full = true;
        payload = nftTransactionFull(next);
        await mustRun(this.opts.runner, 'nft', ['-f', '-'], payload);
      }
    } catch (err) {
      this.needFullSync = true;
      throw err instanceof ToolError ? new Error(`nftables sync failed (old rules kept, next sync is full): ${err.message}`) : err;
    }
    if (full) {
      this.needFullSync = false;
      this.lastFullSync = performance.now();
    }
    const prevModel = this.installedModel;
    this.installed = next;
    this.installedModel = model;
    const conntrackDeletions = this.opts.conntrackCleanup === false ? 0 : await clearStaleUdp(this.opts.runner, prevModel, model, this.family);
    return { mode: this.mode, full, bytes: payload.length, ms: performance.now() - started, conntrackDeletions };
  }

  /** Deletes our table (and with it every chain, set and map). */
  async cleanup(): Promise<void> {
    await mustRun(this.opts.runner, 'nft', ['-f', '-'], `add table ${this.table}\ndelete table ${this.table}\n`);
    this.installed = undefined;
    this.installedModel = undefined;
    this.needFullSync = true;
  }
}
