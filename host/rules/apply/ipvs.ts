/**
 * Applies ipvs mode (node-only): dummy interface and its addresses, ipsets (`ipset restore`), the
 * iptables glue (`iptables-restore --noflush`), and the virtual servers through `ipvsadm-restore`.
 *
 * The first sync, and the first after a failure or `forceFullSync`, is full: this family's
 * installed virtual services deleted (`ipvsadm -Sn`, then `-D` each), then every one built from nothing (real servers added in reverse engine order, so each
 * list is in engine order, as a freshly loaded engine's pools are). Every other sync is partial:
 * only the `-A/-E/-D/-a/-e/-d` commands that change what is installed (ipvs-sync.ts), so the
 * kernel keeps its rr positions, wrr marks, counters and persistence templates, and its lists
 * follow the same order contract as the engine's pools (engine/pool-carry.ts, issue 17). No
 * periodic full sync: flushing would reset the kernel's scheduler state behind the engine's back.
 * Instead every partial sync first reads the kernel (`ipvsadm -Sn`, as kube-proxy reads it over
 * netlink on each sync) and rebuilds only the virtual services changed behind its back, and
 * deletes this family's services it did not install; untouched services keep their state.
 * IPVS mode is golden-tested everywhere and live-tested only where the kernel has IPVS.
 */
import type { ServiceModel } from '../../engine/model.js';
import { ruleOptions, type RuleOptions } from '../options.js';
import { renderIpvs } from '../render-ipvs.js';
import { installedFresh, ipvsDrift, parseIpvsSave, planIpvsSync, repairIpvsDrift, type IpvsInstalled } from '../ipvs-sync.js';
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
  /** What our commands left in the kernel; undefined = unknown, so the next sync is full. */
  private installed: IpvsInstalled | undefined;

  constructor(private readonly opts: ApplierOptions) {
    this.o = ruleOptions(opts.rules);
  }

  forceFullSync(): void {
    this.installed = undefined;
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
    const before = this.installed;
    // Until the commands have run, the kernel's state is unknown: a failure makes the next sync full.
    this.installed = undefined;
    let ipvsadm: string;
    let repaired = 0;
    if (before === undefined) {
      ipvsadm = (await this.ownServices()).map((service) => `-D ${service}\n`).join('') + rs.ipvsadm;
      if (ipvsadm) await mustRun(run, 'ipvsadm-restore', [], ipvsadm);
      this.installed = installedFresh(rs.services);
    } else {
      const saved = parseIpvsSave((await mustRun(run, 'ipvsadm', ['-Sn'])).stdout, this.o.family);
      const drift = ipvsDrift(before, saved);
      const repair = repairIpvsDrift(before, saved, drift);
      const plan = planIpvsSync(repair.installed, rs.services);
      const lines = [...repair.lines, ...plan.lines];
      ipvsadm = lines.length ? lines.join('\n') + '\n' : '';
      if (ipvsadm) await mustRun(run, 'ipvsadm-restore', [], ipvsadm);
      this.installed = plan.installed;
      repaired = drift.changed.length + drift.foreign.length;
    }
    const conntrackDeletions = this.opts.conntrackCleanup === false ? 0 : await clearStaleUdp(run, this.installedModel, model, this.o.family);
    this.installedModel = model;
    const bytes = ipvsadm.length + rs.ipset.length + rs.iptables.length;
    return { mode: this.mode, full: before === undefined, bytes, ms: performance.now() - started, conntrackDeletions, ...(repaired ? { repaired } : {}) };
  }

  /**
   * The installed virtual services of this applier's family (`ipvsadm -Sn`). A full sync deletes
   * only these: with dual-stack, the other family's applier shares the kernel's one IPVS table,
   * so `ipvsadm -C` would wipe its services.
   */
  private async ownServices(): Promise<string[]> {
    const saved = await mustRun(this.opts.runner, 'ipvsadm', ['-Sn']);
    return [...saved.stdout.matchAll(/^-A (-t|-u|--sctp-service) (\S+)/gm)]
      .filter((m) => (m[2]!.startsWith('[') ? 6 : 4) === this.o.family)
      .map((m) => `${m[1]} ${m[2]}`);
  }

  async cleanup(): Promise<void> {
    const run = this.opts.runner;
    await run.run('ipvsadm', ['-C']);
    this.installed = undefined;
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
