/**
 * iptables mode: the model rendered as `iptables-restore` input with kube-proxy's chain layout
 * (pkg/proxy/iptables/proxier.go; reference/kube-proxy.md §1). Pure functions, browser-safe.
 *
 * `renderIptables` builds a structured ruleset (table → chain → rules); `iptablesRestoreFull`
 * serialises it whole, `iptablesRestorePartial` only the chains that differ from the previously
 * installed ruleset (KEP-3453 MinimizeIPTablesRestore, without its unconditional top-level rewrite).
 */
import type { ServiceModel } from '../engine/model.js';
import { portView } from './endpoints.js';
import { renderIptablesPort, comment, type IptablesPortRules } from './iptables-service.js';
import {
  familyOf, localhostNodePortsActive, masqueradeMark, NFACCT_CT_STATE_INVALID_DROPPED, nodePortIPs, ruleOptions, type RuleOptions,
} from './options.js';
import { PortRenderCache } from './port-cache.js';

const portCache = new PortRenderCache<IptablesPortRules | undefined>();

export type IptablesTable = 'filter' | 'nat';

/**
 * A rendered ruleset: chains in write order, each with its rules as one text (lines joined by "\n",
 * '' for an empty chain). One string per chain keeps a 10k-Service ruleset cheap to hold and compare.
 */
export interface IptablesRuleset {
  readonly family: 4 | 6;
  readonly filter: ReadonlyMap<string, string>;
  /** Every nat chain: the top-level ones, then each port's chains (built on first use). */
  readonly nat: ReadonlyMap<string, string>;
  /** The top-level nat chains. */
  readonly natTop: ReadonlyMap<string, string>;
  /**
   * Each port's rules, model order. They come from the per-port memo, so a port unchanged since the
   * previous render is the same object: partial syncs diff ports by identity, not 110k chains by text.
   */
  readonly ports: readonly IptablesPortRules[];
  /** No port identity appears twice, so no two ports own a chain of the same name. */
  readonly uniqueChains: boolean;
}

/** kube-proxy's top-level chains (it rewrites them on every sync; partial syncs here only when changed). */
export const TOP_LEVEL_CHAINS: Readonly<Record<IptablesTable, readonly string[]>> = {
  filter: ['KUBE-SERVICES', 'KUBE-EXTERNAL-SERVICES', 'KUBE-FORWARD', 'KUBE-NODEPORTS', 'KUBE-PROXY-FIREWALL'],
  nat: ['KUBE-SERVICES', 'KUBE-NODEPORTS', 'KUBE-POSTROUTING', 'KUBE-MARK-MASQ'],
};

/** kube-proxy's canary chain, created in mangle, nat and filter; if it disappears, something flushed us. */
export const CANARY_CHAIN = 'KUBE-PROXY-CANARY';
export const CANARY_TABLES = ['mangle', 'nat', 'filter'] as const;

/** A jump from a built-in chain (iptablesJumpChains); installed one by one with `-C`/`-I`, not by restore. */
export interface IptablesJump {
  readonly table: IptablesTable;
  readonly from: string;
  readonly to: string;
  /** Extra match arguments before `-j`. */
  readonly args: readonly string[];
}

const NEW = ['-m', 'conntrack', '--ctstate', 'NEW'];
const jc = (text: string) => ['-m', 'comment', '--comment', text];

export const IPTABLES_JUMPS: readonly IptablesJump[] = [
  { table: 'filter', from: 'INPUT', to: 'KUBE-EXTERNAL-SERVICES', args: [...NEW, ...jc('kubernetes externally-visible service portals')] },
  { table: 'filter', from: 'FORWARD', to: 'KUBE-EXTERNAL-SERVICES', args: [...NEW, ...jc('kubernetes externally-visible service portals')] },
  { table: 'filter', from: 'INPUT', to: 'KUBE-NODEPORTS', args: jc('kubernetes health check service ports') },
  { table: 'filter', from: 'FORWARD', to: 'KUBE-SERVICES', args: [...NEW, ...jc('kubernetes service portals')] },
  { table: 'filter', from: 'OUTPUT', to: 'KUBE-SERVICES', args: [...NEW, ...jc('kubernetes service portals')] },
  { table: 'filter', from: 'FORWARD', to: 'KUBE-FORWARD', args: jc('kubernetes forwarding rules') },
  { table: 'filter', from: 'INPUT', to: 'KUBE-PROXY-FIREWALL', args: [...NEW, ...jc('kubernetes load balancer firewall')] },
  { table: 'filter', from: 'OUTPUT', to: 'KUBE-PROXY-FIREWALL', args: [...NEW, ...jc('kubernetes load balancer firewall')] },
  { table: 'filter', from: 'FORWARD', to: 'KUBE-PROXY-FIREWALL', args: [...NEW, ...jc('kubernetes load balancer firewall')] },
  { table: 'nat', from: 'OUTPUT', to: 'KUBE-SERVICES', args: jc('kubernetes service portals') },
  { table: 'nat', from: 'PREROUTING', to: 'KUBE-SERVICES', args: jc('kubernetes service portals') },
  { table: 'nat', from: 'POSTROUTING', to: 'KUBE-POSTROUTING', args: jc('kubernetes postrouting rules') },
];

