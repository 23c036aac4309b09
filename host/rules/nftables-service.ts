/**
 * The nftables objects of one Service port, as kube-proxy's nftables proxier writes them
 * (pkg/proxy/nftables/proxier.go; reference/kube-proxy.md §3): service / local / external /
 * firewall / endpoint chains, per-endpoint affinity sets, and the map elements that point at them. Pure.
 */
import { servicePortKey, type ModelBackend } from '../engine/model.js';
import { cidrContains } from '../engine/address.js';
import { dispatchable, type PortView } from './endpoints.js';
import { nftEndpointNames, nftServiceChains, type NftServiceChainNames } from './names.js';
import { masqueradeMark, type RuleOptions } from './options.js';

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

/** The endpoint chain and affinity set names of one port's endpoints, each computed once per render. */
type EndpointNames = (b: ModelBackend) => { chain: string; affinitySet: string };

/** `ip:port`, or `[ip]:port` for IPv6 (Go's net.JoinHostPort, as kube-proxy writes DNAT targets). */
function hostPort(b: ModelBackend): string {
  return b.ip.includes(':') ? `[${b.ip}]:${b.port}` : `${b.ip}:${b.port}`;
}

/**
 * The `numgen` pick over the endpoints: `numgen random mod N` with one slot per endpoint (kube-proxy),
 * weights as index ranges (`0-2 : …`), and `numgen inc` for scheduler `rr` with options.roundRobin
 * (true round robin of new connections: nat chains only see a connection's first packet).
 */
function numgenSlots(v: PortView, endpoints: readonly ModelBackend[], roundRobin: boolean, value: (b: ModelBackend) => string): string {
  const list = dispatchable(endpoints).length ? dispatchable(endpoints) : [...endpoints];
  const rr = roundRobin && v.sp.scheduler === 'rr';
  const weighted = !rr && list.some((b) => b.weight !== list[0]!.weight);
  let next = 0;
  const entries = list.map((b) => {
    const span = weighted ? b.weight : 1;
    const slot = span === 1 ? `${next}` : `${next}-${next + span - 1}`;
    next += span;
    return `${slot} : ${value(b)}`;
  });
  return `numgen ${rr ? 'inc' : 'random'} mod ${next} ${entries.join(' , ')}`;
}

/**
 * A policy chain (service- / local-). Without affinity kube-proxy v1.37 DNATs right here
 * (writeServiceToEndpointDNATs: one endpoint `dnat to`, several `dnat ip addr . port to numgen … map`);
 * with ClientIP affinity it checks each endpoint's affinity set, then picks an endpoint chain
 * (writeServiceToEndpointJumps).
 */
function writePolicyChain(v: PortView, endpoints: readonly ModelBackend[], ctx: NftPortContext, epNames: EndpointNames): string[] {
  const { ip } = nftFamily(ctx.options);
  const proto = v.sp.protocol.toLowerCase();
  if (v.sp.sessionAffinity !== 'ClientIP') {
    if (endpoints.length === 1) return [`meta l4proto ${proto} dnat to ${hostPort(endpoints[0]!)}`];
    const [numgen, mod, entries] = splitNumgen(numgenSlots(v, endpoints, ctx.options.roundRobin, (b) => `${b.ip} . ${b.port}`));
    return [`meta l4proto ${proto} dnat ${ip} addr . port to ${numgen} ${mod} map { ${entries} }`];
  }
  const rules = endpoints.map((b) => `${ip} saddr @${epNames(b).affinitySet} goto ${epNames(b).chain}`);
  const [numgen, mod, entries] = splitNumgen(numgenSlots(v, endpoints, ctx.options.roundRobin, (b) => `goto ${epNames(b).chain}`));
  rules.push(`${numgen} ${mod} vmap { ${entries} }`);
  return rules;
}

/** `numgen random mod 3 0 : a , 1 : b` → [`numgen random`, `mod 3`, `0 : a , 1 : b`]. */
function splitNumgen(text: string): [string, string, string] {
  const m = /^(numgen \S+) (mod \d+) (.*)$/.exec(text)!;
  return [m[1]!, m[2]!, m[3]!];
}

