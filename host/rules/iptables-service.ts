/**
 * The iptables rules of one Service port, in the order kube-proxy's `syncProxyRules` writes them
 * (pkg/proxy/iptables/proxier.go; reference/kube-proxy.md §1.2–1.5). Pure.
 */
import { backendKey, servicePortKey, type ModelBackend } from '../engine/model.js';
import { cidrContains } from '../engine/address.js';
import { dispatchable, type PortView } from './endpoints.js';
import { iptablesEndpointChainOf, iptablesServiceChains } from './names.js';
import { localhostNodePortsActive, NFACCT_LOCALHOST_NODEPORT_ACCEPTED, type RuleOptions } from './options.js';

/** Rules one Service port adds to the shared top-level chains, and the nat chains it owns. */
export interface IptablesPortRules {
  readonly key: string;
  readonly filterServices: string[];
  readonly filterExternalServices: string[];
  readonly filterNodePorts: string[];
  readonly filterFirewall: string[];
  readonly natServices: string[];
  readonly natNodePorts: string[];
  /** Owned chains (KUBE-SVC/SVL/EXT/FW/SEP) → their rules joined by "\n", in write order. */
  readonly natChains: Map<string, string>;
}

/** KUBE-SEP chain names of one port's endpoints, computed once per render. */
type SepNames = (b: ModelBackend) => string;

export interface PortRenderContext {
  readonly options: RuleOptions;
  readonly nodeIPs: readonly string[];
  /** kube-proxy's large-cluster mode (> 1000 endpoints): no per-rule comments in SVC/SEP chains. */
  readonly largeCluster: boolean;
}

/** `-m comment --comment X`, quoted when X has a space (as kube-proxy writes it). */
export function comment(text: string): string {
  return text.includes(' ') ? `-m comment --comment "${text}"` : `-m comment --comment ${text}`;
}

/** Formatted 1/n for n < 1001, as kube-proxy's precomputedProbabilities. */
const uniformProbabilities = new Map<number, string>();

/** `%0.10f` of a probability, as kube-proxy's computeProbability. */
export function probability(p: number): string {
  return p.toFixed(10);
}

/** `%0.10f` of 1/n, cached. */
function uniformProbability(n: number): string {
  let text = uniformProbabilities.get(n);
  if (text === undefined) {
    text = probability(1 / n);
    if (n < 1001) uniformProbabilities.set(n, text);
  }
  return text;
}

function protoMatch(view: PortView): string {
  const p = view.sp.protocol.toLowerCase();
  return `-m ${p} -p ${p}`;
}

/** Rules for every destination address of the port: ClusterIP, externalIPs, LB IPs, NodePort, health check. */
function writeEntryRules(v: PortView, names: ReturnType<typeof iptablesServiceChains>, r: IptablesPortRules, ctx: PortRenderContext): void {
  const spn = servicePortKey(v.sp);
  const proto = protoMatch(v);
  const port = v.sp.port;
  const internalChain = v.internalLocal ? names.svl : names.svc;
  const noEpTarget = v.hasEndpoints ? 'DROP' : 'REJECT';
  const noEpComment = comment(v.hasEndpoints ? `${spn} has no local endpoints` : `${spn} has no endpoints`);
  if (v.hasInternalEndpoints) {
    r.natServices.push(`-A KUBE-SERVICES ${comment(`${spn} cluster IP`)} ${proto} -d ${v.clusterIP} --dport ${port} -j ${internalChain}`);
  } else {
    r.filterServices.push(`-A KUBE-SERVICES ${noEpComment} ${proto} -d ${v.clusterIP} --dport ${port} -j ${noEpTarget}`);
  }
  for (const ip of v.externalIPs) {
    if (v.hasEndpoints) r.natServices.push(`-A KUBE-SERVICES ${comment(`${spn} external IP`)} ${proto} -d ${ip} --dport ${port} -j ${names.ext}`);
    if (!v.hasExternalEndpoints) r.filterExternalServices.push(`-A KUBE-EXTERNAL-SERVICES ${noEpComment} ${proto} -d ${ip} --dport ${port} -j ${noEpTarget}`);
  }
  for (const ip of v.loadBalancerIPs) {
    const target = v.usesFirewallChain ? names.fw : names.ext;
    if (v.hasEndpoints) r.natServices.push(`-A KUBE-SERVICES ${comment(`${spn} loadbalancer IP`)} ${proto} -d ${ip} --dport ${port} -j ${target}`);
    if (v.usesFirewallChain) {
      r.filterFirewall.push(`-A KUBE-PROXY-FIREWALL ${comment(`${spn} traffic not accepted by ${names.fw}`)} ${proto} -d ${ip} --dport ${port} -j DROP`);
    }
    if (!v.hasExternalEndpoints) r.filterExternalServices.push(`-A KUBE-EXTERNAL-SERVICES ${noEpComment} ${proto} -d ${ip} --dport ${port} -j ${noEpTarget}`);
  }
  if (v.sp.nodePort !== 0) {
    if (v.hasEndpoints) {
      // Localhost NodePorts need no rule of their own (the one below matches 127.0.0.1 too): kube-proxy
      // adds one only to count them, when its nfacct counter exists.
      if (localhostNodePortsActive(ctx.options) && ctx.options.nfacctCounters.includes(NFACCT_LOCALHOST_NODEPORT_ACCEPTED)) {
        r.natNodePorts.push(
          `-A KUBE-NODEPORTS ${comment(spn)} ${proto} -d 127.0.0.0/8 --dport ${v.sp.nodePort} -m nfacct --nfacct-name ${NFACCT_LOCALHOST_NODEPORT_ACCEPTED} -j ${names.ext}`,
        );
      }
      r.natNodePorts.push(`-A KUBE-NODEPORTS ${comment(spn)} ${proto} --dport ${v.sp.nodePort} -j ${names.ext}`);
    }
    if (!v.hasExternalEndpoints) {
      r.filterExternalServices.push(`-A KUBE-EXTERNAL-SERVICES ${noEpComment} -m addrtype --dst-type LOCAL ${proto} --dport ${v.sp.nodePort} -j ${noEpTarget}`);
    }
  }
  if (v.sp.healthCheckNodePort !== 0) {
    r.filterNodePorts.push(`-A KUBE-NODEPORTS ${comment(`${spn} health check node port`)} -m tcp -p tcp --dport ${v.sp.healthCheckNodePort} -j ACCEPT`);
  }
}

