/**
 * IPVS mode's ipsets and the iptables rules that match them (pkg/proxy/ipvs/ipset.go and
 * writeIptablesRules in pkg/proxy/ipvs/proxier.go; reference/kube-proxy.md §2). Pure.
 */
import type { RuleOptions } from './options.js';
import { masqueradeMark } from './options.js';
import { comment } from './iptables-service.js';

export interface IpsetSpec {
  readonly name: string;
  readonly type: 'hash:ip' | 'hash:ip,port' | 'hash:ip,port,ip' | 'hash:ip,port,net' | 'bitmap:port';
  readonly comment: string;
}

/** kube-proxy's ipset table (names get the `KUBE-6-` prefix for IPv6 instead of `KUBE-`). */
export const IPVS_SETS = {
  loopBack: { name: 'KUBE-LOOP-BACK', type: 'hash:ip,port,ip', comment: 'Kubernetes endpoints dst ip:port, source ip for solving hairpin purpose' },
  clusterIP: { name: 'KUBE-CLUSTER-IP', type: 'hash:ip,port', comment: 'Kubernetes service cluster ip + port for masquerade purpose' },
  externalIP: { name: 'KUBE-EXTERNAL-IP', type: 'hash:ip,port', comment: 'Kubernetes service external ip + port for masquerade and filter purpose' },
  externalIPLocal: { name: 'KUBE-EXTERNAL-IP-LOCAL', type: 'hash:ip,port', comment: 'Kubernetes service external ip + port with externalTrafficPolicy=local' },
  loadBalancer: { name: 'KUBE-LOAD-BALANCER', type: 'hash:ip,port', comment: 'Kubernetes service lb portal' },
  loadBalancerFW: { name: 'KUBE-LOAD-BALANCER-FW', type: 'hash:ip,port', comment: 'Kubernetes service load balancer ip + port for load balancer with sourceRange' },
  loadBalancerLocal: { name: 'KUBE-LOAD-BALANCER-LOCAL', type: 'hash:ip,port', comment: 'Kubernetes service load balancer ip + port with externalTrafficPolicy=local' },
  loadBalancerSourceIP: { name: 'KUBE-LOAD-BALANCER-SOURCE-IP', type: 'hash:ip,port,ip', comment: 'Kubernetes service load balancer ip + port + source IP for packet filter purpose' },
  loadBalancerSourceCIDR: { name: 'KUBE-LOAD-BALANCER-SOURCE-CIDR', type: 'hash:ip,port,net', comment: 'Kubernetes service load balancer ip + port + source cidr for packet filter purpose' },
  nodePortTCP: { name: 'KUBE-NODE-PORT-TCP', type: 'bitmap:port', comment: 'Kubernetes nodeport TCP port for masquerade purpose' },
  nodePortLocalTCP: { name: 'KUBE-NODE-PORT-LOCAL-TCP', type: 'bitmap:port', comment: 'Kubernetes nodeport TCP port with externalTrafficPolicy=local' },
  nodePortUDP: { name: 'KUBE-NODE-PORT-UDP', type: 'bitmap:port', comment: 'Kubernetes nodeport UDP port for masquerade purpose' },
  nodePortLocalUDP: { name: 'KUBE-NODE-PORT-LOCAL-UDP', type: 'bitmap:port', comment: 'Kubernetes nodeport UDP port with externalTrafficPolicy=local' },
  nodePortSCTP: { name: 'KUBE-NODE-PORT-SCTP-HASH', type: 'hash:ip,port', comment: 'Kubernetes nodeport SCTP port for masquerade purpose with type \'hash ip:port\'' },
  nodePortLocalSCTP: { name: 'KUBE-NODE-PORT-LOCAL-SCTP-HASH', type: 'hash:ip,port', comment: 'Kubernetes nodeport SCTP port with externalTrafficPolicy=local with type \'hash ip:port\'' },
  healthCheckNodePort: { name: 'KUBE-HEALTH-CHECK-NODE-PORT', type: 'bitmap:port', comment: 'Kubernetes health check node port' },
  ipvsIPs: { name: 'KUBE-IPVS-IPS', type: 'hash:ip', comment: 'IPVS service ip' },
} as const satisfies Record<string, IpsetSpec>;

export type IpvsSetId = keyof typeof IPVS_SETS;

/** The set's name for a family (kube-proxy: `KUBE-6-` prefix for IPv6, truncated to 31 characters). */
export function setName(id: IpvsSetId, o: RuleOptions): string {
  const name = IPVS_SETS[id].name;
  return o.family === 6 ? `KUBE-6-${name.slice('KUBE-'.length)}`.slice(0, 31) : name;
}