function writeExternalChain(v: PortView, ctx: NftPortContext, ip: string, names: NftServiceChainNames): string[] {
  const masq = `mark set mark or ${masqueradeMark(ctx.options)}`;
  if (!v.externalLocal) return [`${masq} comment "masquerade"`, `goto ${names.service}`];
  const rules: string[] = [];
  const podCIDR = ctx.options.clusterCIDRs[0];
  if (podCIDR) rules.push(`${ip} saddr ${podCIDR} goto ${names.service} comment "short-circuit pod traffic"`);
  rules.push(`fib saddr type local ${masq} comment "masquerade local traffic"`);
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

/** An endpoint chain: only Services with ClientIP affinity have them in kube-proxy v1.37. */
function writeEndpoint(v: PortView, b: ModelBackend, objs: NftPortObjects, ip: string, addrType: string, epNames: EndpointNames): void {
  const names = epNames(b);
  objs.sets.set(names.affinitySet, `{ type ${addrType} ; flags dynamic,timeout ; timeout ${v.sp.affinityTimeoutSeconds}s ; }`);
  objs.chains.set(names.chain, [`update @${names.affinitySet} { ${ip} saddr }`, `meta l4proto ${v.sp.protocol.toLowerCase()} dnat to ${hostPort(b)}`]);
}

/** kube-proxy v1.37's nftables proxier has a firewall chain whenever source ranges apply, endpoints or not. */
function usesFirewallChain(v: PortView): boolean {
  return v.loadBalancerIPs.length > 0 && v.sourceRanges.length > 0;
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
  if (usesFirewallChain(v)) {
    for (const lb of v.loadBalancerIPs) addElement(objs, 'firewall-ips', `${lb} . ${proto} . ${port}`, `goto ${names.firewall}`);
  }
  if (v.sp.nodePort !== 0) {
    if (v.usesExternalChain) addElement(objs, 'service-nodeports', `${proto} . ${v.sp.nodePort}`, `goto ${names.external}`);
    if (!v.hasExternalEndpoints) addElement(objs, 'no-endpoint-nodeports', `${proto} . ${v.sp.nodePort}`, noEpVerdict, spn);
  }
  // Hairpin traffic (a local endpoint reaching itself through the Service) is masqueraded by the
  // masquerading chain's lookup in this set, instead of a rule per endpoint chain.
  for (const b of v.reachableEndpoints) {
    if (b.local) addElement(objs, 'hairpin-connections', `${b.ip} . ${b.ip} . ${proto} . ${b.port}`);
  }
}

/** Every nftables object of one Service port. */
export function renderNftPort(v: PortView, ctx: NftPortContext): NftPortObjects {
  const { ip, addrType } = nftFamily(ctx.options);
  const names = nftServiceChains(v.sp);
  const objs: NftPortObjects = { chains: new Map(), sets: new Map(), elements: [] };
  const epMemo = new Map<ModelBackend, { chain: string; affinitySet: string }>();
  const epNames: EndpointNames = (b) => {
    let n = epMemo.get(b);
    if (n === undefined) epMemo.set(b, (n = nftEndpointNames(v.sp, b)));
    return n;
  };
  const usesCluster = (!v.internalLocal || v.externallyAccessible) && v.clusterEndpoints.length > 0;
  const usesLocal = (v.internalLocal || v.externalLocal) && v.localEndpoints.length > 0;
  if (usesCluster) objs.chains.set(names.service, writePolicyChain(v, v.clusterEndpoints, ctx, epNames));
  if (usesLocal) objs.chains.set(names.local, writePolicyChain(v, v.localEndpoints, ctx, epNames));
  if (v.usesExternalChain) objs.chains.set(names.external, writeExternalChain(v, ctx, ip, names));
  if (usesFirewallChain(v)) objs.chains.set(names.firewall, writeFirewallChain(v, ctx, ip));
  if (v.sp.sessionAffinity === 'ClientIP') for (const b of v.reachableEndpoints) writeEndpoint(v, b, objs, ip, addrType, epNames);
  writeElements(v, objs, names);
  return objs;
}
