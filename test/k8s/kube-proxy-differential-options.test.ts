/**
 * Differential conformance with non-default flags: `--masquerade-all` and `--nodeport-addresses`
 * (NodePorts only on the node's IPv4 address; IPv6, given no CIDR of its family, keeps the default,
 * as kube-proxy reads nodePortAddresses per family), given
 * alike to the real kube-proxy v1.37 and to `vipwasm rules --watch`, in both rule modes. Fewer
 * scenarios than the default-flag suites: these flags change a few rules per Service, not the
 * scheduling or endpoint selection those suites cover.
 */
import type { ProxyMode } from '../../scripts/k8s/proxies.js';
import { differentialSuite } from './differential/suite.js';

const options = { masqueradeAll: true, nodePortAddresses: ['198.18.0.0/24'] };

/** The nft JSON objects of one kind (`set`, `rule`…) in a `nft -j list table` dump. */
function nftObjects(dump: string, kind: string): Record<string, unknown>[] {
  const items = (JSON.parse(dump) as { nftables: Record<string, Record<string, unknown>>[] }).nftables;
  return items.filter((i) => kind in i).map((i) => i[kind]!);
}

/** What kube-proxy's own rules must show for these options; undefined when they all do. */
function evidence(mode: ProxyMode, ip4: string, ip6: string): string | undefined {
  if (mode === 'iptables') {
    // masqueradeAll: ClusterIP traffic is marked whatever its source (no `! -s <cluster CIDR>`).
    if (!/^-A KUBE-SVC-\S+ (?!.*! -s ).*cluster IP".*-j KUBE-MARK-MASQ$/m.test(ip4)) return 'no KUBE-SVC rule marking all ClusterIP traffic';
    // nodePortAddresses: the NodePort jump matches the one node address in the CIDR, not addrtype LOCAL.
    if (!/^-A KUBE-SERVICES -d 198\.18\.0\.20\/32 .*-j KUBE-NODEPORTS$/m.test(ip4)) return 'no KUBE-NODEPORTS jump for -d 198.18.0.20/32';
    if (!/^-A KUBE-SERVICES .*-m addrtype --dst-type LOCAL -j KUBE-NODEPORTS$/m.test(ip6)) return 'IPv6 should keep the addrtype LOCAL NodePort jump (no IPv6 CIDR given)';
    return undefined;
  }
  if (!nftObjects(ip4, 'rule').some((r) => r['comment'] === 'masquerade all clusterIP traffic')) return 'no "masquerade all clusterIP traffic" rule';
  const nodePortIPs = (dump: string) => JSON.stringify(nftObjects(dump, 'set').find((set) => set['name'] === 'nodeport-ips')?.['elem'] ?? []);
  if (nodePortIPs(ip4) !== '["198.18.0.20"]') return `IPv4 nodeport-ips should hold 198.18.0.20 only: ${nodePortIPs(ip4)}`;
  return undefined;
}

differentialSuite('iptables', { options, scenarios: 40, evidence });
differentialSuite('nftables', { options, scenarios: 40, evidence });
