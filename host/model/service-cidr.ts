/**
 * Multiple Service CIDRs (KEP-1880, `networking.k8s.io/v1` ServiceCIDR, GA in v1.33): the cluster's
 * ClusterIP space is the union of ServiceCIDR objects. The apiserver turns
 * `--service-cluster-ip-range` into the default one (named "kubernetes"); more can be added to
 * grow a full cluster or removed once no Service holds an address in them.
 *
 * What vipwasm takes from the apiserver (pkg/registry/core/service/ipallocator/cidrallocator.go):
 * - a ServiceCIDR being deleted (deletionTimestamp set, its finalizer held while IPs remain) is
 *   not Ready: no new address is allocated from it, but addresses already in it stay valid;
 * - the MetaAllocator tries its allocators in Go map order (random); vipwasm makes that order
 *   stable — the default range first, then ServiceCIDRs by name — so a Service gets an address
 *   from a new ServiceCIDR once the ranges before it are full (KEP-1880 story 1) and a rebuild
 *   never moves one;
 * - kube-proxy's nftables mode drops traffic to unallocated ClusterIPs in every ServiceCIDR it
 *   knows (proxier.OnServiceCIDRsChanged, all objects including terminating ones).
 */
import ipaddr from 'ipaddr.js';
import { FieldErrors, isRecord, list, record, text } from './fields.js';
import { type IPRange, parseServiceCIDR } from './ip-range.js';
import type { KubeObject } from './types.js';

/** One ServiceCIDR object, validated. */
export interface ServiceCIDRSpec {
  readonly name: string;
  readonly ranges: readonly IPRange[];
  /** metadata.deletionTimestamp is set: not Ready, so nothing new is allocated from it. */
  readonly terminating: boolean;
}

/** The cluster's ClusterIP space: where new addresses come from, and what counts as valid. */
export interface ServiceIPSpace {
  /** Ranges new ClusterIPs are allocated from, in the order they are tried. */
  readonly allocatable: readonly IPRange[];
  /** Every range a given ClusterIP may be in (terminating ServiceCIDRs too). */
  readonly valid: readonly IPRange[];
  /** CIDR texts for kube-proxy's unallocated-ClusterIP check, without duplicates. */
  readonly cidrs: readonly string[];
}

const CIDRS = 'spec.cidrs';

/**
 * Validates a ServiceCIDR as the apiserver does (pkg/apis/networking/validation
 * validateServiceCIDRSpec, with strict CIDR parsing): one or two CIDRs, one per IP family, each
 * in canonical form. Returns undefined (errors in `errs`) when invalid.
 */
export function readServiceCIDR(obj: KubeObject, errs: FieldErrors): ServiceCIDRSpec | undefined {
  const spec = record(obj['spec']);
  const given = list(spec['cidrs']);
  if (!Array.isArray(spec['cidrs']) || given.length === 0) {
    errs.required(CIDRS, 'at least one CIDR required');
    return undefined;
  }
  if (given.length > 2) {
    errs.invalid(CIDRS, given, 'may only hold up to 2 values');
    return undefined;
  }
  const ranges: IPRange[] = [];
  given.forEach((c, i) => {
    const range = canonicalRange(c, `${CIDRS}[${i}]`, errs);
    if (range) ranges.push(range);
  });
  if (ranges.length === 2 && ranges[0]!.family === ranges[1]!.family)
    errs.invalid(CIDRS, given, 'may specify no more than one IP for each IP family, i.e 192.168.0.0/24 and 2001:db8::/64');
  if (errs.failed) return undefined;
  const meta = isRecord(obj.metadata) ? obj.metadata : {};
  return { name: text(meta['name']) ?? '', ranges, terminating: typeof meta['deletionTimestamp'] === 'string' };
}

function canonicalRange(value: unknown, field: string, errs: FieldErrors): IPRange | undefined {
  let range: IPRange;
  try {
    if (typeof value !== 'string') throw new Error('not a string');
    range = parseServiceCIDR(value);
  } catch {
    errs.invalid(field, value, 'must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)');
    return undefined;
  }
  const canonical = canonicalCIDR(value);
  if (value !== canonical) {
    errs.invalid(field, value, `must be in canonical form (${JSON.stringify(canonical)})`);
    return undefined;
  }
  return range;
}

/** Go's `ipnet.String()`: the masked network address in its shortest form, and the prefix length. */
function canonicalCIDR(cidr: string): string {
  const [, bits] = ipaddr.parseCIDR(cidr);
  const network = cidr.includes(':') ? ipaddr.IPv6.networkAddressFromCIDR(cidr) : ipaddr.IPv4.networkAddressFromCIDR(cidr);
  return `${network.toString()}/${bits}`;
}

/**
 * The ClusterIP space from the `--service-cluster-ip-range` ranges (the default ServiceCIDR) and
 * the ServiceCIDR objects (sorted by name here). A CIDR already listed is not listed again.
 */
export function serviceIPSpace(defaults: readonly IPRange[], objects: readonly ServiceCIDRSpec[]): ServiceIPSpace {
  const allocatable: IPRange[] = [...defaults];
  const valid: IPRange[] = [...defaults];
  const seen = new Set(defaults.map((r) => r.text));
  for (const sc of [...objects].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    for (const r of sc.ranges) {
      if (seen.has(r.text)) continue;
      seen.add(r.text);
      valid.push(r);
      if (!sc.terminating) allocatable.push(r);
    }
  }
  return { allocatable, valid, cidrs: valid.map((r) => r.text) };
}