/**
 * kubelet's firewall chain, which kube-proxy also creates and jumps to (iptablesKubeletJumpChains),
 * after its own jumps, so these end up first. kube-proxy fills it only for IPv4 localhost NodePorts and
 * never deletes it (kubelet owns it too): cleanup leaves chain and jumps alone.
 */
export const KUBELET_FIREWALL_CHAIN = 'KUBE-FIREWALL';
export const KUBELET_JUMPS: readonly IptablesJump[] = [
  { table: 'filter', from: 'INPUT', to: KUBELET_FIREWALL_CHAIN, args: [] },
  { table: 'filter', from: 'OUTPUT', to: KUBELET_FIREWALL_CHAIN, args: [] },
];

/** kube-proxy's largeClusterEndpointsThreshold. */
export const LARGE_CLUSTER_ENDPOINTS = 1000;

const NODEPORTS_COMMENT = comment('kubernetes service nodeports; NOTE: this must be the last rule in this chain');

function fixedFilterChains(o: RuleOptions): Map<string, string[]> {
  const mark = masqueradeMark(o);
  const count = o.nfacctCounters.includes(NFACCT_CT_STATE_INVALID_DROPPED) ? `-m nfacct --nfacct-name ${NFACCT_CT_STATE_INVALID_DROPPED} ` : '';
  const chains = new Map<string, string[]>([
    ['KUBE-SERVICES', []],
    ['KUBE-EXTERNAL-SERVICES', []],
    [
      'KUBE-FORWARD',
      [
        `-A KUBE-FORWARD -m conntrack --ctstate INVALID ${count}-j DROP`,
        `-A KUBE-FORWARD ${comment('kubernetes forwarding rules')} -m mark --mark ${mark}/${mark} -j ACCEPT`,
        `-A KUBE-FORWARD ${comment('kubernetes forwarding conntrack rule')} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`,
      ],
    ],
    ['KUBE-NODEPORTS', []],
    ['KUBE-PROXY-FIREWALL', []],
  ]);
  // route_localnet opens 127.0.0.0/8 to the outside; this rule closes it again (kubernetes #90259).
  if (localhostNodePortsActive(o)) {
    chains.set(KUBELET_FIREWALL_CHAIN, [
      `-A ${KUBELET_FIREWALL_CHAIN} ${comment('block incoming localnet connections')} -d 127.0.0.0/8 ! -s 127.0.0.0/8 -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP`,
    ]);
  }
  return chains;
}

function fixedNatChains(o: RuleOptions): Map<string, string[]> {
  const mark = masqueradeMark(o);
  return new Map<string, string[]>([
    ['KUBE-SERVICES', []],
    ['KUBE-NODEPORTS', []],
    [
      'KUBE-POSTROUTING',
      [
        `-A KUBE-POSTROUTING -m mark ! --mark ${mark}/${mark} -j RETURN`,
        `-A KUBE-POSTROUTING -j MARK --xor-mark ${mark}`,
        `-A KUBE-POSTROUTING ${comment('kubernetes service traffic requiring SNAT')} -j MASQUERADE${o.randomFully ? ' --random-fully' : ''}`,
      ],
    ],
    ['KUBE-MARK-MASQ', [`-A KUBE-MARK-MASQ -j MARK --or-mark ${mark}`]],
  ]);
}

