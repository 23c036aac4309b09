/**
 * The addresses a simulated client can connect to, read off the model the way kube-proxy serves
 * them: every clusterIP on the port, every node IP on the nodePort, every external IP and
 * load-balancer IP on the port.
 */
import { servicePortKey, type Protocol, type ServiceModel } from '../engine/model.js';
import type { SimulationTarget } from './simulate.js';

export interface TargetOption extends SimulationTarget {
  /** Stable value for a <select> and the URL: `ip|port|protocol`. */
  readonly value: string;
  /** What a person reads: "default/hostnames — ClusterIP 10.0.1.175:80/TCP". */
  readonly label: string;
}

export function hostPort(ip: string, port: number): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

export function targetValue(t: SimulationTarget): string {
  return `${t.ip}|${t.port}|${t.protocol}`;
}

/** Parses `ip|port|protocol` (the URL form); null when malformed. */
export function parseTargetValue(value: string): SimulationTarget | null {
  const [ip, port, protocol] = value.split('|');
  const n = Number(port);
  if (!ip || !Number.isInteger(n) || n < 1 || n > 65_535) return null;
  if (protocol !== 'TCP' && protocol !== 'UDP' && protocol !== 'SCTP') return null;
  return { ip, port: n, protocol: protocol as Protocol };
}

export function targetOptions(model: ServiceModel): TargetOption[] {
  const out: TargetOption[] = [];
  const seen = new Set<string>();
  const add = (ip: string, port: number, protocol: Protocol, name: string, kind: string): void => {
    const t = { ip, port, protocol };
    const value = targetValue(t);
    if (seen.has(value)) return;
    seen.add(value);
    out.push({ ...t, value, label: `${name} — ${kind} ${hostPort(ip, port)}/${protocol}` });
  };
  for (const sp of model.servicePorts) {
    const name = servicePortKey(sp);
    for (const ip of sp.clusterIPs) add(ip, sp.port, sp.protocol, name, 'ClusterIP');
    if (sp.nodePort > 0) for (const ip of model.nodeIPs) add(ip, sp.nodePort, sp.protocol, name, 'NodePort');
    for (const ip of sp.externalIPs) add(ip, sp.port, sp.protocol, name, 'external IP');
    for (const ip of sp.loadBalancerIPs) add(ip, sp.port, sp.protocol, name, 'LoadBalancer');
  }
  return out;
}
