/**
 * Applies iptables mode (node-only). One `iptables-restore --noflush` transaction per sync; partial
 * syncs rewrite only the top-level chains and the chains that changed (KEP-3453); a failed restore
 * leaves the kernel's previous rules in place (the restore is refused as a whole per table) and forces
 * the next sync to be full; a missing canary chain (someone flushed the tables) also forces a full sync.
 */
import type { ServiceModel } from '../../engine/model.js';
import { localhostNodePortsActive, ruleOptions, type RuleOptions } from '../options.js';
import {
  CANARY_CHAIN,
  CANARY_TABLES,
  IPTABLES_JUMPS,
  KUBELET_FIREWALL_CHAIN,
  KUBELET_JUMPS,
  hasJump,
  iptablesRestoreFull,
  iptablesRestoreFullChunks,
  iptablesRestorePartial,
  jumpRestoreLine,
  renderIptables,
  type ExtraLines,
  type IptablesJump,
  type IptablesRuleset,
} from '../render-iptables.js';
import { mustRun, ToolError } from './exec.js';
import { enableRouteLocalnet, ensureNfacctCounters, supportsRandomFully } from './iptables-probes.js';
import { clearStaleUdp, FULL_SYNC_PERIOD_MS, type ApplierOptions, type RuleApplier, type SyncResult } from './sync-result.js';

/** How often (at most) a sync checks the canary, by default. */
const CANARY_CHECK_INTERVAL_MS = 10_000;

export class IptablesApplier implements RuleApplier {
  readonly mode = 'iptables' as const;
  private installed: IptablesRuleset | undefined;
  private installedModel: ServiceModel | undefined;
  private needFullSync = true;
  private lastFullSync = 0;
  private lastCanaryCheck = 0;
  private readonly family: 4 | 6;
  /** What the machine supports (probed on full syncs): nfacct counters, `--random-fully`. */
  private machine: Pick<RuleOptions, 'nfacctCounters' | 'randomFully'> | undefined;

  constructor(private readonly opts: ApplierOptions) {
    this.family = ruleOptions(opts.rules).family;
  }

  /** `iptables`, `ip6tables-legacy`, ...: the command; `-restore` / `-save` are appended for those tools. */
  private get iptables(): string {
    const base = this.family === 6 ? 'ip6tables' : 'iptables';
    const backend = this.opts.iptablesBackend ?? 'default';
    return backend === 'default' ? base : `${base}-${backend}`;
  }

  private nftBackend: boolean | undefined;

  /** Whether the iptables command is iptables-nft (`iptables -V` says "nf_tables"); asked once. */
  private async isNftBackend(): Promise<boolean> {
    if (this.nftBackend === undefined) {
      const backend = this.opts.iptablesBackend ?? 'default';
      this.nftBackend = backend === 'default' ? /nf_tables/.test((await this.opts.runner.run(this.iptables, ['-V'])).stdout) : backend === 'nft';
    }
    return this.nftBackend;
  }

  forceFullSync(): void {
    this.needFullSync = true;
  }

  /** Whether kube-proxy's canary chain is still there (checked in mangle, as iptables.Monitor does). */
  private async canaryPresent(): Promise<boolean> {
    const r = await this.opts.runner.run(this.iptables, ['-w', '-t', 'mangle', '-S', CANARY_CHAIN]);
    return r.code === 0;
  }

  /** Which of `jumps` are installed: one `-S CHAIN` listing per built-in chain involved. */
  private async installedJumps(jumps: readonly IptablesJump[]): Promise<Set<IptablesJump>> {
    const listings = new Map<string, string>();
    const found = new Set<IptablesJump>();
    for (const j of jumps) {
      const key = `${j.table} ${j.from}`;
      if (!listings.has(key)) listings.set(key, (await this.opts.runner.run(this.iptables, ['-w', '-t', j.table, '-S', j.from])).stdout);
      if (hasJump(listings.get(key)!, j)) found.add(j);
    }
    return found;
  }

  /**
   * The missing jumps, as `-I` lines for the same restore transaction (kube-proxy installs them with
   * separate iptables calls; in the transaction they appear together with their target chains).
   */
  private async missingJumpLines(next: IptablesRuleset): Promise<ExtraLines> {
    const all = [...IPTABLES_JUMPS, ...KUBELET_JUMPS];
    const have = await this.installedJumps(all);
    const missing = all.filter((j) => !have.has(j));
    // kubelet's chain is created, never flushed, when this ruleset does not write it (kube-proxy's EnsureChain).
    if (missing.some((j) => j.to === KUBELET_FIREWALL_CHAIN) && !next.filter.has(KUBELET_FIREWALL_CHAIN)) {
      await this.opts.runner.run(this.iptables, ['-w', '-t', 'filter', '-N', KUBELET_FIREWALL_CHAIN]);
    }
    return {
      filter: missing.filter((j) => j.table === 'filter').map((j) => jumpRestoreLine(j, '-I')),
      nat: missing.filter((j) => j.table === 'nat').map((j) => jumpRestoreLine(j, '-I')),
    };
  }

