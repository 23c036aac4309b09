/**
 * Applies iptables mode (node-only). One `iptables-restore --noflush` transaction per sync; partial
 * syncs rewrite only the top-level chains and the chains that changed (KEP-3453); a failed restore
 * leaves the kernel's previous rules in place (the restore is refused as a whole per table) and forces
 * the next sync to be full; a missing canary chain (someone flushed the tables) also forces a full sync.
 */
import type { ServiceModel } from '../../engine/model.js';
import { ruleOptions } from '../options.js';
import {
  CANARY_CHAIN,
  CANARY_TABLES,
  IPTABLES_JUMPS,
  iptablesRestoreFull,
  iptablesRestorePartial,
  jumpArgs,
  renderIptables,
  type IptablesRuleset,
} from '../render-iptables.js';
import { mustRun, ToolError } from './exec.js';
import { clearStaleUdp, FULL_SYNC_PERIOD_MS, type ApplierOptions, type RuleApplier, type SyncResult } from './sync-result.js';

export class IptablesApplier implements RuleApplier {
  readonly mode = 'iptables' as const;
  private installed: IptablesRuleset | undefined;
  private installedModel: ServiceModel | undefined;
  private needFullSync = true;
  private lastFullSync = 0;
  private readonly family: 4 | 6;

  constructor(private readonly opts: ApplierOptions) {
    this.family = ruleOptions(opts.rules).family;
  }

  private get iptables(): string {
    return this.family === 6 ? 'ip6tables' : 'iptables';
  }

  forceFullSync(): void {
    this.needFullSync = true;
  }

  /** Whether kube-proxy's canary chain is still there (checked in mangle, as iptables.Monitor does). */
  private async canaryPresent(): Promise<boolean> {
    const r = await this.opts.runner.run(this.iptables, ['-w', '-t', 'mangle', '-S', CANARY_CHAIN]);
    return r.code === 0;
  }

  /** Jumps from the built-in chains, one `-C` / `-I` each (iptables-restore cannot edit part of a built-in chain). */
  private async ensureJumps(): Promise<void> {
    for (const j of IPTABLES_JUMPS) {
      const [, table, from, ...rest] = jumpArgs(j);
      const check = await this.opts.runner.run(this.iptables, ['-w', '-t', table!, '-C', from!, ...rest]);
      if (check.code !== 0) await mustRun(this.opts.runner, this.iptables, ['-w', '-t', table!, '-I', from!, '1', ...rest]);
    }
  }

  async sync(model: ServiceModel): Promise<SyncResult> {
    const started = performance.now();
    const next = renderIptables(model, this.opts.rules);
    let full = this.needFullSync || !this.installed || Date.now() - this.lastFullSync > (this.opts.fullSyncPeriodMs ?? FULL_SYNC_PERIOD_MS);
    if (!full && !(await this.canaryPresent())) full = true;
    const payload = full ? iptablesRestoreFull(next, this.installed) : iptablesRestorePartial(this.installed!, next);
    try {
      await mustRun(this.opts.runner, `${this.iptables}-restore`, ['-w', '--noflush'], payload);
      // After the restore: the jumps need their target chains to exist.
      if (full) await this.ensureJumps();
    } catch (err) {
      this.needFullSync = true;
      throw err instanceof ToolError ? new Error(`iptables sync failed (old rules kept, next sync is full): ${err.message}`) : err;
    }
    if (full) {
      this.needFullSync = false;
      this.lastFullSync = Date.now();
    }
    const prevModel = this.installedModel;
    this.installed = next;
    this.installedModel = model;
    const conntrackDeletions = this.opts.conntrackCleanup === false ? 0 : await clearStaleUdp(this.opts.runner, prevModel, model, this.family);
    return { mode: this.mode, full, bytes: payload.length, ms: performance.now() - started, conntrackDeletions };
  }

  /** Removes the jumps, then flushes and deletes every KUBE-* chain in filter, nat and mangle (CleanupLeftovers). */
  async cleanup(): Promise<void> {
    const run = this.opts.runner;
    for (const j of IPTABLES_JUMPS) {
      const [, table, from, ...rest] = jumpArgs(j);
      for (let i = 0; i < 16; i++) {
        const r = await run.run(this.iptables, ['-w', '-t', table!, '-D', from!, ...rest]);
        if (r.code !== 0) break;
      }
    }
    const tables = new Set<string>(['filter', 'nat', ...CANARY_TABLES]);
    let payload = '';
    for (const table of tables) {
      const saved = await run.run(`${this.iptables}-save`, ['-t', table]);
      if (saved.code !== 0) continue;
      const chains = [...saved.stdout.matchAll(/^:(KUBE-[^ ]+) /gm)].map((m) => m[1]!);
      if (!chains.length) continue;
      payload += [`*${table}`, ...chains.map((c) => `:${c} - [0:0]`), ...chains.map((c) => `-X ${c}`), 'COMMIT'].join('\n') + '\n';
    }
    if (payload) await mustRun(run, `${this.iptables}-restore`, ['-w', '--noflush'], payload);
    this.installed = undefined;
    this.installedModel = undefined;
    this.needFullSync = true;
  }
}
