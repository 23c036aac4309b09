/**
 * nftables mode: the model rendered as `nft -f` input with kube-proxy's nftables layout
 * (pkg/proxy/nftables/proxier.go; reference/kube-proxy.md §3): one table per family, `service-ips` /
 * `service-nodeports` verdict maps, `numgen` dispatch, affinity sets with timeouts, no-endpoint maps.
 * Pure functions, browser-safe.
 *
 * `renderNftables` builds a structured ruleset; `nftTransactionFull` writes it whole (the table is
 * deleted and re-created in the same atomic transaction), `nftTransactionPartial` writes only what
 * changed relative to the installed ruleset: new / rewritten / deleted chains, sets and map elements.
 */
import type { ServiceModel } from '../engine/model.js';
import { portView } from './endpoints.js';
import { nftFamily, renderNftPort, type NftPortObjects } from './nftables-service.js';
import { PortRenderCache } from './port-cache.js';
import { familyOf, masqueradeMark, nodePortIPs, ruleOptions, type RuleOptions } from './options.js';

export interface NftRuleset {
  readonly family: 4 | 6;
  readonly table: string;
  /** `ip` or `ip6`. */
  readonly tableFamily: 'ip' | 'ip6';
  /** Table, sets, maps, base and helper chains with their rules: fixed for given options. */
  readonly base: readonly string[];
  /** Per-service chains: name → rule bodies (built on first use). */
  readonly chains: ReadonlyMap<string, readonly string[]>;
  /** Affinity sets: name → spec (built on first use). */
  readonly sets: ReadonlyMap<string, string>;
  /**
   * Each port's objects, model order. They come from the per-port memo, so a port unchanged since the
   * previous render is the same object: partial syncs diff ports by identity, not 110k chains by text.
   */
  readonly ports: readonly NftPortObjects[];
  /** No port identity appears twice, so no two ports own a chain or set of the same name. */
  readonly uniqueNames: boolean;
  /** `nodeport-ips` elements (this node's addresses; no port adds any): key → text. */
  readonly nodeElements: ReadonlyMap<string, string>;
  /**
   * Set/map name → element key → element text, every container in declaration order (built on first
   * use: a partial sync between renders with unique names looks only at the changed ports' keys).
   */
  readonly elements: ReadonlyMap<string, ReadonlyMap<string, string>>;
}

/** The sets and maps kube-proxy declares, in declaration order. */
const ELEMENT_CONTAINERS = ['hairpin-connections', 'cluster-ips', 'nodeport-ips', 'firewall-ips', 'no-endpoint-nodeports', 'no-endpoint-services', 'service-ips', 'service-nodeports'];

