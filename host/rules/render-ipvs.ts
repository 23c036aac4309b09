/**
 * ipvs mode: the model rendered as kube-proxy's IPVS proxier would program the kernel
 * (pkg/proxy/ipvs/proxier.go; reference/kube-proxy.md §2): `ipvsadm-restore` input (virtual and real
 * servers), `ipset restore` input, the few iptables rules IPVS mode needs, and the addresses to bind
 * on the dummy interface. Pure, browser-safe.
 *
 * Real servers are written in **reverse** engine order: the kernel adds each destination at the head
 * of the service's list (`list_add_rcu` in ip_vs_ctl.c), so a freshly built service lists them in
 * engine order, as a fresh engine pool does. Later syncs change installed services with
 * `-d`/`-e`/`-a` only (ipvs-sync.ts), following the order contract of engine/pool-carry.ts.
 */
import { backendKey, type ModelBackend, type ModelServicePort, type ServiceModel } from '../engine/model.js';
import { cidrContains } from '../engine/address.js';
import { portView, type PortView } from './endpoints.js';
import { ipsetRestore, ipvsIptablesRestore, IPVS_JUMPS, type IpvsSetId } from './ipvs-sets.js';
import { familyOf, ruleOptions, type RuleOptions } from './options.js';

/** One real server of a virtual service. */
export interface IpvsRealServer {
  /** `ip:port` (`[ip6]:port`), as ipvsadm's `-r`. */
  readonly server: string;
  readonly ip: string;
  readonly port: number;
  readonly weight: number;
}

/** One virtual service as rendered: its identity, its `-A`/`-E` options and its real servers. */
export interface IpvsVirtualService {
  /** `-t 10.96.0.10:80` (protocol flag and address): the service's identity for ipvsadm. */
  readonly service: string;
  /** The kernel scheduler's name. */
  readonly scheduler: string;
  /** Everything after the identity on `-A` / `-E`: `-s rr -b sh-port -p 60`. */
  readonly options: string;
  /** In engine order (address, then port). */
  readonly servers: readonly IpvsRealServer[];
}

export interface IpvsRuleset {
  readonly family: 4 | 6;
  /** `ipvsadm-restore` input that builds every virtual service from nothing. */
  readonly ipvsadm: string;
  /** The same virtual services, structured (ipvs-sync.ts diffs them against what is installed). */
  readonly services: readonly IpvsVirtualService[];
  /** `ipset restore` input. */
  readonly ipset: string;
  /** `iptables-restore --noflush` input. */
  readonly iptables: string;
  /** Addresses to bind on the dummy interface (ClusterIPs, externalIPs, LB IPs). */
  readonly addresses: readonly string[];
  readonly interfaceName: string;
}

/** The kernel's scheduler for a model scheduler: `random` has no IPVS counterpart, rr is kube-proxy's default. */
export function ipvsScheduler(sp: Pick<ModelServicePort, 'scheduler'>): string {
  return sp.scheduler === 'random' ? 'rr' : sp.scheduler;
}

function hostPort(ip: string, port: number): string {
  return backendKey({ ip, port });
}

function protoFlag(sp: ModelServicePort): string {
  return sp.protocol === 'TCP' ? '-t' : sp.protocol === 'UDP' ? '-u' : '--sctp-service';
}

/** One virtual server, structured. */
function virtualService(sp: ModelServicePort, vip: string, port: number, endpoints: readonly ModelBackend[]): IpvsVirtualService {
  const sched = ipvsScheduler(sp);
  const flags: string[] = [];
  if ((sched === 'sh' || sched === 'mh') && sp.schedulerFlags.port) flags.push(`${sched}-port`);
  if ((sched === 'sh' || sched === 'mh') && sp.schedulerFlags.fallback) flags.push(`${sched}-fallback`);
  const b = flags.length ? ` -b ${flags.join(',')}` : '';
  const p = sp.sessionAffinity === 'ClientIP' ? ` -p ${sp.affinityTimeoutSeconds}` : '';
  return {
    service: `${protoFlag(sp)} ${hostPort(vip, port)}`,
    scheduler: sched,
    options: `-s ${sched}${b}${p}`,
    servers: endpoints.map((ep) => ({ server: hostPort(ep.ip, ep.port), ip: ep.ip, port: ep.port, weight: ep.weight })),
  };
}

/** `-a` for one real server. */
export function addRealServerLine(vs: Pick<IpvsVirtualService, 'service'>, rs: IpvsRealServer): string {
  return `-a ${vs.service} -r ${rs.server} -m -w ${rs.weight}`;
}

/** `-A` plus `-a` lines (reverse engine order) that build one virtual service from nothing. */
export function createLines(vs: IpvsVirtualService): string[] {
  return [`-A ${vs.service} ${vs.options}`, ...[...vs.servers].reverse().map((rs) => addRealServerLine(vs, rs))];
}

interface Accumulator {
  readonly services: IpvsVirtualService[];
  readonly sets: Map<IpvsSetId, Set<string>>;
  readonly addresses: Set<string>;
  readonly lbNoNodeAccess: string[];
}

function add(acc: Accumulator, id: IpvsSetId, entry: string): void {
  let s = acc.sets.get(id);
  if (!s) acc.sets.set(id, (s = new Set()));
  s.add(entry);
}

/** Endpoints for external traffic: local ones under eTP=Local, or cluster ones when none (kube-proxy PR #97081). */
function externalEndpoints(v: PortView): readonly ModelBackend[] {
  return v.externalLocal && v.localEndpoints.length ? v.localEndpoints : v.clusterEndpoints;
}

