/**
 * The nftables objects of one Service port, as kube-proxy's nftables proxier writes them
 * (pkg/proxy/nftables/proxier.go; reference/kube-proxy.md §3): service / local / external /
 * firewall / endpoint chains, per-endpoint affinity sets, and the map elements that point at them. Pure.
 */
import { servicePortKey, type ModelBackend } from '../engine/model.js';
import { cidrContains } from '../engine/address.js';
import { dispatchable, type PortView } from './endpoints.js';
import { nftEndpointNames, nftServiceChains, type NftServiceChainNames } from './names.js';
import type { RuleOptions } from './options.js';

/** One element of a set or map: its container, its key (what `delete element` needs) and its full text. */
export interface NftElement {
  readonly container: string;
  readonly key: string;
  readonly text: string;
}

export interface NftPortObjects {
  /** Chain name → rule bodies. */
  readonly chains: Map<string, string[]>;
  /** Affinity set name → set spec (`{ type ... }`). */
  readonly sets: Map<string, string>;
  /** The elements this port adds to the shared sets and maps, in write order (one flat list: syncs scan it for every port). */
  readonly elements: NftElement[];
}

export interface NftPortContext {
  readonly options: RuleOptions;
  readonly nodeIPs: readonly string[];
}

/** `ip` / `ip6` match keyword and address type for one family. */
export function nftFamily(o: RuleOptions): { ip: 'ip' | 'ip6'; addrType: string } {
  return o.family === 6 ? { ip: 'ip6', addrType: 'ipv6_addr' } : { ip: 'ip', addrType: 'ipv4_addr' };
}

function addElement(objs: NftPortObjects, set: string, key: string, value?: string, comment?: string): void {
  const c = comment ? ` comment "${comment}"` : '';
  const text = value ? `${key}${c} : ${value}` : `${key}${c}`;
  objs.elements.push({ container: set, key, text });
}

/**
 * The endpoint pick: `numgen random mod N vmap { 0 : goto A , 1 : goto B }` (kube-proxy), with
 * weights as index ranges (`0-2 : goto A`); scheduler `rr` with options.roundRobin uses `numgen inc` (true round robin of
 * new connections: nat chains only see a connection's first packet).
 */
/** The endpoint chain and affinity set names of one port's endpoints, each computed once per render. */
type EndpointNames = (b: ModelBackend) => { chain: string; affinitySet: string };

function dispatchRule(v: PortView, endpoints: readonly ModelBackend[], roundRobin: boolean, epNames: EndpointNames): string {
  const list = dispatchable(endpoints).length ? dispatchable(endpoints) : [...endpoints];
  const rr = roundRobin && v.sp.scheduler === 'rr';
  const weighted = !rr && list.some((b) => b.weight !== list[0]!.weight);
  let next = 0;
  const entries = list.map((b) => {
    const span = weighted ? b.weight : 1;
    const slot = span === 1 ? `${next}` : `${next}-${next + span - 1}`;
    next += span;
    return `${slot} : goto ${epNames(b).chain}`;
  });
  const mode = rr ? 'inc' : 'random';
  return `numgen ${mode} mod ${next} vmap { ${entries.join(' , ')} }`;
}

function writePolicyChain(v: PortView, endpoints: readonly ModelBackend[], masq: string | undefined, ctx: NftPortContext, epNames: EndpointNames): string[] {
  const { ip } = nftFamily(ctx.options);
  const rules: string[] = masq ? [masq] : [];
  if (v.sp.sessionAffinity === 'ClientIP') {
    for (const b of endpoints) {
      const names = epNames(b);
      rules.push(`${ip} saddr @${names.affinitySet} goto ${names.chain}`);
    }
  }
  rules.push(dispatchRule(v, endpoints, ctx.options.roundRobin, epNames));
  return rules;
}

function writeExternalChain(v: PortView, ctx: NftPortContext, ip: string, names: NftServiceChainNames): string[] {
  if (!v.externalLocal) return ['jump mark-for-masquerade', `goto ${names.service}`];
  const rules: string[] = [];
  const podCIDR = ctx.options.clusterCIDRs[0];
  if (podCIDR) rules.push(`${ip} saddr ${podCIDR} goto ${names.service} comment "short-circuit pod traffic"`);
  rules.push('fib saddr type local jump mark-for-masquerade comment "masquerade local traffic"');
  rules.push(`fib saddr type local goto ${names.service} comment "short-circuit local traffic"`);
  if (v.hasExternalEndpoints) rules.push(`goto ${names.local}`);
  return rules;
}

function writeFirewallChain(v: PortView, ctx: NftPortContext, ip: string): string[] {
  const allowed = [...v.sourceRanges];
  const nodeInRange = v.sourceRanges.some((cidr) => ctx.nodeIPs.some((n) => safeContains(cidr, n)));
  if (nodeInRange) allowed.push(...v.loadBalancerIPs);
  return [`${ip} saddr != { ${allowed.join(', ')} } drop`];
}