/** ipsetWithIptablesChain: set → (table, from chain, target, match type, protocol). */
const SET_CHAIN_RULES: ReadonlyArray<{ id: IpvsSetId; table: 'nat' | 'filter'; from: string; to: string; match: string; proto?: string }> = [
  { id: 'loopBack', table: 'nat', from: 'KUBE-POSTROUTING', to: 'MASQUERADE', match: 'dst,dst,src' },
  { id: 'loadBalancer', table: 'nat', from: 'KUBE-SERVICES', to: 'KUBE-LOAD-BALANCER', match: 'dst,dst' },
  { id: 'loadBalancerLocal', table: 'nat', from: 'KUBE-LOAD-BALANCER', to: 'RETURN', match: 'dst,dst' },
  { id: 'loadBalancerFW', table: 'filter', from: 'KUBE-PROXY-FIREWALL', to: 'KUBE-SOURCE-RANGES-FIREWALL', match: 'dst,dst' },
  { id: 'loadBalancerSourceCIDR', table: 'filter', from: 'KUBE-SOURCE-RANGES-FIREWALL', to: 'RETURN', match: 'dst,dst,src' },
  { id: 'loadBalancerSourceIP', table: 'filter', from: 'KUBE-SOURCE-RANGES-FIREWALL', to: 'RETURN', match: 'dst,dst,src' },
  { id: 'nodePortLocalTCP', table: 'nat', from: 'KUBE-NODE-PORT', to: 'RETURN', match: 'dst', proto: 'tcp' },
  { id: 'nodePortTCP', table: 'nat', from: 'KUBE-NODE-PORT', to: 'KUBE-MARK-MASQ', match: 'dst', proto: 'tcp' },
  { id: 'nodePortLocalUDP', table: 'nat', from: 'KUBE-NODE-PORT', to: 'RETURN', match: 'dst', proto: 'udp' },
  { id: 'nodePortUDP', table: 'nat', from: 'KUBE-NODE-PORT', to: 'KUBE-MARK-MASQ', match: 'dst', proto: 'udp' },
  { id: 'nodePortLocalSCTP', table: 'nat', from: 'KUBE-NODE-PORT', to: 'RETURN', match: 'dst,dst', proto: 'sctp' },
  { id: 'nodePortSCTP', table: 'nat', from: 'KUBE-NODE-PORT', to: 'KUBE-MARK-MASQ', match: 'dst,dst', proto: 'sctp' },
];

/** Entries per set (already in ipset's `add` syntax). */
export type IpsetEntries = ReadonlyMap<IpvsSetId, ReadonlySet<string>>;

/** `ipset restore` input: create (idempotent), flush, add. */
export function ipsetRestore(entries: IpsetEntries, o: RuleOptions): string {
  const out: string[] = [];
  const family = o.family === 6 ? 'inet6' : 'inet';
  for (const id of Object.keys(IPVS_SETS) as IpvsSetId[]) {
    const spec = IPVS_SETS[id];
    const name = setName(id, o);
    const opts = spec.type === 'bitmap:port' ? 'range 0-65535' : `family ${family} hashsize 1024 maxelem 65536`;
    out.push(`create ${name} ${spec.type} ${opts} comment -exist`, `flush ${name}`);
    for (const e of entries.get(id) ?? []) out.push(`add ${name} ${e} comment "${spec.comment}"`);
  }
  return out.join('\n') + '\n';
}

