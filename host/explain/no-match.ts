/**
 * Why no Service port matched a destination: the near misses a person would look for (the right
 * address at another port or protocol, a NodePort on an address that is not this node's, a
 * nodePort reached through a Service address). kube-proxy matches exactly (protocol, address, port).
 */
import type { Address } from '../engine/address.js';
import type { Protocol, ServiceModel } from '../engine/model.js';
import { servicePortKey } from '../engine/model.js';

export function whyNoMatch(model: ServiceModel, dst: Address, port: number, protocol: Protocol): string[] {
  const reasons: string[] = [];
  for (const sp of model.servicePorts) {
    const key = servicePortKey(sp);
    const addresses = [
      ...sp.clusterIPs.map((ip) => ['clusterIP', ip] as const),
      ...sp.externalIPs.map((ip) => ['externalIP', ip] as const),
      ...sp.loadBalancerIPs.map((ip) => ['load-balancer ingress IP', ip] as const),
    ];
    for (const [what, ip] of addresses) {
      if (ip !== dst.text) continue;
      if (sp.port !== port) reasons.push(`${dst.text} is a ${what} of ${key}, but its port is ${sp.port}/${sp.protocol}, not ${port}`);
      else if (sp.protocol !== protocol) reasons.push(`${dst.text}:${port} is a ${what} of ${key}, but for ${sp.protocol}, not ${protocol}`);
    }
    if (sp.nodePort === port && sp.protocol === protocol && !model.nodeIPs.includes(dst.text)) {
      reasons.push(`${port} is the nodePort of ${key}, but ${dst.text} is not one of this node's IPs (${model.nodeIPs.join(', ') || 'none: give --node-ip or a Node object'})`);
    }
  }
  if (!reasons.length) reasons.push(`no Service has ${dst.text} as a clusterIP, externalIP or load-balancer IP at port ${port}/${protocol}, and ${port} is no nodePort here`);
  return reasons;
}
