/**
 * Applies ipvs mode (node-only): dummy interface and its addresses, ipsets (`ipset restore`), the
 * iptables glue (`iptables-restore --noflush`), and the virtual servers (`ipvsadm -C` then
 * `ipvsadm-restore`, so the real servers are added in the order that gives the kernel engine order).
 * Every sync is full; IPVS mode is golden-tested everywhere and live-tested only where the kernel has IPVS.
 */
import type { ServiceModel } from '../../engine/model.js';
import { ruleOptions, type RuleOptions } from '../options.js';
import { renderIpvs } from '../render-ipvs.js';
import { IPVS_JUMPS, IPVS_SETS, setName, type IpvsSetId } from '../ipvs-sets.js';
import { mustRun, type Runner } from './exec.js';
import { clearStaleUdp, type ApplierOptions, type RuleApplier, type SyncResult } from './sync-result.js';

/** Why IPVS cannot be used here, or undefined when `ipvsadm -Ln` works. */
export async function ipvsUnavailableReason(runner: Runner): Promise<string | undefined> {
  try {
    const r = await runner.run('ipvsadm', ['-Ln']);
    return r.code === 0 ? undefined : `ipvsadm -Ln failed: ${r.stderr.trim().split('\n')[0] ?? r.code}`;
  } catch (err) {
    return `ipvsadm not runnable: ${(err as Error).message}`;
  }
}

export class IpvsApplier implements RuleApplier {
  readonly mode = 'ipvs' as const;
  private readonly o: RuleOptions;
  private installedModel: ServiceModel | undefined;

  constructor(private readonly opts: ApplierOptions) {
    this.o = ruleOptions(opts.rules);
  }

  forceFullSync(): void {
    // Every sync is full.
  }

  private get iptables(): string {
    const base = this.o.family === 6 ? 'ip6tables' : 'iptables';
    const backend = this.opts.iptablesBackend ?? 'default';
    return backend === 'default' ? base : `${base}-${backend}`;
  }

  async sync(model: ServiceModel): Promise<SyncResult> {
    const started = performance.now();
    const run = this.opts.runner;
    const rs = renderIpvs(model, this.o);
    const dev = this.o.ipvsInterface;
    if ((await run.run('ip', ['link', 'show', dev])).code !== 0) await mustRun(run, 'ip', ['link', 'add', dev, 'type', 'dummy']);
    const prefix = this.o.family === 6 ? '128' : '32';
    // Bind every service address; unbind the ones no Service uses any more (kube-proxy does the same).
    const shown = await mustRun(run, 'ip', [`-${this.o.family}`, '-o', 'addr', 'show', 'dev', dev]);
    const bound = [...shown.stdout.matchAll(/\binet6? (\S+)\//g)].map((m) => m[1]!);
    const wanted = new Set(rs.addresses);
    const batch = [
      ...rs.addresses.map((a) => `address replace ${a}/${prefix} dev ${dev}`),
      ...bound.filter((a) => !wanted.has(a)).map((a) => `address del ${a}/${prefix} dev ${dev}`),
    ];
    if (batch.length) await mustRun(run, 'ip', ['-force', '-batch', '-'], batch.join('\n') + '\n');
    await mustRun(run, 'ipset', ['restore'], rs.ipset);
    await mustRun(run, `${this.iptables}-restore`, ['-w', '--noflush'], rs.iptables);
    for (const j of IPVS_JUMPS) {
      const args = ['-w', '-t', j.table, '-C', j.from, '-m', 'comment', '--comment', j.comment, '-j', j.to];
      if ((await run.run(this.iptables, args)).code !== 0) await mustRun(run, this.iptables, ['-w', '-t', j.table, '-I', j.from, '1', ...args.slice(5)]);
    }
    await mustRun(run, 'ipvsadm', ['-C']);
    if (rs.ipvsadm) await mustRun(run, 'ipvsadm-restore', [], rs.ipvsadm);
    const conntrackDeletions = this.opts.conntrackCleanup === false ? 0 : await clearStaleUdp(run, this.installedModel, model, this.o.family);
    this.installedModel = model;
    const bytes = rs.ipvsadm.length + rs.ipset.length + rs.iptables.length;
    return { mode: this.mode, full: true, bytes, ms: performance.now() - started, conntrackDeletions };
  }

  async cleanup(): Promise<void> {
    const run = this.opts.runner;
    await run.run('ipvsadm', ['-C']);
    await run.run('ip', ['link', 'del', this.o.ipvsInterface]);
    for (const j of IPVS_JUMPS) await run.run(this.iptables, ['-w', '-t', j.table, '-D', j.from, '-m', 'comment', '--comment', j.comment, '-j', j.to]);
    for (const table of ['nat', 'filter']) {
      const saved = await run.run(`${this.iptables}-save`, ['-t', table]);
      const chains = [...saved.stdout.matchAll(/^:(KUBE-[^ ]+) /gm)].map((m) => m[1]!);
      if (chains.length) await run.run(`${this.iptables}-restore`, ['-w', '--noflush'], [`*${table}`, ...chains.map((c) => `:${c} - [0:0]`), ...chains.map((c) => `-X ${c}`), 'COMMIT'].join('\n') + '\n');
    }
    for (const id of Object.keys(IPVS_SETS) as IpvsSetId[]) await run.run('ipset', ['destroy', setName(id, this.o)]);
    this.installedModel = undefined;
  }
}