/**
 * The tail of nat KUBE-SERVICES: hand traffic for the NodePort addresses to KUBE-NODEPORTS. With
 * `--nodeport-addresses` unset that is every local address, loopback excluded unless localhost
 * NodePorts are on (never for IPv6); otherwise one rule per matching node IP.
 */
function nodePortsTail(nodeIPs: readonly string[], o: RuleOptions): string[] {
  const ips = nodePortIPs(nodeIPs, o);
  if (ips) return ips.map((ip) => `-A KUBE-SERVICES ${NODEPORTS_COMMENT} -d ${ip} -j KUBE-NODEPORTS`);
  const notLoopback = o.family === 6 ? ' ! -d ::1/128' : localhostNodePortsActive(o) ? '' : ' ! -d 127.0.0.0/8';
  return [`-A KUBE-SERVICES ${NODEPORTS_COMMENT} -m addrtype --dst-type LOCAL${notLoopback} -j KUBE-NODEPORTS`];
}

/** Drops the per-port render memo (for cold-render benchmarks). */
export function clearIptablesRenderCache(): void {
  portCache.clear();
}

/** Renders the whole ruleset for one IP family. */
export function renderIptables(model: ServiceModel, options: Partial<RuleOptions> = {}): IptablesRuleset {
  const o = ruleOptions(options);
  const nodeIPs = model.nodeIPs.filter((ip) => familyOf(ip) === o.family);
  // kube-proxy's large-cluster switch counts endpoints; cheap to count on the model itself.
  const endpointCount = model.servicePorts.reduce((n, sp) => n + sp.backends.length, 0);
  const ctx = { options: o, nodeIPs, largeCluster: endpointCount > LARGE_CLUSTER_ENDPOINTS };
  const context = JSON.stringify(ctx);
  const ports: IptablesPortRules[] = [];
  const identities = new Set<string>();
  for (const sp of model.servicePorts) {
    identities.add(`${sp.namespace}/${sp.name}:${sp.portName}/${sp.protocol}`);
    const p = portCache.get(sp, context, () => {
      const v = portView(sp, o.family);
      return v ? renderIptablesPort(v, ctx) : undefined;
    });
    if (p) ports.push(p);
  }
  portCache.endRender();
  const filter = fixedFilterChains(o);
  const nat = fixedNatChains(o);
  for (const p of ports) {
    filter.get('KUBE-SERVICES')!.push(...p.filterServices);
    filter.get('KUBE-EXTERNAL-SERVICES')!.push(...p.filterExternalServices);
    filter.get('KUBE-NODEPORTS')!.push(...p.filterNodePorts);
    filter.get('KUBE-PROXY-FIREWALL')!.push(...p.filterFirewall);
    nat.get('KUBE-SERVICES')!.push(...p.natServices);
    nat.get('KUBE-NODEPORTS')!.push(...p.natNodePorts);
  }
  nat.get('KUBE-SERVICES')!.push(...nodePortsTail(nodeIPs, o));
  const natTop = joined(nat);
  let natAll: Map<string, string> | undefined;
  return {
    family: o.family,
    filter: joined(filter),
    natTop,
    ports,
    uniqueChains: identities.size === model.servicePorts.length,
    get nat(): ReadonlyMap<string, string> {
      if (!natAll) {
        natAll = new Map(natTop);
        for (const p of ports) for (const [chain, rules] of p.natChains) natAll.set(chain, rules);
      }
      return natAll;
    },
  };
}

function joined(chains: Map<string, string[]>): Map<string, string> {
  const out = new Map<string, string>();
  for (const [chain, rules] of chains) out.set(chain, rules.join('\n'));
  return out;
}

function writeTable(
  out: string[],
  name: string,
  chains: ReadonlyMap<string, string> | readonly ReadonlyMap<string, string>[],
  deleted: readonly string[],
  extra: readonly string[] = [],
  canary = false,
): void {
  // Several maps are written as their union (callers pass maps with distinct chain names).
  const parts = chains instanceof Map ? [chains] : (chains as readonly ReadonlyMap<string, string>[]);
  out.push(`*${name}`);
  if (canary) out.push(`:${CANARY_CHAIN} - [0:0]`);
  for (const part of parts) for (const chain of part.keys()) out.push(`:${chain} - [0:0]`);
  for (const chain of deleted) out.push(`:${chain} - [0:0]`);
  for (const part of parts) for (const rules of part.values()) if (rules) out.push(rules);
  out.push(...extra);
  for (const chain of deleted) out.push(`-X ${chain}`);
  out.push('COMMIT');
}

