/**
 * `vipwasm rules -f … --mode iptables|nftables|ipvs`: prints the ruleset kube-proxy would write for
 * these manifests; `--apply` installs it, `--watch` keeps it in sync with the source, `--cleanup`
 * removes everything the mode installed.
 *
 * What each mode supports beyond kube-proxy: iptables/nftables dispatch is uniform random (kube-proxy),
 * weighted when a vipwasm.io weight annotation makes weights differ, and true round robin of new
 * connections with an explicit `--scheduler rr` (`statistic --mode nth` / `numgen inc`); other schedulers fall back to
 * (weighted) random there. ipvs mode uses the scheduler itself (random → rr), with `-b` flags for sh/mh.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Command } from 'commander';
import ipaddr from 'ipaddr.js';
import type { ServiceModel } from '../../engine/model.js';
import { isEmpty } from '../../model/index.js';
import { ModelFeed } from '../../sources/model-feed.js';
import { listenHttp, parseBindAddress } from '../../forwarder/health.js';
import {
  createApplier, instrumented, KubeProxyMetrics, localRunner, SyncLoop, type IPFamilyLabel, type RuleApplier, type RuleMode,
} from '../../rules/apply/index.js';
import type { IPFamily, RuleOptions } from '../../rules/options.js';
import { familyOf, ruleOptions } from '../../rules/options.js';
import { renderIptablesText } from '../../rules/render-iptables.js';
import { renderIpvsText } from '../../rules/render-ipvs.js';
import { renderNftablesText } from '../../rules/render-nftables.js';
import { TriggerTimes } from '../../metrics/trigger-times.js';
import { UsageError } from '../errors.js';
import { stopSignal } from '../stop-signal.js';
import { changedDiagnosticsReporter, reportDiagnostics } from '../report-diagnostics.js';
import { type SourceFlags, addSourceOptions, createSource, loadModelOnce, resolveSourceOptions } from '../source-options.js';

const MODES: readonly RuleMode[] = ['iptables', 'nftables', 'ipvs'];

interface RulesFlags extends SourceFlags {
  mode?: string;
  clusterCidr?: string[];
  masqueradeAll?: boolean;
  masqueradeBit?: string;
  ipFamily?: string;
  apply?: boolean;
  watch?: boolean;
  cleanup?: boolean;
  minSyncPeriod?: string;
  syncPeriod?: string;
  netns?: string;
  iptablesBackend?: string;
  metricsBindAddress?: string;
  nodeportAddresses?: string[];
  localhostNodeports?: string;
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, ...value.split(',').map((s) => s.trim()).filter(Boolean)];
}

/** `1s`, `500ms`, `2m` or plain seconds → ms; throws UsageError naming the flag. */
export function parseDuration(flag: string, text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text.trim());
  if (!m) throw new UsageError(`${flag}: "${text}" is not a duration (e.g. 1s, 500ms, 2m)`);
  const n = Number(m[1]);
  return m[2] === 'ms' ? n : m[2] === 'm' ? n * 60_000 : n * 1000;
}

function parseMode(mode: string | undefined): RuleMode {
  if (!mode) throw new UsageError(`--mode is required (${MODES.join('|')})`);
  if (!(MODES as readonly string[]).includes(mode)) throw new UsageError(`--mode: unknown mode "${mode}" (want ${MODES.join(', ')})`);
  return mode as RuleMode;
}

function baseRuleOptions(flags: RulesFlags, explicitRoundRobin: boolean): Omit<RuleOptions, 'family' | 'nfacctCounters' | 'randomFully'> {
  for (const cidr of flags.clusterCidr ?? []) if (!ipaddr.isValidCIDR(cidr)) throw new UsageError(`--cluster-cidr: "${cidr}" is not a CIDR`);
  const bit = flags.masqueradeBit === undefined ? 14 : Number(flags.masqueradeBit);
  if (!Number.isInteger(bit) || bit < 0 || bit > 31) throw new UsageError(`--iptables-masquerade-bit: "${flags.masqueradeBit}" is not an integer in 0-31`);
  const nodePortAddresses = flags.nodeportAddresses ?? [];
  for (const c of nodePortAddresses) {
    if (c !== 'primary' && !ipaddr.isValidCIDR(c)) throw new UsageError(`--nodeport-addresses: "${c}" is not a CIDR or "primary" (e.g. 192.168.0.0/16)`);
  }
  const localhost = flags.localhostNodeports ?? 'true';
  if (localhost !== 'true' && localhost !== 'false') throw new UsageError(`--iptables-localhost-nodeports: "${localhost}" is not true or false`);
  const o = ruleOptions({ clusterCIDRs: [], masqueradeAll: flags.masqueradeAll ?? false, masqueradeBit: bit, roundRobin: explicitRoundRobin, localhostNodePorts: localhost === 'true' });
  // nfacct counters and --random-fully are the machine's: the applier probes them (printing assumes kube-proxy's defaults).
  const { nfacctCounters: _counters, randomFully: _randomFully, ...rest } = o;
  return { ...rest, clusterCIDRs: flags.clusterCidr ?? [], nodePortAddresses };
}

