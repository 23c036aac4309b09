/**
 * Answers one question from a ClusterZone: the answer, authority and additional sections and the
 * rcode, per the Kubernetes DNS specification v1.1.0 with CoreDNS's choices where it is silent
 * (plugin/backend_lookup.go: SRV weights, additional records, SOA fields). Pure: no sockets, no
 * clock; names outside the zones come back as `forward` for the server to pass upstream.
 */
import type { Answer, RecordType } from 'dns-packet';
import { type ZoneItem, type ZoneLookup, lookupName } from './lookup.js';
import { type ClusterZone, addressFromReverse } from './zone.js';

/** The specification's schema version, served as `dns-version.<zone>. IN TXT`. */
export const DNS_SCHEMA_VERSION = '1.1.0';
/** TTL of the dns-version record (the specification's example and CoreDNS). */
export const DNS_VERSION_TTL = 28800;
/** CoreDNS's maxCnameChainLength. */
const MAX_CNAME_CHAIN = 10;

export type Rcode = 'NOERROR' | 'FORMERR' | 'SERVFAIL' | 'NXDOMAIN' | 'NOTIMP' | 'REFUSED';

export interface ZoneAnswer {
  readonly rcode: Rcode;
  readonly answers: Answer[];
  readonly authorities: Answer[];
  readonly additionals: Answer[];
  /** An ExternalName's target outside the zone: the server appends what upstream answers for it. */
  readonly chase?: { readonly name: string; readonly type: RecordType };
}

/** Not ours: forward upstream; without upstream answer `fallback` (a reverse name), else REFUSED. */
export interface Forward {
  readonly forward: true;
  readonly fallback?: ZoneAnswer;
}

export interface Question {
  readonly name: string;
  readonly type: RecordType | string;
}

function isIPv6(ip: string): boolean {
  return ip.includes(':');
}

/** The negative answer: rcode with the zone's SOA in the authority section (RFC 2308). */
function negative(zone: ClusterZone, apex: string, rcode: Rcode): ZoneAnswer {
  return { rcode, answers: [], authorities: [soa(zone, apex)], additionals: [] };
}

/** CoreDNS's SOA: TTL min(ttl, 300), minimum = ttl (the negative-caching TTL). */
export function soa(zone: ClusterZone, apex: string): Answer {
  return {
    type: 'SOA', name: apex, ttl: Math.min(zone.ttl, 300), class: 'IN',
    data: {
      mname: `ns.dns.${apex}`, rname: `hostmaster.${apex}`, serial: zone.serial,
      refresh: 7200, retry: 1800, expire: 86400, minimum: zone.ttl,
    },
  };
}

function ok(zone: ClusterZone, answers: Answer[], additionals: Answer[] = [], apex = zone.domain): ZoneAnswer {
  return answers.length ? { rcode: 'NOERROR', answers, authorities: [], additionals } : negative(zone, apex, 'NOERROR');
}

function addresses(zone: ClusterZone, owner: string, items: readonly ZoneItem[], v6: boolean): Answer[] {
  const seen = new Set<string>();
  const out: Answer[] = [];
  for (const it of items) {
    if (it.kind !== 'address' || isIPv6(it.ip) !== v6 || seen.has(it.ip)) continue;
    seen.add(it.ip);
    out.push({ type: v6 ? 'AAAA' : 'A', name: owner, ttl: zone.ttl, class: 'IN', data: it.ip });
  }
  return out;
}

/**
 * SRV: one record per distinct (target, port), priority 0, weight 100/n as CoreDNS computes it
 * (n counted before de-duplication), the targets' addresses in the additional section. Items
 * without a port (an EndpointSlice with no ports, a pod name) have no SRV.
 */
function srv(zone: ClusterZone, owner: string, items: readonly ZoneItem[]): { answers: Answer[]; additionals: Answer[] } {
  const withPort = items.filter((i): i is Extract<ZoneItem, { kind: 'address' }> => i.kind === 'address');
  const weight = Math.max(1, Math.floor(100 / Math.max(1, withPort.length)));
  const answers: Answer[] = [];
  const additionals: Answer[] = [];
  const seen = new Set<string>();
  for (const it of withPort) {
    if (it.port === null) continue;
    const key = `${it.target}|${it.port}`;
    if (!seen.has(key)) {
      seen.add(key);
      answers.push({ type: 'SRV', name: owner, ttl: zone.ttl, class: 'IN', data: { priority: 0, weight, port: it.port, target: it.target } });
    }
    const addrKey = `${it.target}|${it.ip}`;
    if (!seen.has(addrKey)) {
      seen.add(addrKey);
      additionals.push({ type: isIPv6(it.ip) ? 'AAAA' : 'A', name: it.target, ttl: zone.ttl, class: 'IN', data: it.ip });
    }
  }
  return { answers, additionals };
}

