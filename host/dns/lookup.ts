/**
 * What a name inside the cluster zone stands for, before the query type is looked at: the
 * Kubernetes DNS specification's records as (target, address, port) items, or "no such name".
 *
 * The name grammar is CoreDNS's parseRequest (plugin/kubernetes/parse.go):
 *   <zone> | svc.<zone> | pod.<zone>                      exists, no records (NODATA)
 *   <ns>.svc.<zone>                                       exists when the namespace does
 *   <svc>.<ns>.svc.<zone>                                 the Service
 *   <hostname>.<svc>.<ns>.svc.<zone>                      one endpoint (any Service with endpoints)
 *   _<port>._<proto>.<svc>.<ns>.svc.<zone>                one named port (underscores optional)
 *   <a-b-c-d>.<ns>.pod.<zone>                             a pod address (pods insecure|verified)
 * Anything else is NXDOMAIN. Labels compare case-insensitively (the caller lower-cases the name).
 */
import ipaddr from 'ipaddr.js';
import type { ClusterZone, ZoneService } from './zone.js';

/** One record source: an address (A/AAAA, SRV target `target`) or an ExternalName's CNAME target. */
export type ZoneItem =
  | { readonly kind: 'address'; readonly ip: string; readonly target: string; readonly port: number | null }
  | { readonly kind: 'cname'; readonly target: string };

/** `items` empty = the name exists with no records of any type (NODATA). */
export type ZoneLookup = { readonly exists: true; readonly items: readonly ZoneItem[] } | { readonly exists: false };

const NXDOMAIN: ZoneLookup = { exists: false };
const EMPTY: ZoneLookup = { exists: true, items: [] };

interface ParsedName {
  readonly kind: 'svc' | 'pod';
  readonly namespace: string;
  readonly service: string;
  readonly endpoint: string;
  readonly port: string;
  readonly protocol: string;
}

function stripUnderscore(s: string): string {
  return s.startsWith('_') ? s.slice(1) : s;
}

/** `base` is the name without `.<zone>`; undefined = NXDOMAIN, 'empty' = an existing empty name. */
function parse(base: string): ParsedName | 'empty' | undefined {
  if (base === '' || base === 'svc' || base === 'pod') return 'empty';
  const segs = base.split('.');
  const kind = segs.pop();
  if (kind !== 'svc' && kind !== 'pod') return undefined;
  const namespace = segs.pop()!;
  const service = segs.pop();
  if (service === undefined) return { kind, namespace, service: '', endpoint: '', port: '', protocol: '' };
  if (segs.length === 0) return { kind, namespace, service, endpoint: '', port: '', protocol: '' };
  if (segs.length === 1) return { kind, namespace, service, endpoint: segs[0]!, port: '', protocol: '' };
  if (segs.length === 2) return { kind, namespace, service, endpoint: '', port: stripUnderscore(segs[0]!), protocol: stripUnderscore(segs[1]!) };
  return undefined; // too long: CoreDNS's errInvalidRequest
}

function portMatches(want: string, wantProtocol: string, p: { name: string; protocol: string }): boolean {
  return (want === '' || want === p.name.toLowerCase()) && (wantProtocol === '' || wantProtocol === p.protocol.toLowerCase());
}

/** A pod name `a-b-c-d` (IPv4) or dashed IPv6 back to its address (CoreDNS findPods). */
function podAddress(podName: string): string | undefined {
  const dashes = podName.split('-').length - 1;
  const ip = dashes === 3 && !podName.includes('--') ? podName.replaceAll('-', '.') : podName.replaceAll('-', ':');
  return ipaddr.isValid(ip) && (ip.includes(':') ? ipaddr.IPv6.isValid(ip) : ipaddr.IPv4.isValidFourPartDecimal(ip)) ? ipaddr.parse(ip).toString() : undefined;
}

function lookupPod(zone: ClusterZone, r: ParsedName, owner: string): ZoneLookup {
  if (zone.podRecords === 'disabled') return NXDOMAIN;
  if (r.service === '') return EMPTY;
  const ip = podAddress(r.service);
  if (!ip) return NXDOMAIN;
  if (zone.podRecords === 'verified' && !zone.podExists(ip, r.namespace)) return NXDOMAIN;
  return { exists: true, items: [{ kind: 'address', ip, target: owner, port: null }] };
}

function lookupService(zone: ClusterZone, s: ZoneService, r: ParsedName): ZoneLookup {
  const svc = s.service;
  const name = zone.serviceName(s);
  if (svc.type === 'ExternalName') {
    if (r.endpoint || r.port || r.protocol) return NXDOMAIN;
    return { exists: true, items: [{ kind: 'cname', target: svc.externalName }] };
  }
  const items: ZoneItem[] = [];
  if (svc.headless || r.endpoint) {
    for (const e of s.endpoints) {
      if (r.endpoint && r.endpoint !== e.hostname) continue;
      for (const p of e.ports) {
        if (!portMatches(r.port, r.protocol, p)) continue;
        items.push({ kind: 'address', ip: e.ip, target: `${e.hostname}.${name}`, port: p.port });
      }
    }
  } else {
    for (const p of svc.ports) {
      if (!portMatches(r.port, r.protocol, p)) continue;
      for (const ip of svc.clusterIPs) items.push({ kind: 'address', ip, target: name, port: p.port });
    }
  }
  // The specification: a headless Service without ready endpoints is NXDOMAIN; so is a port or
  // endpoint label that matches nothing.
  return items.length ? { exists: true, items } : NXDOMAIN;
}

/** Looks up `name` (lower case, no trailing dot) under the zone; `name` must be in it. */
export function lookupName(zone: ClusterZone, name: string): ZoneLookup {
  const base = name === zone.domain ? '' : name.slice(0, -(zone.domain.length + 1));
  const r = parse(base);
  if (r === 'empty') return EMPTY;
  if (r === undefined) return NXDOMAIN;
  if (!zone.namespaceExists(r.namespace)) return NXDOMAIN;
  if (r.kind === 'pod') return lookupPod(zone, r, name);
  if (r.service === '') return EMPTY;
  const s = zone.service(r.namespace, r.service);
  return s ? lookupService(zone, s, r) : NXDOMAIN;
}