function baseObjects(o: RuleOptions, nodeIPs: readonly string[], allServiceCIDRs: readonly string[]): string[] {
  const { ip, addrType } = nftFamily(o);
  const T = `${ip} ${o.nftTable}`;
  const mark = masqueradeMark(o);
  const loopback = o.family === 6 ? '::1' : '127.0.0.0/8';
  // No NodePort addresses = kube-proxy's MatchAll: every local address but loopback, and no nodeport-ips set.
  const matchAll = nodeIPs.length === 0;
  const nodePortMatch = matchAll ? `fib daddr type local ${ip} daddr != ${loopback}` : `${ip} daddr @nodeport-ips`;
  const noEndpointNodePortMatch = matchAll ? `${ip} daddr != ${loopback}` : `${ip} daddr @nodeport-ips`;
  const lines = [
    `add table ${T} { comment "rules for kube-proxy" ; }`,
    `add set ${T} hairpin-connections { type ${addrType} . ${addrType} . inet_proto . inet_service ; comment "service hairpin connections" ; }`,
    `add set ${T} cluster-ips { type ${addrType} ; comment "Active ClusterIPs" ; }`,
    ...(matchAll ? [] : [`add set ${T} nodeport-ips { type ${addrType} ; comment "IPs that accept NodePort traffic" ; }`]),
    `add map ${T} firewall-ips { type ${addrType} . inet_proto . inet_service : verdict ; comment "destinations that are subject to LoadBalancerSourceRanges" ; }`,
    `add map ${T} no-endpoint-nodeports { type inet_proto . inet_service : verdict ; comment "vmap to drop or reject packets to service nodeports with no endpoints" ; }`,
    `add map ${T} no-endpoint-services { type ${addrType} . inet_proto . inet_service : verdict ; comment "vmap to drop or reject packets to services with no endpoints" ; }`,
    `add map ${T} service-ips { type ${addrType} . inet_proto . inet_service : verdict ; comment "ClusterIP, ExternalIP and LoadBalancer IP traffic" ; }`,
    `add map ${T} service-nodeports { type inet_proto . inet_service : verdict ; comment "NodePort traffic" ; }`,
    `add chain ${T} cluster-ips-check`,
    `add chain ${T} filter-prerouting-pre-dnat { type filter hook prerouting priority -110 ; }`,
    `add chain ${T} filter-output-pre-dnat { type filter hook output priority -110 ; }`,
    `add chain ${T} filter-forward { type filter hook forward priority 0 ; }`,
    `add chain ${T} filter-input { type filter hook input priority 0 ; }`,
    `add chain ${T} filter-output { type filter hook output priority 0 ; }`,
    `add chain ${T} firewall-check`,
    `add chain ${T} masquerading`,
    `add chain ${T} nat-output { type nat hook output priority -100 ; }`,
    `add chain ${T} nat-postrouting { type nat hook postrouting priority 100 ; }`,
    `add chain ${T} nat-prerouting { type nat hook prerouting priority -100 ; }`,
    `add chain ${T} nodeport-endpoints-check`,
    `add chain ${T} reject-chain { comment "helper for @no-endpoint-services / @no-endpoint-nodeports" ; }`,
    `add chain ${T} services`,
    `add chain ${T} service-endpoints-check`,
    `add rule ${T} cluster-ips-check ${ip} daddr @cluster-ips reject comment "Reject traffic to invalid ports of ClusterIPs"`,
  ];
  // The Service CIDRs of this family (ServiceCIDR objects and --service-cluster-ip-range), as
  // kube-proxy's OnServiceCIDRsChanged hands them over.
  const serviceCIDRs = allServiceCIDRs.filter((c) => familyOf(c.split('/')[0]!) === o.family);
  if (serviceCIDRs.length) {
    lines.push(`add rule ${T} cluster-ips-check ${ip} daddr { ${serviceCIDRs.join(', ')} } drop comment "Drop traffic to unallocated ClusterIPs"`);
  }
  lines.push(
    `add rule ${T} filter-prerouting-pre-dnat ct state new jump firewall-check`,
    `add rule ${T} filter-forward ct state new jump service-endpoints-check`,
    `add rule ${T} filter-forward ct state new jump cluster-ips-check`,
    `add rule ${T} filter-input ct state new jump nodeport-endpoints-check`,
    `add rule ${T} filter-input ct state new jump service-endpoints-check`,
    `add rule ${T} filter-output ct state new jump service-endpoints-check`,
    `add rule ${T} filter-output-pre-dnat ct state new jump firewall-check`,
    `add rule ${T} filter-output ct state new jump cluster-ips-check`,
    `add rule ${T} firewall-check ${ip} daddr . meta l4proto . th dport vmap @firewall-ips`,
    `add rule ${T} masquerading mark and ${mark} != 0 mark set mark xor ${mark} masquerade fully-random`,
    `add rule ${T} masquerading ct status dnat ${ip} saddr . ${ip} daddr . meta l4proto . th dport @hairpin-connections masquerade fully-random`,
    `add rule ${T} nat-output jump services`,
    `add rule ${T} nat-postrouting jump masquerading`,
    `add rule ${T} nat-prerouting jump services`,
    `add rule ${T} nodeport-endpoints-check ${noEndpointNodePortMatch} meta l4proto . th dport vmap @no-endpoint-nodeports`,
    `add rule ${T} reject-chain reject`,
  );
  // ClusterIP masquerading is one rule on the cluster-ips set (kube-proxy v1.37), not one per Service.
  if (o.masqueradeAll) lines.push(`add rule ${T} services ${ip} daddr @cluster-ips mark set mark or ${mark} comment "masquerade all clusterIP traffic"`);
  else if (o.clusterCIDRs.length) {
    lines.push(`add rule ${T} services ${ip} daddr @cluster-ips ${ip} saddr != ${o.clusterCIDRs[0]} mark set mark or ${mark} comment "masquerade clusterIP traffic from outside cluster"`);
  }
  lines.push(
    `add rule ${T} services ${ip} daddr . meta l4proto . th dport vmap @service-ips`,
    `add rule ${T} services ${nodePortMatch} meta l4proto . th dport vmap @service-nodeports`,
    `add rule ${T} service-endpoints-check ${ip} daddr . meta l4proto . th dport vmap @no-endpoint-services`,
  );
  return lines;
}

