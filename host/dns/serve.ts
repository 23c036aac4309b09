/**
 * Cluster DNS that follows the model live: the zone is rebuilt from each ModelFeed update and
 * swapped in whole, so a query sees one model version or the next, never a mix. `vipwasm dns`
 * runs it on its own feed; `vipwasm forward --dns-bind-address` on the forwarder's.
 */
import { networkInterfaces } from 'node:os';
import type { Logger } from 'pino';
import type { ModelResult } from '../model/index.js';
import type { ModelFeed } from '../sources/model-feed.js';
import { Responder } from './respond.js';
import { DnsServer } from './server.js';
import type { Upstream } from './upstream.js';
import { ClusterZone, type ZoneOptions } from './zone.js';

export interface DnsServeOptions {
  /** Where to answer, UDP and TCP (port 0 = pick one). */
  readonly host: string;
  readonly port: number;
  readonly zone: Omit<ZoneOptions, 'serverAddresses'>;
  /** Resolvers for names outside the zone; none = REFUSED. */
  readonly upstreams: readonly Upstream[];
  readonly upstreamTimeoutMs?: number;
  /** Forwarded queries in flight at most (default MAX_FORWARDS). */
  readonly maxForwards?: number;
  readonly log?: Logger;
}

export interface ServingDns {
  readonly server: DnsServer;
  readonly address: { host: string; port: number };
  /** The zone queries are answered from now. */
  readonly zone: ClusterZone;
  stop(): Promise<void>;
}

function isWildcard(host: string): boolean {
  return host === '0.0.0.0' || host === '::';
}

function isLoopback(host: string): boolean {
  return host.startsWith('127.') || host === '::1';
}

/** Serves DNS from `first` and every later update of `feed` (which the caller has started). */
export async function serveDns(feed: ModelFeed, first: ModelResult, o: DnsServeOptions): Promise<ServingDns> {
  const zoneOptions: ZoneOptions = { ...o.zone, serverAddresses: isWildcard(o.host) ? [] : [o.host] };
  const responder = new Responder(new ClusterZone(first.discovery, zoneOptions), {
    upstreams: o.upstreams, ...(o.upstreamTimeoutMs !== undefined ? { upstreamTimeoutMs: o.upstreamTimeoutMs } : {}),
    ...(o.maxForwards !== undefined ? { maxForwards: o.maxForwards } : {}),
  });
  const server = new DnsServer(responder);
  const address = await server.listen({ host: o.host, port: o.port });
  // An upstream that is this server (resolv.conf naming the address we serve on) would forward
  // every outside name to itself forever (what CoreDNS's `loop` plugin detects): leave it out.
  const local = new Set(Object.values(networkInterfaces()).flatMap((l) => l ?? []).map((a) => a.address));
  const self = (u: Upstream): boolean => u.port === address.port && (u.host === address.host || (isWildcard(address.host) && (local.has(u.host) || isLoopback(u.host))));
  const loops = o.upstreams.filter(self);
  if (loops.length) {
    responder.options.upstreams = o.upstreams.filter((u) => !self(u));
    o.log?.warn({ upstreams: loops.map((u) => `${u.host}:${u.port}`) }, 'upstream is this DNS server itself (a forwarding loop); left out');
  }
  const unsubscribe = feed.subscribe((u) => {
    try {
      responder.zone = new ClusterZone(u.result.discovery, zoneOptions);
      o.log?.debug({ revision: u.snapshot.revision, ...responder.zone.size }, 'dns zone updated');
    } catch (err) {
      o.log?.error({ err: (err as Error).message }, 'cannot rebuild the DNS zone; answering from the previous one');
    }
  });
  return {
    server, address,
    get zone() {
      return responder.zone;
    },
    async stop() {
      unsubscribe();
      await server.close();
    },
  };
}