/** KUBE-EXT-<h>: masquerade (Cluster policy) or the Local-policy short circuits, then the policy chain. */
function writeExternalChain(v: PortView, names: ReturnType<typeof iptablesServiceChains>, ctx: PortRenderContext): string[] {
  const spn = servicePortKey(v.sp);
  const ext = names.ext;
  const rules: string[] = [];
  if (!v.externalLocal) {
    rules.push(`-A ${ext} ${comment(`masquerade traffic for ${spn} external destinations`)} -j KUBE-MARK-MASQ`);
  } else {
    const podCIDR = ctx.options.clusterCIDRs[0];
    if (podCIDR) rules.push(`-A ${ext} ${comment(`pod traffic for ${spn} external destinations`)} -s ${podCIDR} -j ${names.svc}`);
    rules.push(`-A ${ext} ${comment(`masquerade LOCAL traffic for ${spn} external destinations`)} -m addrtype --src-type LOCAL -j KUBE-MARK-MASQ`);
    rules.push(`-A ${ext} ${comment(`route LOCAL traffic for ${spn} external destinations`)} -m addrtype --src-type LOCAL -j ${names.svc}`);
  }
  if (v.hasExternalEndpoints) rules.push(`-A ${ext} -j ${v.externalLocal ? names.svl : names.svc}`);
  return rules;
}

/** KUBE-FW-<h>: loadBalancerSourceRanges; traffic not let through is dropped by KUBE-PROXY-FIREWALL. */
function writeFirewallChain(v: PortView, names: ReturnType<typeof iptablesServiceChains>, ctx: PortRenderContext): string[] {
  const spn = servicePortKey(v.sp);
  const rules = v.sourceRanges.map((cidr) => `-A ${names.fw} ${comment(`${spn} loadbalancer IP`)} -s ${cidr} -j ${names.ext}`);
  const nodeInRange = v.sourceRanges.some((cidr) => ctx.nodeIPs.some((ip) => safeContains(cidr, ip)));
  if (nodeInRange) {
    for (const ip of v.loadBalancerIPs) rules.push(`-A ${names.fw} ${comment(`${spn} loadbalancer IP`)} -s ${ip} -j ${names.ext}`);
  }
  rules.push(`-A ${names.fw} ${comment(`other traffic to ${spn} will be dropped by KUBE-PROXY-FIREWALL`)}`);
  return rules;
}

function safeContains(cidr: string, ip: string): boolean {
  try {
    return cidrContains(cidr, ip);
  } catch {
    return false;
  }
}

/**
 * KUBE-SVC/KUBE-SVL dispatch (writeServiceToEndpointRules): ClientIP affinity checks first, then one
 * rule per endpoint with probability w_i / Σ_{j≥i} w_j (kube-proxy's 1/(n−i) when weights are equal),
 * the last unconditional. Scheduler `rr` with options.roundRobin uses `statistic --mode nth` instead: true round robin of new
 * connections (nat rules only see a connection's first packet).
 */