const portCache = new PortRenderCache<NftPortObjects | undefined>();

/** Drops the per-port render memo (for cold-render benchmarks). */
export function clearNftablesRenderCache(): void {
  portCache.clear();
}

/** Renders the whole ruleset for one IP family. */
export function renderNftables(model: ServiceModel, options: Partial<RuleOptions> = {}): NftRuleset {
  const o = ruleOptions(options);
  const nodeIPs = model.nodeIPs.filter((ip) => familyOf(ip) === o.family);
  const ports: NftPortObjects[] = [];
  const identities = new Set<string>();
  // kube-proxy's nftables default is `primary` (the node IPs); none, or a match-all list, is every local address.
  const npIPs = o.nodePortAddresses.length ? (nodePortIPs(model.nodeIPs, o) ?? []) : nodeIPs;
  const nodeElements = new Map(npIPs.map((ip) => [ip, ip]));
  const context = JSON.stringify({ o, nodeIPs });
  for (const sp of model.servicePorts) {
    identities.add(`${sp.namespace}/${sp.name}:${sp.portName}/${sp.protocol}`);
    const objs = portCache.get(sp, context, () => {
      const v = portView(sp, o.family);
      return v ? renderNftPort(v, { options: o, nodeIPs }) : undefined;
    });
    if (objs) ports.push(objs);
  }
  portCache.endRender();
  let chains: Map<string, readonly string[]> | undefined;
  let sets: Map<string, string> | undefined;
  let elements: Map<string, Map<string, string>> | undefined;
  return {
    family: o.family,
    table: o.nftTable,
    tableFamily: nftFamily(o).ip,
    base: baseObjects(o, npIPs, model.serviceCIDRs ?? []),
    ports,
    uniqueNames: identities.size === model.servicePorts.length,
    nodeElements,
    get elements(): ReadonlyMap<string, ReadonlyMap<string, string>> {
      return (elements ??= allElements(nodeElements, ports));
    },
    get chains(): ReadonlyMap<string, readonly string[]> {
      return (chains ??= merged(ports, (p) => p.chains));
    },
    get sets(): ReadonlyMap<string, string> {
      return (sets ??= merged(ports, (p) => p.sets));
    },
  };
}

/** Every container's elements: this node's addresses, then each port's in model order (a repeated key keeps its place, the last text wins). */
function allElements(nodeElements: ReadonlyMap<string, string>, ports: readonly NftPortObjects[]): Map<string, Map<string, string>> {
  const elements = new Map<string, Map<string, string>>(ELEMENT_CONTAINERS.map((name) => [name, new Map()]));
  const nodePortIPs = elements.get('nodeport-ips')!;
  for (const [key, text] of nodeElements) nodePortIPs.set(key, text);
  for (const p of ports) for (const e of p.elements) elements.get(e.container)!.set(e.key, e.text);
  return elements;
}

/** Where a key sits in `allElements`' container (the order of its first occurrence) and its (last) text. */
interface ElementSlot {
  readonly order: number;
  text: string;
}

/**
 * The slots `allElements` would give the `wanted` keys, without building every container: one pass
 * over the ports' element lists, looking up only the wanted keys.
 */