/** The iptables rules IPVS mode needs around the sets (writeIptablesRules), as restore input. */
export function ipvsIptablesRestore(entries: IpsetEntries, o: RuleOptions, lbNoNodeAccess: readonly string[]): string {
  const has = (id: IpvsSetId) => (entries.get(id)?.size ?? 0) > 0;
  const set = (id: IpvsSetId) => setName(id, o);
  const mark = masqueradeMark(o);
  const nat: string[] = [`-A KUBE-SERVICES -s ${o.family === 6 ? '::1/128' : '127.0.0.0/8'} -j RETURN`];
  const filter: string[] = [];
  for (const r of SET_CHAIN_RULES) {
    if (!has(r.id)) continue;
    const line = `-A ${r.from} ${r.proto ? `-p ${r.proto} ` : ''}${comment(IPVS_SETS[r.id].comment)} -m set --match-set ${set(r.id)} ${r.match} -j ${r.to}`;
    (r.table === 'nat' ? nat : filter).push(line);
  }
  const c = (id: IpvsSetId) => `${comment(IPVS_SETS[id].comment)} -m set --match-set ${set(id)}`;
  if (has('clusterIP')) {
    if (o.masqueradeAll) nat.push(`-A KUBE-SERVICES ${c('clusterIP')} dst,dst -j KUBE-MARK-MASQ`);
    else if (o.clusterCIDRs.length) nat.push(`-A KUBE-SERVICES ${c('clusterIP')} dst,dst ! -s ${o.clusterCIDRs[0]} -j KUBE-MARK-MASQ`);
    else nat.push(`-A KUBE-SERVICES ${c('clusterIP')} src,dst -j KUBE-MARK-MASQ`);
  }
  const externalIPRules = (args: string) => [
    `${args} -m physdev ! --physdev-is-in -m addrtype ! --src-type LOCAL -j ACCEPT`,
    `${args} -m addrtype --dst-type LOCAL -j ACCEPT`,
  ];
  if (has('externalIP')) {
    const args = `-A KUBE-SERVICES ${c('externalIP')} dst,dst`;
    nat.push(`${args} -j KUBE-MARK-MASQ`, ...externalIPRules(args));
  }
  if (has('externalIPLocal')) nat.push(...externalIPRules(`-A KUBE-SERVICES ${c('externalIPLocal')} dst,dst`));
  nat.push('-A KUBE-SERVICES -m addrtype --dst-type LOCAL -j KUBE-NODE-PORT');
  nat.push('-A KUBE-LOAD-BALANCER -j KUBE-MARK-MASQ');
  filter.push('-A KUBE-SOURCE-RANGES-FIREWALL -j DROP');
  filter.push(...lbNoNodeAccess.map((e) => `-A KUBE-IPVS-OUT-FILTER ${e} -j DROP`));
  for (const id of ['clusterIP', 'loadBalancer'] as const) if (has(id)) nat.push(`-A KUBE-SERVICES -m set --match-set ${set(id)} dst,dst -j ACCEPT`);
  filter.push(
    `-A KUBE-FORWARD ${comment('kubernetes forwarding rules')} -m mark --mark ${mark}/${mark} -j ACCEPT`,
    `-A KUBE-FORWARD ${comment('kubernetes forwarding conntrack rule')} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`,
    `-A KUBE-NODE-PORT ${c('healthCheckNodePort')} dst -j ACCEPT`,
    `-A KUBE-IPVS-FILTER -m set --match-set ${set('loadBalancer')} dst,dst -j RETURN`,
    `-A KUBE-IPVS-FILTER -m set --match-set ${set('clusterIP')} dst,dst -j RETURN`,
    `-A KUBE-IPVS-FILTER -m set --match-set ${set('externalIP')} dst,dst -j RETURN`,
    `-A KUBE-IPVS-FILTER -m set --match-set ${set('externalIPLocal')} dst,dst -j RETURN`,
    `-A KUBE-IPVS-FILTER -m set --match-set ${set('healthCheckNodePort')} dst -j RETURN`,
    `-A KUBE-IPVS-FILTER -m conntrack --ctstate NEW -m set --match-set ${set('ipvsIPs')} dst -j REJECT`,
  );
  nat.push(
    `-A KUBE-POSTROUTING -m mark ! --mark ${mark}/${mark} -j RETURN`,
    `-A KUBE-POSTROUTING -j MARK --xor-mark ${mark}`,
    `-A KUBE-POSTROUTING ${comment('kubernetes service traffic requiring SNAT')} -j MASQUERADE --random-fully`,
    `-A KUBE-MARK-MASQ -j MARK --or-mark ${mark}`,
  );
  const natChains = ['KUBE-SERVICES', 'KUBE-POSTROUTING', 'KUBE-NODE-PORT', 'KUBE-LOAD-BALANCER', 'KUBE-MARK-MASQ'];
  const filterChains = ['KUBE-FORWARD', 'KUBE-NODE-PORT', 'KUBE-PROXY-FIREWALL', 'KUBE-SOURCE-RANGES-FIREWALL', 'KUBE-IPVS-FILTER', 'KUBE-IPVS-OUT-FILTER'];
  return [
    '*nat',
    ...natChains.map((ch) => `:${ch} - [0:0]`),
    ...nat,
    'COMMIT',
    '*filter',
    ...filterChains.map((ch) => `:${ch} - [0:0]`),
    ...filter,
    'COMMIT',
  ].join('\n') + '\n';
}

/** iptablesJumpChain for IPVS mode: built-in chain → KUBE chain, with kube-proxy's comments. */
export const IPVS_JUMPS = [
  { table: 'nat', from: 'OUTPUT', to: 'KUBE-SERVICES', comment: 'kubernetes service portals' },
  { table: 'nat', from: 'PREROUTING', to: 'KUBE-SERVICES', comment: 'kubernetes service portals' },
  { table: 'nat', from: 'POSTROUTING', to: 'KUBE-POSTROUTING', comment: 'kubernetes postrouting rules' },
  { table: 'filter', from: 'FORWARD', to: 'KUBE-FORWARD', comment: 'kubernetes forwarding rules' },
  { table: 'filter', from: 'INPUT', to: 'KUBE-NODE-PORT', comment: 'kubernetes health check rules' },
  { table: 'filter', from: 'INPUT', to: 'KUBE-PROXY-FIREWALL', comment: 'kube-proxy firewall rules' },
  { table: 'filter', from: 'FORWARD', to: 'KUBE-PROXY-FIREWALL', comment: 'kube-proxy firewall rules' },
  { table: 'filter', from: 'INPUT', to: 'KUBE-IPVS-FILTER', comment: 'kubernetes ipvs access filter' },
  { table: 'filter', from: 'OUTPUT', to: 'KUBE-IPVS-OUT-FILTER', comment: 'kubernetes ipvs access filter' },
] as const;
