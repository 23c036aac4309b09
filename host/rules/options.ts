/**
 * Options every renderer shares: kube-proxy's flags that shape the ruleset. Pure (browser-safe).
 */
import ipaddr from 'ipaddr.js';

export type IPFamily = 4 | 6;

export interface RuleOptions {
  /** Which family this ruleset is for; kube-proxy runs one proxier (and one ruleset) per family. */
  readonly family: IPFamily;
  /**
   * `--cluster-cidr`: pod CIDR(s) of this family. Enables detect-local-by-CIDR: ClusterIP traffic from
   * outside them is masqueraded, and pod traffic to external destinations short-circuits to Cluster policy.
   */
  readonly clusterCIDRs: readonly string[];
  /** `--masquerade-all`: SNAT every packet sent to a ClusterIP. */
  readonly masqueradeAll: boolean;
  /** `--iptables-masquerade-bit` (0..31, default 14): the mark is 1 << bit. */
  readonly masqueradeBit: number;
  /**
   * iptables/nftables: dispatch ports whose scheduler is `rr` in true round robin of new connections
   * (`statistic --mode nth` / `numgen inc`). Off by default, so the output is kube-proxy's (random);
   * the model's default scheduler is rr, so only an explicit request should turn this on.
   */
  readonly roundRobin: boolean;
  /**
   * `--nodeport-addresses`: CIDRs and the keyword `primary` (this node's IPs). Empty = unset: iptables
   * mode then accepts NodePorts on every local address (`-m addrtype --dst-type LOCAL`), as kube-proxy
   * does; nftables mode uses the node IPs (kube-proxy's default there is `primary`).
   */
  readonly nodePortAddresses: readonly string[];
  /**
   * `--iptables-localhost-nodeports` (default true, as kube-proxy): IPv4 NodePorts also answer on
   * 127.0.0.0/8 (needs `route_localnet`, which the applier sets), guarded by the filter KUBE-FIREWALL
   * chain (kubernetes #90259). Only in effect when `nodePortAddresses` is unset or covers 127.0.0.1.
   */
  readonly localhostNodePorts: boolean;
  /**
   * nfacct counters that exist in the kernel (kube-proxy's `ct_state_invalid_dropped_pkts`,
   * `localhost_nps_accepted_pkts`): iptables rules count into them. The applier creates and probes
   * them on each full sync, as kube-proxy does; printing without `--apply` assumes none.
   */
  readonly nfacctCounters: readonly string[];
  /**
   * `MASQUERADE --random-fully` (kernel ≥ 3.13, iptables ≥ 1.6.2). kube-proxy v1.37 always writes it
   * (its iptables minimum is newer); the applier still probes `iptables --version` and turns it off
   * for an older binary, which would refuse the whole restore otherwise.
   */
  readonly randomFully: boolean;
  /** nftables table name (kube-proxy: `kube-proxy`). */
  readonly nftTable: string;
  /** ipvs mode: the dummy interface the service addresses are bound to. */
  readonly ipvsInterface: string;
}

export const DEFAULT_RULE_OPTIONS: RuleOptions = {
  family: 4,
  clusterCIDRs: [],
  masqueradeAll: false,
  masqueradeBit: 14,
  roundRobin: false,
  nodePortAddresses: [],
  localhostNodePorts: true,
  nfacctCounters: [],
  randomFully: true,
  nftTable: 'kube-proxy',
  ipvsInterface: 'kube-ipvs0',
};

/** Fills defaults and validates; throws an Error naming the option and value. */
export function ruleOptions(partial: Partial<RuleOptions> = {}): RuleOptions {
  const o = { ...DEFAULT_RULE_OPTIONS, ...partial };
  if (o.family !== 4 && o.family !== 6) throw new Error(`family: ${String(o.family)} is not 4 or 6`);
  if (!Number.isInteger(o.masqueradeBit) || o.masqueradeBit < 0 || o.masqueradeBit > 31) {
    throw new Error(`masqueradeBit: ${o.masqueradeBit} is outside 0-31`);
  }
  for (const cidr of o.clusterCIDRs) {
    if (!ipaddr.isValidCIDR(cidr)) throw new Error(`clusterCIDR: "${cidr}" is not a CIDR`);
  }
  for (const cidr of o.nodePortAddresses) {
    if (cidr !== 'primary' && !ipaddr.isValidCIDR(cidr)) throw new Error(`nodePortAddresses: "${cidr}" is not a CIDR or "primary"`);
  }
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(o.nftTable)) throw new Error(`nftTable: "${o.nftTable}" is not a valid table name`);
  if (!/^[A-Za-z0-9_.-]{1,15}$/.test(o.ipvsInterface)) throw new Error(`ipvsInterface: "${o.ipvsInterface}" is not a valid interface name`);
  const ofFamily = (cidrs: readonly string[]) => cidrs.filter((c) => familyOf(c.split('/')[0]!) === o.family);
  return { ...o, clusterCIDRs: ofFamily(o.clusterCIDRs) };
}

/** kube-proxy's nfacct counter names (pkg/proxy/metrics). */
export const NFACCT_CT_STATE_INVALID_DROPPED = 'ct_state_invalid_dropped_pkts';
export const NFACCT_LOCALHOST_NODEPORT_ACCEPTED = 'localhost_nps_accepted_pkts';

/**
 * The node IPs NodePorts are accepted on for `--nodeport-addresses` (kube-proxy's NodePortAddresses):
 * undefined when every local address is (the list is unset, or holds 0.0.0.0/0 or ::/0 for this family).
 * `primary` stands for the node IPs; a CIDR selects the node IPs inside it.
 */
export function nodePortIPs(nodeIPs: readonly string[], o: RuleOptions): string[] | undefined {
  const mine = o.nodePortAddresses.filter((c) => c === 'primary' || familyOf(c.split('/')[0]!) === o.family);
  // kube-proxy: a list with no CIDR of this family means every address of this family.
  if (!mine.length || mine.some((c) => c.endsWith('/0'))) return undefined;
  const ips = nodeIPs.filter((ip) => familyOf(ip) === o.family);
  return ips.filter((ip) => mine.some((c) => c === 'primary' || ipaddr.parse(ip).match(ipaddr.parseCIDR(c))));
}

/**
 * Whether IPv4 localhost NodePorts are in effect: kube-proxy turns `localhostNodePorts` off unless the
 * NodePort addresses cover 127.0.0.1 (NewProxier, pkg/proxy/iptables/proxier.go).
 */
export function localhostNodePortsActive(o: RuleOptions): boolean {
  if (!o.localhostNodePorts || o.family !== 4) return false;
  const mine = o.nodePortAddresses.filter((c) => c === 'primary' || familyOf(c.split('/')[0]!) === 4);
  // No IPv4 entry means 0.0.0.0/0, which covers loopback; `primary` expands to the node's /32.
  if (!mine.length) return true;
  return mine.some((c) => c !== 'primary' && ipaddr.parse('127.0.0.1').match(ipaddr.parseCIDR(c)));
}

/** 4 or 6 for an address (or the address part of a CIDR). */
export function familyOf(ip: string): IPFamily {
  return ip.includes(':') ? 6 : 4;
}

/** The masquerade mark as iptables-save prints it, e.g. `0x4000`. */
export function masqueradeMark(o: RuleOptions): string {
  return `0x${((1 << o.masqueradeBit) >>> 0).toString(16)}`;
}
