/**
 * The cluster DNS flags, shared by `vipwasm dns` and `vipwasm forward --dns-bind-address`, and
 * their validation into DnsServeOptions. Bad values throw UsageError naming the flag.
 */
import { Option } from 'commander';
import type { Command } from 'commander';
import { UsageError } from './errors.js';
import { parseBindAddress } from '../forwarder/health.js';
import { parseCount } from './forwarder-options.js';
import type { DnsServeOptions } from '../dns/serve.js';
import { type Upstream, parseUpstream, resolvConfUpstreams } from '../dns/upstream.js';
import { POD_RECORD_MODES, type PodRecordMode } from '../dns/zone.js';

export interface DnsFlagValues {
  dnsBindAddress?: string;
  clusterDomain: string;
  dnsUpstream?: string[];
  dnsTtl: string;
  podRecords: string;
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, ...value.split(',').map((s) => s.trim()).filter(Boolean)];
}

/** Adds the DNS flags; `bindDefault` undefined = no DNS unless --dns-bind-address is given. */
export function addDnsFlags(cmd: Command, bindDefault?: string): Command {
  return cmd
    .option('--dns-bind-address <host:port>', `serve cluster DNS here, UDP and TCP${bindDefault ? '' : ' (default: no DNS)'}`, bindDefault)
    .option('--cluster-domain <domain>', 'the cluster DNS zone', 'cluster.local')
    .option('--dns-upstream <addr>', 'resolver for names outside the zone (repeatable or comma-separated; "none" = answer REFUSED; default: the nameservers of /etc/resolv.conf)', collect)
    .option('--dns-ttl <seconds>', 'TTL of cluster records (negative answers: the SOA minimum)', '30')
    .addOption(new Option('--pod-records <mode>', 'a-b-c-d.<ns>.pod.<zone> records, as CoreDNS\'s `pods`').choices(POD_RECORD_MODES).default('insecure'));
}

const DOMAIN = /^(?=.{1,253}$)([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$/;

function upstreams(values: readonly string[] | undefined): Upstream[] {
  if (values === undefined) return resolvConfUpstreams();
  if (values.length === 1 && values[0] === 'none') return [];
  return values.map((v) => {
    try {
      return parseUpstream(v);
    } catch (e) {
      throw new UsageError(`--dns-upstream: ${(e as Error).message}`);
    }
  });
}

/** Checks the flags; null when no --dns-bind-address was given. */
export function resolveDnsFlags(v: DnsFlagValues): Omit<DnsServeOptions, 'log'> | null {
  if (v.dnsBindAddress === undefined || v.dnsBindAddress === 'off') return null;
  let bind: { host: string; port: number };
  try {
    bind = parseBindAddress('--dns-bind-address', v.dnsBindAddress);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const domain = v.clusterDomain.toLowerCase().replace(/\.$/, '');
  if (!DOMAIN.test(domain)) throw new UsageError(`--cluster-domain: "${v.clusterDomain}" is not a DNS domain name (e.g. cluster.local)`);
  if (!(POD_RECORD_MODES as readonly string[]).includes(v.podRecords)) throw new UsageError(`--pod-records: "${v.podRecords}" is not one of ${POD_RECORD_MODES.join(', ')}`);
  return {
    host: bind.host, port: bind.port, upstreams: upstreams(v.dnsUpstream),
    zone: { clusterDomain: domain, ttl: parseCount('--dns-ttl', v.dnsTtl, 0, 3600), podRecords: v.podRecords as PodRecordMode },
  };
}

/** One line for the start-up summary: `cluster.local on 127.0.0.1:53 (udp, tcp), upstream 10.0.0.2:53`. */
export function describeDns(o: Omit<DnsServeOptions, 'log'>, address: { host: string; port: number }): string {
  const host = address.host.includes(':') ? `[${address.host}]` : address.host;
  const up = o.upstreams.length ? `upstream ${o.upstreams.map((u) => (u.host.includes(':') ? `[${u.host}]:${u.port}` : `${u.host}:${u.port}`)).join(', ')}` : 'no upstream (other names REFUSED)';
  return `${o.zone.clusterDomain} on ${host}:${address.port} (udp, tcp), ${up}`;
}