/** The families to render: the flag, else every family the model has ClusterIPs in (IPv4 when none). */
function familiesOf(model: ServiceModel, flag: string | undefined, serviceRanges: readonly string[]): IPFamily[] {
  if (flag !== undefined) {
    if (flag !== '4' && flag !== '6') throw new UsageError(`--ip-family: "${flag}" is not 4 or 6`);
    return [Number(flag) as IPFamily];
  }
  const present = new Set<IPFamily>(model.servicePorts.flatMap((sp) => sp.clusterIPs.map(familyOf)));
  for (const r of serviceRanges) present.add(familyOf(r.split('/')[0]!));
  const out = ([4, 6] as const).filter((f) => present.has(f));
  return out.length ? out : [4];
}

function render(mode: RuleMode, model: ServiceModel, o: Partial<RuleOptions>): string {
  return mode === 'iptables' ? renderIptablesText(model, o) : mode === 'nftables' ? renderNftablesText(model, o) : renderIpvsText(model, o);
}

const IPTABLES_BACKENDS = ['default', 'legacy', 'nft'] as const;

function appliersFor(mode: RuleMode, families: readonly IPFamily[], base: ReturnType<typeof baseRuleOptions>, flags: RulesFlags): RuleApplier[] {
  const backend = flags.iptablesBackend ?? 'default';
  if (!(IPTABLES_BACKENDS as readonly string[]).includes(backend))
    throw new UsageError(`--iptables-backend: unknown backend "${backend}" (want ${IPTABLES_BACKENDS.join(', ')})`);
  const runner = localRunner(flags.netns);
  return families.map((family) =>
    createApplier(mode, { runner, iptablesBackend: backend as (typeof IPTABLES_BACKENDS)[number], rules: { ...base, family } }),
  );
}