function elementSlots(ports: readonly NftPortObjects[], wanted: ReadonlyMap<string, ReadonlySet<string>>): Map<string, Map<string, ElementSlot>> {
  const found = new Map<string, Map<string, ElementSlot>>();
  let order = 0;
  for (const p of ports) {
    for (const e of p.elements) {
      order++;
      if (!wanted.get(e.container)?.has(e.key)) continue;
      let slots = found.get(e.container);
      if (!slots) found.set(e.container, (slots = new Map()));
      const slot = slots.get(e.key);
      if (slot) slot.text = e.text;
      else slots.set(e.key, { order, text: e.text });
    }
  }
  return found;
}

/** The wanted keys of one container as key → text, in the order `allElements` would list them. */
function inOrder(slots: ReadonlyMap<string, ElementSlot> | undefined): Map<string, string> {
  return new Map(slots ? [...slots].sort((a, b) => a[1].order - b[1].order).map(([key, slot]) => [key, slot.text]) : []);
}

/** The `delete element` lines (`deletes`) or the `add element` lines that turn `before` into `after`. */
function elementLines(out: string[], T: string, container: string, before: ReadonlyMap<string, string>, after: ReadonlyMap<string, string>, deletes: boolean): void {
  if (deletes) {
    for (const [key, text] of before) if (after.get(key) !== text) out.push(`delete element ${T} ${container} { ${key} }`);
  } else {
    for (const [key, text] of after) if (before.get(key) !== text) out.push(`add element ${T} ${container} { ${text} }`);
  }
}

/**
 * The element changes between two renders, as comparing every container would write them (all
 * deletes, then all adds). With `gone` / `come` (the ports only in prev / only in next; every other
 * port is the same memo object in both), only keys those ports carry can differ: they are looked up,
 * the rest is not built at all. (Exact unless two unchanged ports write one key with different texts
 * and swap places in the model: two Services claiming one address and port, which the model refuses.)
 */
function writeElementChanges(out: string[], T: string, prev: NftRuleset, next: NftRuleset, changed?: { gone: readonly NftPortObjects[]; come: readonly NftPortObjects[] }): void {
  if (!changed) {
    for (const deletes of [true, false]) {
      for (const container of ELEMENT_CONTAINERS) elementLines(out, T, container, prev.elements.get(container)!, next.elements.get(container)!, deletes);
    }
    return;
  }
  const wanted = new Map<string, Set<string>>();
  for (const p of [...changed.gone, ...changed.come]) {
    for (const e of p.elements) {
      let keys = wanted.get(e.container);
      if (!keys) wanted.set(e.container, (keys = new Set()));
      keys.add(e.key);
    }
  }
  const before = elementSlots(prev.ports, wanted);
  const after = elementSlots(next.ports, wanted);
  const sides = new Map(
    ELEMENT_CONTAINERS.map((c) => [c, c === 'nodeport-ips' ? [prev.nodeElements, next.nodeElements] : [inOrder(before.get(c)), inOrder(after.get(c))]] as const),
  );
  for (const deletes of [true, false]) {
    for (const [container, [b, a]] of sides) elementLines(out, T, container, b, a, deletes);
  }
}

function merged<V>(ports: readonly NftPortObjects[], part: (p: NftPortObjects) => ReadonlyMap<string, V>): Map<string, V> {
  const out = new Map<string, V>();
  for (const p of ports) for (const [name, value] of part(p)) out.set(name, value);
  return out;
}

/** The chains (or sets) as maps with distinct names: each port's when names are unique (no merging). */
function parts<V>(rs: NftRuleset, part: (p: NftPortObjects) => ReadonlyMap<string, V>, all: () => ReadonlyMap<string, V>): readonly ReadonlyMap<string, V>[] {
  return rs.uniqueNames ? rs.ports.map(part) : [all()];
}

function tableRef(rs: NftRuleset): string {
  return `${rs.tableFamily} ${rs.table}`;
}

function writeChain(out: string[], T: string, name: string, rules: readonly string[]): void {
  for (const rule of rules) out.push(`add rule ${T} ${name} ${rule}`);
}

