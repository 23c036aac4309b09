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
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(o.nftTable)) throw new Error(`nftTable: "${o.nftTable}" is not a valid table name`);
  if (!/^[A-Za-z0-9_.-]{1,15}$/.test(o.ipvsInterface)) throw new Error(`ipvsInterface: "${o.ipvsInterface}" is not a valid interface name`);
  const ofFamily = (cidrs: readonly string[]) => cidrs.filter((c) => familyOf(c.split('/')[0]!) === o.family);
  return { ...o, clusterCIDRs: ofFamily(o.clusterCIDRs) };
}

/** 4 or 6 for an address (or the address part of a CIDR). */
export function familyOf(ip: string): IPFamily {
  return ip.includes(':') ? 6 : 4;
}

/** The masquerade mark as iptables-save prints it, e.g. `0x4000`. */
export function masqueradeMark(o: RuleOptions): string {
  return `0x${((1 << o.masqueradeBit) >>> 0).toString(16)}`;
}