/** `--metrics-bind-address`: kube-proxy's sync metrics on /metrics, under kube-proxy's names. */
async function serveMetrics(flags: RulesFlags): Promise<{ metrics: KubeProxyMetrics; server: Server } | undefined> {
  if (flags.metricsBindAddress === undefined) return undefined;
  let bind: { host: string; port: number };
  try {
    bind = parseBindAddress('--metrics-bind-address', flags.metricsBindAddress);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const metrics = new KubeProxyMetrics();
  const server = await listenHttp(bind.host, bind.port, (req, res) => {
    if ((req.url ?? '/').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end('404 page not found\n');
      return;
    }
    metrics.registry.metrics().then(
      (text) => res.writeHead(200, { 'Content-Type': metrics.registry.contentType }).end(text),
      (err: Error) => res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' }).end(`${err.message}\n`),
    );
  });
  const at = server.address() as AddressInfo;
  process.stderr.write(`metrics on http://${at.family === 'IPv6' ? `[${at.address}]` : at.address}:${at.port}/metrics\n`);
  return { metrics, server };
}

async function watch(plain: RuleApplier[], families: readonly IPFamily[], settings: ReturnType<typeof resolveSourceOptions>, flags: RulesFlags): Promise<void> {
  const minSyncPeriodMs = parseDuration('--min-sync-period', flags.minSyncPeriod ?? '1s');
  const syncPeriodMs = parseDuration('--sync-period', flags.syncPeriod ?? '30s');
  const served = await serveMetrics(flags);
  const familyLabels = families.map((f): IPFamilyLabel => (f === 6 ? 'IPv6' : 'IPv4'));
  // Trigger times of EndpointSlice changes from now on, one reader per family's applier.
  const triggers = new TriggerTimes();
  const appliers = served ? plain.map((a, i) => instrumented(a, familyLabels[i]!, served.metrics, triggers.cursor())) : plain;
  const loop = new SyncLoop(appliers, {
    minSyncPeriodMs,
    syncPeriodMs,
    onSynced: (r) => process.stderr.write(`synced ${r.mode}: ${r.full ? 'full' : 'partial'}, ${r.bytes} bytes, ${r.ms.toFixed(1)} ms${r.repaired ? `; rebuilt ${r.repaired} virtual service(s) changed outside vipwasm` : ''}\n`),
    onError: (err) => process.stderr.write(`error: ${err.message}\n`),
  });
  // The feed drops updates that change no service port (kube-proxy's change tracker), so an edit
  // that matters to nobody never wakes the sync loop.
  const feed = new ModelFeed(await createSource(settings), settings.modelOptions);
  const first = await feed.start();
  // Listen before the first sync reports: a supervisor may signal as soon as it sees it.
  const stopped = stopSignal();
  const report = changedDiagnosticsReporter();
  report([...first.sourceDiagnostics, ...first.result.diagnostics]);
  loop.update(first.result.model);
  feed.subscribe(
    (u) => {
      report([...u.sourceDiagnostics, ...u.result.diagnostics]);
      if (isEmpty(u.changes)) return;
      if (served) triggers.observe(u.snapshot.objects, u.changes.changed);
      served?.metrics.queued(u.changes, familyLabels);
      loop.update(u.result.model);
    },
    (err) => process.stderr.write(`error: cannot build the service model, keeping the previous rules: ${err.message}\n`),
  );
  await stopped;
  await feed.close();
  await loop.stop();
  served?.server.close();
}

export function register(program: Command): void {
  const cmd = program
    .command('rules')
    .description("print (or install) the iptables, nftables or ipvs rules kube-proxy would write for these Services")
    .option('--mode <mode>', `data plane: ${MODES.join('|')}`)
    .option('--cluster-cidr <cidr>', 'pod CIDR(s): ClusterIP traffic from outside them is masqueraded (repeatable or comma-separated)', collect)
    .option('--masquerade-all', 'masquerade all traffic sent to ClusterIPs')
    .option('--iptables-masquerade-bit <bit>', 'bit of the packet mark that flags traffic for SNAT (0-31)', undefined)
    .option('--ip-family <4|6>', 'render only this IP family (default: every family the Services use)')
    .option('--apply', 'install the rules in the kernel (needs root)')
    .option('--watch', 'keep the installed rules in sync with the source (implies --apply)')
    .option('--min-sync-period <duration>', 'with --watch: least time between syncs', '1s')
    .option('--sync-period <duration>', 'with --watch: resync at least this often (notices flushed rules)', '30s')
    .option('--cleanup', 'remove everything this mode installed, then exit')
    .option('--netns <name>', 'apply inside this network namespace (ip netns exec)')
    .option('--metrics-bind-address <host:port>', "with --watch: serve kube-proxy's sync metrics (kubeproxy_*) on /metrics here (kube-proxy uses 127.0.0.1:10249)")
    .option('--nodeport-addresses <cidrs>', 'NodePorts only on node IPs in these CIDRs, or `primary` (the node IPs); default: every local address (iptables), the node IPs (nftables)', collect)
    .option('--iptables-localhost-nodeports <bool>', 'iptables, IPv4: NodePorts also on 127.0.0.0/8 (sets route_localnet; KUBE-FIREWALL drops outside traffic to it)', 'true')
    .option('--iptables-backend <backend>', 'which iptables to run: default (the `iptables` command), legacy or nft', 'default');
  addSourceOptions(cmd);
  cmd.action(async (rawFlags: RulesFlags & { iptablesMasqueradeBit?: string; iptablesLocalhostNodeports?: string }) => {
    const flags: RulesFlags = { ...rawFlags, masqueradeBit: rawFlags.iptablesMasqueradeBit, localhostNodeports: rawFlags.iptablesLocalhostNodeports };
    const mode = parseMode(flags.mode);
    // True round robin only when asked for: the model's default scheduler is rr, kube-proxy's dispatch is random.
    const base = baseRuleOptions(flags, cmd.getOptionValueSource('scheduler') === 'cli' && flags.scheduler === 'rr');
    if (flags.cleanup) {
      const families: IPFamily[] = flags.ipFamily === '6' ? [6] : flags.ipFamily === '4' ? [4] : [4, 6];
      for (const a of appliersFor(mode, families, base, flags)) await a.cleanup();
      return;
    }
    const settings = resolveSourceOptions(flags);
    const serviceRanges = settings.modelOptions.serviceClusterIPRanges ?? [];
    if (flags.watch) {
      const families = familiesOf({ nodeIPs: [], servicePorts: [] }, flags.ipFamily, serviceRanges);
      return watch(appliersFor(mode, families, base, flags), families, settings, flags);
    }
    const { result, diagnostics } = await loadModelOnce(settings);
    const code = reportDiagnostics(diagnostics);
    const families = familiesOf(result.model, flags.ipFamily, serviceRanges);
    if (flags.apply) {
      for (const a of appliersFor(mode, families, base, flags)) {
        const r = await a.sync(result.model);
        process.stderr.write(`applied ${r.mode}: ${r.bytes} bytes in ${r.ms.toFixed(1)} ms\n`);
      }
    } else {
      for (const family of families) process.stdout.write(render(mode, result.model, { ...base, family }));
    }
    if (code) process.exitCode = code;
  });
}