  /**
   * Probes the machine before a full sync, as kube-proxy does: nfacct counters ensured on every full
   * sync, `--random-fully` and route_localnet once. Options given explicitly win over probes.
   */
  private async probeMachine(): Promise<void> {
    const given = this.opts.rules ?? {};
    const first = this.machine === undefined;
    this.machine = {
      nfacctCounters: given.nfacctCounters ?? (await ensureNfacctCounters(this.opts.runner)),
      randomFully: given.randomFully ?? this.machine?.randomFully ?? (await supportsRandomFully(this.opts.runner, this.iptables)),
    };
    if (first && localhostNodePortsActive(ruleOptions({ ...given, family: this.family }))) await enableRouteLocalnet(this.opts.runner);
  }

  async sync(model: ServiceModel): Promise<SyncResult> {
    const started = performance.now();
    let full = this.needFullSync || !this.installed || performance.now() - this.lastFullSync > (this.opts.fullSyncPeriodMs ?? FULL_SYNC_PERIOD_MS);
    if (!full && performance.now() - this.lastCanaryCheck >= (this.opts.canaryCheckIntervalMs ?? CANARY_CHECK_INTERVAL_MS)) {
      this.lastCanaryCheck = performance.now();
      if (!(await this.canaryPresent())) full = true;
    }
    if (full) await this.probeMachine();
    const next = renderIptables(model, { ...this.opts.rules, ...this.machine });
    let bytes = 0;
    try {
      // iptables-legacy rewrites the whole table per transaction, so it gets one; iptables-nft gets
      // bounded ones (see iptablesRestoreFullChunks). A partial sync with nothing changed has none.
      const payloads = !full
        ? [iptablesRestorePartial(this.installed!, next)]
        : (await this.isNftBackend())
          ? iptablesRestoreFullChunks(next, this.installed, await this.missingJumpLines(next))
          : [iptablesRestoreFull(next, this.installed, await this.missingJumpLines(next))];
      for (const payload of payloads) {
        if (payload) await mustRun(this.opts.runner, `${this.iptables}-restore`, ['-w', '--noflush'], payload);
        bytes += payload.length;
      }
    } catch (err) {
      this.needFullSync = true;
      throw err instanceof ToolError ? new Error(`iptables sync failed (old rules kept, next sync is full): ${err.message}`) : err;
    }
    if (full) {
      this.needFullSync = false;
      this.lastFullSync = performance.now();
      this.lastCanaryCheck = performance.now();
    }
    const prevModel = this.installedModel;
    this.installed = next;
    this.installedModel = model;
    const conntrackDeletions = this.opts.conntrackCleanup === false ? 0 : await clearStaleUdp(this.opts.runner, prevModel, model, this.family);
    return { mode: this.mode, full, bytes, ms: performance.now() - started, conntrackDeletions };
  }

  /**
   * Removes the jumps, then flushes and deletes every KUBE-* chain in filter, nat and mangle
   * (kube-proxy's CleanupLeftovers), in one restore transaction; kubelet's KUBE-FIREWALL and its jumps
   * stay, as kube-proxy leaves them.
   */
  async cleanup(): Promise<void> {
    const run = this.opts.runner;
    const jumps = await this.installedJumps(IPTABLES_JUMPS);
    const tables = new Set<string>(['filter', 'nat', ...CANARY_TABLES]);
    let payload = '';
    for (const table of tables) {
      const saved = await run.run(`${this.iptables}-save`, ['-t', table]);
      if (saved.code !== 0) continue;
      const chains = [...saved.stdout.matchAll(/^:(KUBE-[^ ]+) /gm)].map((m) => m[1]!).filter((c) => c !== KUBELET_FIREWALL_CHAIN);
      const deletes = [...jumps].filter((j) => j.table === table).map((j) => jumpRestoreLine(j, '-D'));
      if (!chains.length && !deletes.length) continue;
      payload += [`*${table}`, ...chains.map((c) => `:${c} - [0:0]`), ...deletes, ...chains.map((c) => `-X ${c}`), 'COMMIT'].join('\n') + '\n';
    }
    if (payload) await mustRun(run, `${this.iptables}-restore`, ['-w', '--noflush'], payload);
    this.installed = undefined;
    this.installedModel = undefined;
    this.needFullSync = true;
  }
}