/** Extra lines per table (e.g. the jumps from built-in chains), written after the table's rules. */
export type ExtraLines = Partial<Record<IptablesTable, readonly string[]>>;

/** The nat chains as a list of maps with distinct names: top-level, then each port's (no merging). */
function natParts(rs: IptablesRuleset): readonly ReadonlyMap<string, string>[] {
  return rs.uniqueChains ? [rs.natTop, ...rs.ports.map((p) => p.natChains)] : [rs.nat];
}

/**
 * What changed between two renders, port by port: the ports of `prev` that `next` no longer has (by
 * identity; unchanged ports are the memo's same objects) and the ports `next` added. Undefined when a
 * render has duplicated port identities (then chains are compared one by one).
 */
function portDiff(prev: IptablesRuleset, next: IptablesRuleset): { removed: Map<string, string>; added: Map<string, string> } | undefined {
  if (!prev.uniqueChains || !next.uniqueChains) return undefined;
  const before = new Set(prev.ports);
  const after = new Set(next.ports);
  const removed = new Map<string, string>();
  const added = new Map<string, string>();
  for (const p of prev.ports) if (!after.has(p)) for (const [c, r] of p.natChains) removed.set(c, r);
  for (const p of next.ports) if (!before.has(p)) for (const [c, r] of p.natChains) added.set(c, r);
  return { removed, added };
}

/** Chains of `prev` that `next` no longer has (to flush and delete). */
function staleChains(prev: IptablesRuleset | undefined, next: IptablesRuleset, table: IptablesTable): string[] {
  if (!prev) return [];
  const diff = table === 'nat' ? portDiff(prev, next) : undefined;
  if (diff) return [...diff.removed.keys()].filter((c) => !diff.added.has(c));
  return [...prev[table].keys()].filter((c) => !next[table].has(c) && c !== KUBELET_FIREWALL_CHAIN);
}

/**
 * The complete `iptables-restore --noflush` input, with the canary chains. Chains of `previous` that
 * are gone are flushed and deleted (`-X`) in the same transaction.
 */
export function iptablesRestoreFull(rs: IptablesRuleset, previous?: IptablesRuleset, extra: ExtraLines = {}): string {
  const out: string[] = [];
  writeTable(out, 'filter', rs.filter, staleChains(previous, rs, 'filter'), extra.filter, true);
  writeTable(out, 'nat', natParts(rs), staleChains(previous, rs, 'nat'), extra.nat, true);
  out.push('*mangle', `:${CANARY_CHAIN} - [0:0]`, 'COMMIT');
  return out.join('\n') + '\n';
}

/**
 * A full sync as several `iptables-restore --noflush` transactions, for iptables-nft: its restore time
 * grows superlinearly with the transaction (measured, 1.8.9: 1k Services × 10 endpoints in one
 * transaction 40 s, in four 2.5 s), so at scale each Service's chains go in bounded batches (a Service's
 * chains always together: each batch leaves every Service consistent), then one last transaction
 * writes the top-level chains that make them reachable, deletes stale chains, and adds the canaries
 * and jumps. Not atomic as a whole: during the sync, some Services already use their new chains.
 * A ruleset that fits in one batch is the single transaction of `iptablesRestoreFull`.
 */
export function iptablesRestoreFullChunks(rs: IptablesRuleset, previous?: IptablesRuleset, extra: ExtraLines = {}, maxLines = 4000): string[] {
  let total = 0;
  for (const p of rs.ports) total += p.natChains.size * 3;
  if (!rs.uniqueChains || total <= maxLines) return [iptablesRestoreFull(rs, previous, extra)];
  const chunks: string[] = [];
  // Per-Service chains jump to KUBE-MARK-MASQ: the first batch creates it (fixed rules; rewritten last).
  let batch: ReadonlyMap<string, string>[] = [new Map([['KUBE-MARK-MASQ', rs.natTop.get('KUBE-MARK-MASQ') ?? '']])];
  let lines = 0;
  const flush = () => {
    const out: string[] = [];
    writeTable(out, 'nat', batch, []);
    chunks.push(out.join('\n') + '\n');
    batch = [];
    lines = 0;
  };
  for (const p of rs.ports) {
    if (!p.natChains.size) continue;
    batch.push(p.natChains);
    lines += p.natChains.size * 3;
    if (lines >= maxLines) flush();
  }
  if (batch.length) flush();
  const last: string[] = [];
  writeTable(last, 'filter', rs.filter, staleChains(previous, rs, 'filter'), extra.filter, true);
  writeTable(last, 'nat', rs.natTop, staleChains(previous, rs, 'nat'), extra.nat, true);
  last.push('*mangle', `:${CANARY_CHAIN} - [0:0]`, 'COMMIT');
  chunks.push(last.join('\n') + '\n');
  return chunks;
}

