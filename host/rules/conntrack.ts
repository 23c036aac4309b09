/**
 * Stale UDP conntrack entries (kubernetes issue #19029): UDP has no connection teardown, so a client
 * keeps talking to an endpoint that is gone until its conntrack entry expires. After a sync, kube-proxy
 * deletes the entries whose DNAT points at a removed endpoint (pkg/proxy/conntrack/cleanup.go), and
 * the entries for a Service IP that had no endpoints (they were REJECTed, and the reject is cached).
 * Pure: computes the `conntrack -D` argument lists.
 */
import type { ModelServicePort, ServiceModel } from '../engine/model.js';
import { servicePortKey } from '../engine/model.js';
import { familyOf, type IPFamily } from './options.js';

function udpPorts(model: ServiceModel | undefined, family: IPFamily): Map<string, ModelServicePort> {
  const out = new Map<string, ModelServicePort>();
  for (const sp of model?.servicePorts ?? []) if (sp.protocol === 'UDP' && sp.clusterIPs.some((ip) => familyOf(ip) === family)) out.set(servicePortKey(sp), sp);
  return out;
}

function serviceIPs(sp: ModelServicePort, family: IPFamily): string[] {
  return [...sp.clusterIPs, ...sp.externalIPs, ...sp.loadBalancerIPs].filter((ip) => familyOf(ip) === family);
}

/** Argument lists for `conntrack -D ...`, one per (service IP or NodePort) × stale endpoint. */
export function staleUdpConntrackDeletions(prev: ServiceModel | undefined, next: ServiceModel, family: IPFamily): string[][] {
  const before = udpPorts(prev, family);
  const after = udpPorts(next, family);
  const fam = family === 6 ? ['-f', 'ipv6'] : [];
  const out: string[][] = [];
  for (const [key, old] of before) {
    const cur = after.get(key);
    const live = new Set((cur?.backends ?? []).filter((b) => b.ready || (b.serving && b.terminating)).map((b) => `${b.ip}:${b.port}`));
    for (const b of old.backends) {
      if (familyOf(b.ip) !== family || live.has(`${b.ip}:${b.port}`)) continue;
      for (const ip of serviceIPs(old, family)) out.push(['-D', ...fam, '-p', 'udp', '--orig-dst', ip, '--orig-port-dst', `${old.port}`, '--dst-nat', b.ip]);
      if (old.nodePort) out.push(['-D', ...fam, '-p', 'udp', '--orig-port-dst', `${old.nodePort}`, '--dst-nat', b.ip]);
    }
  }
  for (const [key, cur] of after) {
    const old = before.get(key);
    if (old && !old.hasEndpoints && cur.hasEndpoints) {
      for (const ip of serviceIPs(cur, family)) out.push(['-D', ...fam, '-p', 'udp', '--orig-dst', ip, '--orig-port-dst', `${cur.port}`]);
      if (cur.nodePort) out.push(['-D', ...fam, '-p', 'udp', '--orig-port-dst', `${cur.nodePort}`]);
    }
  }
  return out;
}