/** The complete transaction: the table is deleted and re-created atomically (a full sync). */
export function nftTransactionFull(rs: NftRuleset): string {
  const T = tableRef(rs);
  // Pieces, not one template string per line: at 10k Services that is ~450k lines whose concatenations
  // would be garbage the moment they are joined (measured: a third less GC).
  const out: string[] = [];
  const line = (...pieces: string[]) => {
    for (const piece of pieces) out.push(piece);
    out.push('\n');
  };
  line('add table ', T);
  line('delete table ', T);
  for (const text of rs.base) line(text);
  const chains = parts(rs, (p) => p.chains, () => rs.chains);
  const addRule = `add rule ${T} `;
  for (const sets of parts(rs, (p) => p.sets, () => rs.sets)) for (const [name, spec] of sets) line('add set ', T, ' ', name, ' ', spec);
  const addChain = `add chain ${T} `;
  for (const part of chains) for (const name of part.keys()) out.push(addChain, name, '\n');
  for (const part of chains) {
    for (const [name, rules] of part) for (const rule of rules) out.push(addRule, name, ' ', rule, '\n');
  }
  for (const [container, els] of rs.elements) for (const text of els.values()) line('add element ', T, ' ', container, ' { ', text, ' }');
  return out.join('');
}

function sameRules(a: readonly string[] | undefined, b: readonly string[]): boolean {
  return a !== undefined && a.length === b.length && a.every((r, i) => r === b[i]);
}

/**
 * Only the changes from `prev` (installed) to `next`: O(changed objects), as kube-proxy's partial sync
 * with nftElementStorage. Requires both to have the same base (same options); otherwise sync full.
 */
export function nftTransactionPartial(prev: NftRuleset, next: NftRuleset): string {
  const T = tableRef(next);
  const out: string[] = [];
  // With unique names, only the chains and sets of ports that are not the same (memo) object in both
  // renders can differ: compare those, in the same order as comparing everything would.
  let prevChains: ReadonlyMap<string, readonly string[]>;
  let nextChains: ReadonlyMap<string, readonly string[]>;
  let prevSets: ReadonlyMap<string, string>;
  let nextSets: ReadonlyMap<string, string>;
  let changed: { gone: NftPortObjects[]; come: NftPortObjects[] } | undefined;
  if (!prev.uniqueNames || !next.uniqueNames) {
    ({ chains: prevChains, sets: prevSets } = prev);
    ({ chains: nextChains, sets: nextSets } = next);
  } else {
    const before = new Set(prev.ports);
    const after = new Set(next.ports);
    const gone = prev.ports.filter((p) => !after.has(p));
    const come = next.ports.filter((p) => !before.has(p));
    prevChains = merged(gone, (p) => p.chains);
    nextChains = merged(come, (p) => p.chains);
    prevSets = merged(gone, (p) => p.sets);
    nextSets = merged(come, (p) => p.sets);
    changed = { gone, come };
  }
  // A changed spec (an affinity timeout) is re-added: `add set` updates an existing set's timeout, as kube-proxy does.
  for (const [name, spec] of nextSets) if (prevSets.get(name) !== spec) out.push(`add set ${T} ${name} ${spec}`);
  const rewritten = [...nextChains].filter(([name, rules]) => !sameRules(prevChains.get(name), rules));
  for (const [name] of rewritten) {
    out.push(prevChains.has(name) ? `flush chain ${T} ${name}` : `add chain ${T} ${name}`);
  }
  for (const [name, rules] of rewritten) writeChain(out, T, name, rules);
  writeElementChanges(out, T, prev, next, changed);
  const staleChains = [...prevChains.keys()].filter((name) => !nextChains.has(name));
  for (const name of staleChains) out.push(`flush chain ${T} ${name}`);
  for (const name of staleChains) out.push(`delete chain ${T} ${name}`);
  for (const name of prevSets.keys()) if (!nextSets.has(name)) out.push(`delete set ${T} ${name}`);
  return out.length ? out.join('\n') + '\n' : '';
}

/** Whether a partial transaction from `prev` is possible (same table and base objects). */
export function nftSameBase(prev: NftRuleset, next: NftRuleset): boolean {
  return prev.table === next.table && prev.family === next.family && sameRules(prev.base, next.base);
}

/** Human-readable output for `vipwasm rules --mode nftables`: the full `nft -f` transaction. */
export function renderNftablesText(model: ServiceModel, options: Partial<RuleOptions> = {}): string {
  return nftTransactionFull(renderNftables(model, options));
}