function inZone(zone: ClusterZone, name: string): boolean {
  return name === zone.domain || name.endsWith(`.${zone.domain}`);
}

/** A CNAME (ExternalName) answer: the CNAME, then its target's records, chased inside the zone or upstream. */
function cname(zone: ClusterZone, owner: string, target: string, type: string, depth: number): ZoneAnswer {
  const record: Answer = { type: 'CNAME', name: owner, ttl: zone.ttl, class: 'IN', data: target };
  if (type === 'CNAME') return ok(zone, [record]);
  const t = target.toLowerCase();
  if (!inZone(zone, t)) return { rcode: 'NOERROR', answers: [record], authorities: [], additionals: [], chase: { name: target, type: type as RecordType } };
  if (depth >= MAX_CNAME_CHAIN || t === owner.toLowerCase()) return negative(zone, zone.domain, 'NOERROR');
  const next = answerInZone(zone, target, t, type, depth + 1);
  // As CoreDNS: an in-zone target that resolves to nothing leaves the name without records.
  if (next.rcode !== 'NOERROR' || next.answers.length === 0) return negative(zone, zone.domain, 'NOERROR');
  return { ...next, answers: [record, ...next.answers] };
}

function answerInZone(zone: ClusterZone, owner: string, name: string, type: string, depth = 0): ZoneAnswer {
  if (name === `dns-version.${zone.domain}`) {
    const txt: Answer = { type: 'TXT', name: owner, ttl: DNS_VERSION_TTL, class: 'IN', data: [DNS_SCHEMA_VERSION] };
    return type === 'TXT' ? ok(zone, [txt]) : negative(zone, zone.domain, 'NOERROR');
  }
  if (name === `ns.dns.${zone.domain}`) {
    // The apex NS target: this server's addresses (CoreDNS: its local IPs).
    const items: ZoneItem[] = zone.serverAddresses.map((ip) => ({ kind: 'address', ip, target: name, port: null }));
    return type === 'A' || type === 'AAAA' ? ok(zone, addresses(zone, owner, items, type === 'AAAA')) : negative(zone, zone.domain, 'NOERROR');
  }
  if (name === zone.domain && type === 'SOA') return ok(zone, [soa(zone, zone.domain)]);
  if (name === zone.domain && type === 'NS') {
    const ns = `ns.dns.${zone.domain}`;
    const glue = zone.serverAddresses.map((ip): Answer => ({ type: isIPv6(ip) ? 'AAAA' : 'A', name: ns, ttl: zone.ttl, class: 'IN', data: ip }));
    return ok(zone, [{ type: 'NS', name: owner, ttl: zone.ttl, class: 'IN', data: ns }], glue);
  }
  const found: ZoneLookup = lookupName(zone, name);
  if (!found.exists) return negative(zone, zone.domain, 'NXDOMAIN');
  const alias = found.items.find((i) => i.kind === 'cname');
  if (alias) return cname(zone, owner, alias.target, type, depth);
  if (type === 'A' || type === 'AAAA') return ok(zone, addresses(zone, owner, found.items, type === 'AAAA'));
  if (type === 'SRV') {
    const r = srv(zone, owner, found.items);
    return ok(zone, r.answers, r.additionals);
  }
  return negative(zone, zone.domain, 'NOERROR');
}

function reverseZone(name: string): string | undefined {
  for (const z of ['in-addr.arpa', 'ip6.arpa']) if (name === z || name.endsWith(`.${z}`)) return z;
  return undefined;
}

/**
 * The answer for `q`, or `forward` when the name is not the cluster's. Reverse names of addresses
 * the cluster does not own are forwarded too (kubeadm's `fallthrough in-addr.arpa ip6.arpa`), with
 * an authoritative NXDOMAIN as the fallback when there is no upstream.
 */
export function answerQuestion(zone: ClusterZone, q: Question): ZoneAnswer | Forward {
  const owner = q.name.replace(/\.$/, '');
  const name = owner.toLowerCase();
  if (inZone(zone, name)) {
    // Zone transfers are not offered (CoreDNS without the transfer plugin).
    if (q.type === 'AXFR' || q.type === 'IXFR') return { rcode: 'REFUSED', answers: [], authorities: [], additionals: [] };
    return answerInZone(zone, owner, name, q.type);
  }
  const rz = reverseZone(name);
  if (rz === undefined) return { forward: true };
  const ip = addressFromReverse(name);
  const targets = ip ? zone.reverse(ip) : [];
  if (targets.length === 0) return { forward: true, fallback: negative(zone, rz, 'NXDOMAIN') };
  if (q.type !== 'PTR') return negative(zone, rz, 'NOERROR');
  return ok(zone, targets.map((t): Answer => ({ type: 'PTR', name: owner, ttl: zone.ttl, class: 'IN', data: t })), [], rz);
}