function renderPort(v: PortView, nodeIPs: readonly string[], acc: Accumulator): void {
  const sp = v.sp;
  const proto = sp.protocol.toLowerCase();
  const entry = (ip: string, port = sp.port) => `${ip},${proto}:${port}`;
  // iTP Local: local endpoints, or cluster ones when there are none (PR #97081), as for external traffic.
  const internal = v.internalLocal && v.localEndpoints.length ? v.localEndpoints : v.clusterEndpoints;
  for (const b of v.reachableEndpoints) if (b.local) add(acc, 'loopBack', `${b.ip},${proto}:${b.port},${b.ip}`);
  add(acc, 'clusterIP', entry(v.clusterIP!));
  acc.addresses.add(v.clusterIP!);
  acc.services.push(virtualService(sp, v.clusterIP!, sp.port, internal));
  const external = externalEndpoints(v);
  for (const ip of v.externalIPs) {
    add(acc, v.externalLocal ? 'externalIPLocal' : 'externalIP', entry(ip));
    acc.addresses.add(ip);
    acc.services.push(virtualService(sp, ip, sp.port, external));
  }
  for (const ip of v.loadBalancerIPs) {
    add(acc, 'loadBalancer', entry(ip));
    if (v.externalLocal) add(acc, 'loadBalancerLocal', entry(ip));
    if (v.sourceRanges.length) {
      add(acc, 'loadBalancerFW', entry(ip));
      for (const cidr of v.sourceRanges) add(acc, 'loadBalancerSourceCIDR', `${ip},${proto}:${sp.port},${cidr}`);
      const nodeAllowed = v.sourceRanges.some((cidr) => nodeIPs.some((n) => safeContains(cidr, n)));
      if (nodeAllowed) add(acc, 'loadBalancerSourceIP', `${ip},${proto}:${sp.port},${ip}`);
      else acc.lbNoNodeAccess.push(`-s ${ip} -m ipvs --vaddr ${ip} --vproto ${proto} --vport ${sp.port}`);
    }
    acc.addresses.add(ip);
    acc.services.push(virtualService(sp, ip, sp.port, external));
  }
  if (sp.nodePort !== 0) {
    const P = sp.protocol;
    if (P === 'SCTP') {
      for (const n of nodeIPs) add(acc, v.externalLocal ? 'nodePortLocalSCTP' : 'nodePortSCTP', entry(n, sp.nodePort));
    } else {
      add(acc, P === 'TCP' ? 'nodePortTCP' : 'nodePortUDP', `${sp.nodePort}`);
      if (v.externalLocal) add(acc, P === 'TCP' ? 'nodePortLocalTCP' : 'nodePortLocalUDP', `${sp.nodePort}`);
    }
    for (const n of nodeIPs) acc.services.push(virtualService(sp, n, sp.nodePort, external));
  }
  if (sp.healthCheckNodePort !== 0) add(acc, 'healthCheckNodePort', `${sp.healthCheckNodePort}`);
}

function safeContains(cidr: string, ip: string): boolean {
  try {
    return cidrContains(cidr, ip);
  } catch {
    return false;
  }
}

/** Renders every part of IPVS mode for one family. */
export function renderIpvs(model: ServiceModel, options: Partial<RuleOptions> = {}): IpvsRuleset {
  const o: RuleOptions = ruleOptions(options);
  const nodeIPs = model.nodeIPs.filter((ip) => familyOf(ip) === o.family);
  const acc: Accumulator = { services: [], sets: new Map(), addresses: new Set(), lbNoNodeAccess: [] };
  for (const sp of model.servicePorts) {
    const v = portView(sp, o.family);
    if (v) renderPort(v, nodeIPs, acc);
  }
  for (const a of acc.addresses) add(acc, 'ipvsIPs', a);
  const lines = acc.services.flatMap(createLines);
  return {
    family: o.family,
    ipvsadm: lines.length ? lines.join('\n') + '\n' : '',
    services: acc.services,
    ipset: ipsetRestore(acc.sets, o),
    iptables: ipvsIptablesRestore(acc.sets, o, acc.lbNoNodeAccess),
    addresses: [...acc.addresses],
    interfaceName: o.ipvsInterface,
  };
}

/** Human-readable output for `vipwasm rules --mode ipvs`: every part, each under a header comment. */
export function renderIpvsText(model: ServiceModel, options: Partial<RuleOptions> = {}): string {
  const rs = renderIpvs(model, options);
  const prefix = rs.family === 6 ? '/128' : '/32';
  const jumps = IPVS_JUMPS.map((j) => `# -t ${j.table} -I ${j.from} -m comment --comment "${j.comment}" -j ${j.to}`);
  return [
    `# ip link add ${rs.interfaceName} type dummy; then \`ip -batch -\`:`,
    ...rs.addresses.map((a) => `# address add ${a}${prefix} dev ${rs.interfaceName}`),
    '# ipvsadm-restore input (real servers in reverse engine order: the kernel lists newest first):',
    rs.ipvsadm.trimEnd(),
    '# ipset restore input:',
    rs.ipset.trimEnd(),
    `# ${rs.family === 6 ? 'ip6tables' : 'iptables'}-restore --noflush input; jumps from built-in chains:`,
    ...jumps,
    rs.iptables.trimEnd(),
  ].join('\n') + '\n';
}