/**
 * The chains a partial sync rewrites: those that are new or whose rules changed, top-level ones
 * included. kube-proxy rewrites the top-level chains on every sync; rewriting an unchanged chain
 * changes nothing in the kernel but costs iptables-nft one rule per Service (measured at 10k
 * Services: 1.4 s with KUBE-SERVICES rewritten, 50-70 ms without).
 */
export function changedChains(prev: IptablesRuleset, next: IptablesRuleset, table: IptablesTable): Map<string, string> {
  const out = new Map<string, string>();
  const diff = table === 'nat' ? portDiff(prev, next) : undefined;
  if (diff) {
    // Unchanged ports' chains are unchanged; a changed port's chain is rewritten when its text differs.
    for (const [chain, rules] of next.natTop) if (prev.natTop.get(chain) !== rules) out.set(chain, rules);
    for (const [chain, rules] of diff.added) if (diff.removed.get(chain) !== rules) out.set(chain, rules);
    return out;
  }
  for (const [chain, rules] of next[table]) if (prev[table].get(chain) !== rules) out.set(chain, rules);
  return out;
}

/**
 * Partial `iptables-restore --noflush` input relative to the installed `prev` (KEP-3453): only the
 * tables with changed or deleted chains; '' when nothing changed.
 */
export function iptablesRestorePartial(prev: IptablesRuleset, next: IptablesRuleset): string {
  const out: string[] = [];
  for (const table of ['filter', 'nat'] as const) {
    const changed = changedChains(prev, next, table);
    const stale = staleChains(prev, next, table);
    if (changed.size || stale.length) writeTable(out, table, changed, stale);
  }
  return out.length ? out.join('\n') + '\n' : '';
}

/** A jump as an iptables-restore line: `-I FROM 1 ... -j TO` (insert) or `-D FROM ... -j TO` (delete). */
export function jumpRestoreLine(j: IptablesJump, verb: '-I' | '-D'): string {
  return `${verb} ${j.from}${verb === '-I' ? ' 1' : ''} ${j.args.length ? `${quoteArgs(j.args)} ` : ''}-j ${j.to}`;
}

/**
 * Whether `listing` (the output of `iptables -t T -S FROM`) already holds jump `j`: a rule in FROM that
 * jumps to j.to with j's comment. (iptables normalises the rest of the match text, so compare just these.)
 */
export function hasJump(listing: string, j: IptablesJump): boolean {
  if (!j.args.includes('--comment')) return listing.split('\n').includes(`-A ${j.from} -j ${j.to}`);
  const commentArg = j.args[j.args.indexOf('--comment') + 1]!;
  return listing.split('\n').some((line) => line.startsWith(`-A ${j.from} `) && line.endsWith(` -j ${j.to}`) && line.includes(commentArg));
}

/** Human-readable output for `vipwasm rules --mode iptables`: the jumps as comments, then the payload. */
export function renderIptablesText(model: ServiceModel, options: Partial<RuleOptions> = {}): string {
  const rs = renderIptables(model, options);
  const jumps = [...IPTABLES_JUMPS, ...KUBELET_JUMPS].map((j) => `# -t ${j.table} -I ${j.from} ${j.args.length ? `${quoteArgs(j.args)} ` : ''}-j ${j.to}`);
  const tool = rs.family === 6 ? 'ip6tables-restore' : 'iptables-restore';
  return [`# ${tool} --noflush input; jumps from built-in chains (installed with ${tool.replace('-restore', '')} -I):`, ...jumps, ''].join('\n') + iptablesRestoreFull(rs);
}

function quoteArgs(args: readonly string[]): string {
  return args.map((a) => (a.includes(' ') ? `"${a}"` : a)).join(' ');
}