function safeContains(cidr: string, ip: string): boolean {
  try {
    return cidrContains(cidr, ip);
  } catch {
    return false;
  }
}

function writeEndpoint(v: PortView, b: ModelBackend, objs: NftPortObjects, ip: string, addrType: string, epNames: EndpointNames): void {
  const names = epNames(b);
  const rules = [`${ip} saddr ${b.ip} jump mark-for-masquerade`];
  if (v.sp.sessionAffinity === 'ClientIP') {
    objs.sets.set(names.affinitySet, `{ type ${addrType} ; flags dynamic,timeout ; timeout ${v.sp.affinityTimeoutSeconds}s ; }`);
    rules.push(`update @${names.affinitySet} { ${ip} saddr }`);
  }
  const dest = b.ip.includes(':') ? `[${b.ip}]:${b.port}` : `${b.ip}:${b.port}`;
  rules.push(`meta l4proto ${v.sp.protocol.toLowerCase()} dnat to ${dest}`);
  objs.chains.set(names.chain, rules);
}

/** Map elements that route the port's destinations to its chains, or to drop / reject. */
function writeElements(v: PortView, objs: NftPortObjects, names: NftServiceChainNames): void {
  const proto = v.sp.protocol.toLowerCase();
  const port = v.sp.port;
  const spn = servicePortKey(v.sp);
  const noEpVerdict = v.hasEndpoints ? 'drop' : 'goto reject-chain';
  addElement(objs, 'cluster-ips', v.clusterIP!);
  const internal = v.internalLocal ? names.local : names.service;
  if (v.hasInternalEndpoints) addElement(objs, 'service-ips', `${v.clusterIP} . ${proto} . ${port}`, `goto ${internal}`);
  else addElement(objs, 'no-endpoint-services', `${v.clusterIP} . ${proto} . ${port}`, noEpVerdict, spn);
  for (const extIP of [...v.externalIPs, ...v.loadBalancerIPs]) {
    if (v.usesExternalChain) addElement(objs, 'service-ips', `${extIP} . ${proto} . ${port}`, `goto ${names.external}`);
    if (!v.hasExternalEndpoints) addElement(objs, 'no-endpoint-services', `${extIP} . ${proto} . ${port}`, noEpVerdict, spn);
  }
  if (v.usesFirewallChain) {
    for (const lb of v.loadBalancerIPs) addElement(objs, 'firewall-ips', `${lb} . ${proto} . ${port}`, `goto ${names.firewall}`);
  }
  if (v.sp.nodePort !== 0) {
    if (v.usesExternalChain) addElement(objs, 'service-nodeports', `${proto} . ${v.sp.nodePort}`, `goto ${names.external}`);
    if (!v.hasExternalEndpoints) addElement(objs, 'no-endpoint-nodeports', `${proto} . ${v.sp.nodePort}`, noEpVerdict, spn);
  }
}

/** Every nftables object of one Service port. */
export function renderNftPort(v: PortView, ctx: NftPortContext): NftPortObjects {
  const { ip, addrType } = nftFamily(ctx.options);
  const names = nftServiceChains(v.sp);
  const objs: NftPortObjects = { chains: new Map(), sets: new Map(), elements: [] };
  const o = ctx.options;
  const epMemo = new Map<ModelBackend, { chain: string; affinitySet: string }>();
  const epNames: EndpointNames = (b) => {
    let n = epMemo.get(b);
    if (n === undefined) epMemo.set(b, (n = nftEndpointNames(v.sp, b)));
    return n;
  };
  const masq =
    v.hasInternalEndpoints && (o.masqueradeAll || o.clusterCIDRs.length)
      ? `${ip} daddr ${v.clusterIP} ${o.masqueradeAll ? '' : `${ip} saddr != ${o.clusterCIDRs[0]} `}jump mark-for-masquerade`
      : undefined;
  const usesCluster = (!v.internalLocal || v.externallyAccessible) && v.clusterEndpoints.length > 0;
  const usesLocal = (v.internalLocal || v.externalLocal) && v.localEndpoints.length > 0;
  if (usesCluster) objs.chains.set(names.service, writePolicyChain(v, v.clusterEndpoints, v.internalLocal ? undefined : masq, ctx, epNames));
  if (usesLocal) objs.chains.set(names.local, writePolicyChain(v, v.localEndpoints, v.internalLocal ? masq : undefined, ctx, epNames));
  if (v.usesExternalChain) objs.chains.set(names.external, writeExternalChain(v, ctx, ip, names));
  if (v.usesFirewallChain) objs.chains.set(names.firewall, writeFirewallChain(v, ctx, ip));
  for (const b of v.reachableEndpoints) writeEndpoint(v, b, objs, ip, addrType, epNames);
  writeElements(v, objs, names);
  return objs;
}
