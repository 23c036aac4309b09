/**
 * spec.loadBalancerSourceRanges for traffic to a load-balancer ingress IP: empty allows every
 * source; otherwise the client must lie in one of the CIDRs of its family (kube-proxy's
 * KUBE-FW / KUBE-LOAD-BALANCER-SOURCE-CIDR; engine/core.ts sourceAllowed).
 */
import ipaddr from 'ipaddr.js';
import type { Address } from '../engine/address.js';

export interface SourceRangeCheck {
  readonly allowed: boolean;
  readonly summary: string;
  readonly lines: string[];
}

export function sourceRangeCheck(ranges: readonly string[], src: Address): SourceRangeCheck {
  if (!ranges.length) return { allowed: true, summary: 'loadBalancerSourceRanges: none set, every source allowed', lines: [] };
  const addr = ipaddr.parse(src.text);
  const lines: string[] = [];
  for (const cidr of ranges) {
    const range = ipaddr.parseCIDR(cidr);
    if (range[0].kind() !== addr.kind()) {
      lines.push(`${cidr}: other IP family`);
      continue;
    }
    if (addr.match(range)) {
      return { allowed: true, summary: `loadBalancerSourceRanges: ${src.text} is in ${cidr}: allowed`, lines: [...lines, `${cidr}: contains ${src.text}`] };
    }
    lines.push(`${cidr}: does not contain ${src.text}`);
  }
  return { allowed: false, summary: `loadBalancerSourceRanges: ${src.text} is in none of ${ranges.join(', ')}: dropped`, lines };
}
