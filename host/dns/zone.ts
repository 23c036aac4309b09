/**
 * ClusterZone: the cluster DNS data, indexed from the model's DiscoveryView for lookups by name
 * (namespace/service, lower case) and by address (PTR). Rebuilt whole on each model update; the
 * query path only reads it.
 *
 * Names follow the Kubernetes DNS-Based Service Discovery specification v1.1.0 and, where it leaves
 * things open, CoreDNS's `kubernetes` plugin (plugin/kubernetes/kubernetes.go, reverse.go).
 */
import ipaddr from 'ipaddr.js';
import type { DiscoveryEndpoint, DiscoveryService, DiscoveryView } from '../model/index.js';

/** CoreDNS `pods` modes for `<a-b-c-d>.<ns>.pod.<zone>`. */
export const POD_RECORD_MODES = ['insecure', 'verified', 'disabled'] as const;
export type PodRecordMode = (typeof POD_RECORD_MODES)[number];

export interface ZoneOptions {
  /** `--cluster-domain`, e.g. cluster.local (any case, trailing dot allowed). */
  readonly clusterDomain: string;
  /** TTL of every record but dns-version's (kubeadm's Corefile: `ttl 30`). */
  readonly ttl: number;
  readonly podRecords: PodRecordMode;
  /** Addresses this server answers on, for `ns.dns.<zone>` (wildcards left out). */
  readonly serverAddresses?: readonly string[];
}

/** An endpoint address as DNS sees it: its _hostname_ and its ports (a sentinel when it has none). */
export interface ZoneEndpoint {
  readonly ip: string;
  /** Lower case: the endpoint's hostname, else its dashed IP (CoreDNS endpointHostname). */
  readonly hostname: string;
  readonly ports: readonly { readonly name: string; readonly protocol: string; readonly port: number | null }[];
}

export interface ZoneService {
  readonly namespace: string;
  readonly name: string;
  readonly service: DiscoveryService;
  /** Ready endpoints (or all, with publishNotReadyAddresses), as the specification's _ready_. */
  readonly endpoints: readonly ZoneEndpoint[];
}

/** `10.0.0.1` → `10-0-0-1`; `fd00::1` → `fd00--1`; a trailing dash gets a 0 (`fd00::` → `fd00--0`). */
export function dashedIP(ip: string): string {
  if (ip.includes('.')) return ip.replaceAll('.', '-');
  const d = ip.replaceAll(':', '-');
  return d.endsWith('-') ? `${d}0` : d;
}

/** The reverse-lookup name of an address, without a trailing dot. */
export function reverseName(ip: string): string {
  const a = ipaddr.parse(ip);
  if (a.kind() === 'ipv4') return `${(a as ipaddr.IPv4).octets.slice().reverse().join('.')}.in-addr.arpa`;
  const nibbles = (a as ipaddr.IPv6).toByteArray().flatMap((b) => [b >> 4, b & 15]).map((n) => n.toString(16));
  return `${nibbles.reverse().join('.')}.ip6.arpa`;
}

/** The address a full reverse name stands for (lower-case name without trailing dot), or undefined. */
export function addressFromReverse(name: string): string | undefined {
  if (name.endsWith('.in-addr.arpa')) {
    const parts = name.slice(0, -'.in-addr.arpa'.length).split('.');
    if (parts.length !== 4 || !parts.every((p) => /^(0|[1-9]\d{0,2})$/.test(p) && Number(p) <= 255)) return undefined;
    return parts.reverse().join('.');
  }
  if (name.endsWith('.ip6.arpa')) {
    const parts = name.slice(0, -'.ip6.arpa'.length).split('.');
    if (parts.length !== 32 || !parts.every((p) => /^[0-9a-f]$/.test(p))) return undefined;
    const hex = parts.reverse().join('');
    return ipaddr.parse(hex.match(/.{4}/g)!.join(':')).toString();
  }
  return undefined;
}

function zoneEndpoint(e: DiscoveryEndpoint): ZoneEndpoint {
  return {
    ip: e.ip, hostname: (e.hostname ?? dashedIP(e.ip)).toLowerCase(),
    ports: e.ports.length ? e.ports : [{ name: '', protocol: '', port: null }],
  };
}

export class ClusterZone {
  /** Lower case, no trailing dot. */
  readonly domain: string;
  readonly ttl: number;
  readonly podRecords: PodRecordMode;
  readonly serverAddresses: readonly string[];
  /** SOA serial: Unix seconds of the model update this zone was built from (CoreDNS: last modification). */
  readonly serial: number;
  private readonly services = new Map<string, ZoneService>();
  private readonly namespaces: Set<string>;
  private readonly ptr = new Map<string, string[]>();
  /** Pod IP → namespaces with a Pod of that IP (pods verified). */
  private readonly podIPs = new Map<string, Set<string>>();

  constructor(view: DiscoveryView, options: ZoneOptions, serial = Math.floor(Date.now() / 1000)) {
    this.domain = options.clusterDomain.toLowerCase().replace(/\.$/, '');
    this.ttl = options.ttl;
    this.podRecords = options.podRecords;
    this.serverAddresses = options.serverAddresses ?? [];
    this.serial = serial >>> 0;
    this.namespaces = new Set(view.namespaces.map((n) => n.toLowerCase()));
    for (const svc of view.services) {
      const endpoints = svc.endpoints.filter((e) => e.ready || svc.publishNotReadyAddresses).map(zoneEndpoint);
      this.services.set(`${svc.namespace}/${svc.name}`.toLowerCase(), { namespace: svc.namespace, name: svc.name, service: svc, endpoints });
    }
    this.indexReverse();
    for (const pod of view.pods) {
      for (const ip of pod.ips) {
        const set = this.podIPs.get(ip) ?? new Set<string>();
        set.add(pod.namespace.toLowerCase());
        this.podIPs.set(ip, set);
      }
    }
  }

  /** `<svc>.<ns>.svc.<zone>` */
  serviceName(s: Pick<ZoneService, 'namespace' | 'name'>): string {
    return `${s.name}.${s.namespace}.svc.${this.domain}`.toLowerCase();
  }

  /**
   * PTR targets: a ClusterIP names its Service alone (CoreDNS serviceRecordForIP); otherwise every
   * ready endpoint with that address names `<hostname>.<svc>.<ns>.svc.<zone>`.
   */
  private indexReverse(): void {
    const byEndpoint = new Map<string, Set<string>>();
    for (const s of this.services.values()) {
      for (const ip of s.service.clusterIPs) if (!this.ptr.has(ip)) this.ptr.set(ip, [this.serviceName(s)]);
      for (const e of s.endpoints) {
        const set = byEndpoint.get(e.ip) ?? new Set<string>();
        set.add(`${e.hostname}.${this.serviceName(s)}`);
        byEndpoint.set(e.ip, set);
      }
    }
    for (const [ip, names] of byEndpoint) if (!this.ptr.has(ip)) this.ptr.set(ip, [...names].sort());
  }

  service(namespace: string, name: string): ZoneService | undefined {
    return this.services.get(`${namespace}/${name}`);
  }

  namespaceExists(namespace: string): boolean {
    return this.namespaces.has(namespace);
  }

  /** PTR targets for an address (canonical text), [] when none. */
  reverse(ip: string): readonly string[] {
    return this.ptr.get(ip) ?? [];
  }

  podExists(ip: string, namespace: string): boolean {
    return this.podIPs.get(ip)?.has(namespace) ?? false;
  }

  get size(): { services: number; reverse: number } {
    return { services: this.services.size, reverse: this.ptr.size };
  }
}