function writeDispatch(chain: string, v: PortView, endpoints: readonly ModelBackend[], ctx: PortRenderContext, sepOf: SepNames): string[] {
  const spn = servicePortKey(v.sp);
  const rules: string[] = [];
  const epComment = (b: ModelBackend) => (ctx.largeCluster ? '' : `${comment(`${spn} -> ${backendKey(b)}`)} `);
  if (v.sp.sessionAffinity === 'ClientIP') {
    for (const b of endpoints) {
      const sep = sepOf(b);
      rules.push(`-A ${chain} ${epComment(b)}-m recent --name ${sep} --rcheck --seconds ${v.sp.affinityTimeoutSeconds} --reap -j ${sep}`);
    }
  }
  const targets = dispatchable(endpoints);
  const list = targets.length ? targets : [...endpoints];
  let remaining = list.reduce((sum, b) => sum + b.weight, 0);
  const uniform = list.every((b) => b.weight === list[0]!.weight);
  list.forEach((b, i) => {
    const sep = sepOf(b);
    const left = list.length - i;
    let select = '';
    if (left > 1) {
      select =
        v.sp.scheduler === 'rr' && ctx.options.roundRobin
          ? `-m statistic --mode nth --every ${left} --packet 0 `
          : `-m statistic --mode random --probability ${uniform || remaining <= 0 ? uniformProbability(left) : probability(b.weight / remaining)} `;
    }
    remaining -= b.weight;
    rules.push(`-A ${chain} ${epComment(b)}${select}-j ${sep}`);
  });
  return rules;
}

/** KUBE-SEP-<h>: hairpin masquerade, then DNAT (with the affinity `--set`). */
function writeEndpointChain(v: PortView, b: ModelBackend, ctx: PortRenderContext, sep: string): string[] {
  const c = ctx.largeCluster ? '' : `${comment(servicePortKey(v.sp))} `;
  const recent = v.sp.sessionAffinity === 'ClientIP' ? `-m recent --name ${sep} --set ` : '';
  return [`-A ${sep} ${c}-s ${b.ip} -j KUBE-MARK-MASQ`, `-A ${sep} ${c}${recent}${protoMatch(v)} -j DNAT --to-destination ${backendKey(b)}`];
}

/** All rules of one Service port. */
export function renderIptablesPort(v: PortView, ctx: PortRenderContext): IptablesPortRules {
  const names = iptablesServiceChains(v.sp);
  const r: IptablesPortRules = {
    key: servicePortKey(v.sp),
    filterServices: [],
    filterExternalServices: [],
    filterNodePorts: [],
    filterFirewall: [],
    natServices: [],
    natNodePorts: [],
    natChains: new Map(),
  };
  writeEntryRules(v, names, r, ctx);
  const seps = new Map<ModelBackend, string>();
  const namer = iptablesEndpointChainOf(v.sp);
  const sepOf: SepNames = (b) => {
    let name = seps.get(b);
    if (name === undefined) seps.set(b, (name = namer(b)));
    return name;
  };
  const usesClusterEndpoints = !v.internalLocal || v.externallyAccessible;
  const usesLocalEndpoints = v.internalLocal || v.externalLocal;
  const svc = usesClusterEndpoints && v.clusterEndpoints.length > 0 ? writeDispatch(names.svc, v, v.clusterEndpoints, ctx, sepOf) : undefined;
  const svl = usesLocalEndpoints && v.localEndpoints.length > 0 ? writeDispatch(names.svl, v, v.localEndpoints, ctx, sepOf) : undefined;
  if (v.hasInternalEndpoints && (ctx.options.masqueradeAll || ctx.options.clusterCIDRs.length)) {
    const notLocal = ctx.options.masqueradeAll ? '' : `! -s ${ctx.options.clusterCIDRs[0]} `;
    const chain = v.internalLocal ? names.svl : names.svc;
    const masq = `-A ${chain} ${comment(`${servicePortKey(v.sp)} cluster IP`)} ${protoMatch(v)} -d ${v.clusterIP} --dport ${v.sp.port} ${notLocal}-j KUBE-MARK-MASQ`;
    (v.internalLocal ? svl : svc)?.unshift(masq);
  }
  if (svc) r.natChains.set(names.svc, svc.join('\n'));
  if (svl) r.natChains.set(names.svl, svl.join('\n'));
  if (v.usesExternalChain) r.natChains.set(names.ext, writeExternalChain(v, names, ctx).join('\n'));
  if (v.usesFirewallChain) r.natChains.set(names.fw, writeFirewallChain(v, names, ctx).join('\n'));
  for (const b of v.reachableEndpoints) r.natChains.set(sepOf(b), writeEndpointChain(v, b, ctx, sepOf(b)).join('\n'));
  return r;
}
