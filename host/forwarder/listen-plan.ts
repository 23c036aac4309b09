/**
 * Which sockets the forwarder must hold for a model: every address a Service port is reachable on
 * (ClusterIPs, externalIPs, LoadBalancer ingress IPs, and NodePorts on the node's addresses), plus
 * the service health servers for `externalTrafficPolicy: Local` LoadBalancers.
 *
 * A pure function of the model and the node-address options, so the reconciler in ./listeners.ts
 * can diff two plans by key and touch only what changed (kube-proxy's "sync what changed").
 */
import { cidrContains, parseAddress } from '../engine/address.js';
import type { Address } from '../engine/address.js';
import { servicePortKey } from '../engine/model.js';
import type { ModelServicePort, ServiceModel } from '../engine/model.js';

/** How traffic reaches a listener; NodePort, externalIP and LB traffic is "external" in Kubernetes terms. */
export type ListenerKind = 'clusterIP' | 'externalIP' | 'loadBalancerIP' | 'nodePort';

export interface PlannedListener {
  /** `tcp/10.96.0.10:53`, `udp/[fd00::10]:53`: stable identity for reconciling. */
  readonly key: string;
  readonly protocol: 'TCP' | 'UDP';
  readonly ip: string;
  readonly address: Address;
  readonly port: number;
  readonly kind: ListenerKind;
  /** Service port keys (`ns/name:port`) reachable here; more than one only on a misconfiguration. */
  readonly servicePorts: readonly string[];
}

export interface PlannedHealthServer {
  /** `health/<ip>:<port>` */
  readonly key: string;
  readonly ip: string;
  readonly port: number;
  readonly namespace: string;
  readonly name: string;
}

export interface ListenPlan {
  readonly listeners: PlannedListener[];
  readonly healthServers: PlannedHealthServer[];
  /** Service ports the forwarder cannot serve (SCTP), by key, with the reason. */
  readonly skipped: { servicePort: string; reason: string }[];
}

export interface ListenPlanOptions {
  /**
   * kube-proxy's `--nodeport-addresses`: CIDRs selecting which node IPs get NodePort listeners.
   * Empty = every node IP. The special value `primary` is treated as "every node IP given".
   */
  readonly nodePortAddresses?: readonly string[];
}

/** `tcp/1.2.3.4:80`, with brackets for IPv6. */
export function listenerKey(protocol: string, ip: string, port: number): string {
  const host = ip.includes(':') ? `[${ip}]` : ip;
  return `${protocol.toLowerCase()}/${host}:${port}`;
}

/** The node IPs that get NodePort (and health check node port) listeners. */
export function nodePortIPs(nodeIPs: readonly string[], cidrs: readonly string[] | undefined): string[] {
  const ranges = (cidrs ?? []).filter((c) => c !== 'primary');
  if (ranges.length === 0) return [...nodeIPs];
  return nodeIPs.filter((ip) => ranges.some((cidr) => cidrContains(cidr, ip)));
}

/** Computes the listeners and health servers for `model`. Deterministic order (by key). */
export function planListeners(model: ServiceModel, options: ListenPlanOptions = {}): ListenPlan {
  const byKey = new Map<string, { l: Omit<PlannedListener, 'servicePorts'>; sps: string[] }>();
  const health = new Map<string, PlannedHealthServer>();
  const skipped: { servicePort: string; reason: string }[] = [];
  const npIPs = nodePortIPs(model.nodeIPs, options.nodePortAddresses);

  const add = (sp: ModelServicePort, ip: string, port: number, kind: ListenerKind): void => {
    const protocol = sp.protocol as 'TCP' | 'UDP';
    const key = listenerKey(protocol, ip, port);
    const spKey = servicePortKey(sp);
    const found = byKey.get(key);
    if (found) {
      if (!found.sps.includes(spKey)) found.sps.push(spKey);
      return;
    }
    byKey.set(key, { l: { key, protocol, ip, address: parseAddress(ip), port, kind }, sps: [spKey] });
  };

  for (const sp of model.servicePorts) {
    if (sp.protocol === 'SCTP') {
      skipped.push({ servicePort: servicePortKey(sp), reason: 'SCTP is not supported by the userspace forwarder' });
      continue;
    }
    for (const ip of sp.clusterIPs) add(sp, ip, sp.port, 'clusterIP');
    for (const ip of sp.externalIPs) add(sp, ip, sp.port, 'externalIP');
    for (const ip of sp.loadBalancerIPs) add(sp, ip, sp.port, 'loadBalancerIP');
    if (sp.nodePort > 0) for (const ip of npIPs) add(sp, ip, sp.nodePort, 'nodePort');
    if (sp.healthCheckNodePort > 0) {
      for (const ip of npIPs) {
        const host = ip.includes(':') ? `[${ip}]` : ip;
        const key = `health/${host}:${sp.healthCheckNodePort}`;
        if (!health.has(key)) {
          health.set(key, { key, ip, port: sp.healthCheckNodePort, namespace: sp.namespace, name: sp.name });
        }
      }
    }
  }
  const listeners = [...byKey.values()]
    .map(({ l, sps }) => ({ ...l, servicePorts: sps }))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const healthServers = [...health.values()].sort((a, b) => (a.key < b.key ? -1 : 1));
  return { listeners, healthServers, skipped };
}

/**
 * Local ready endpoints of a Service, as kube-proxy's service health server counts them
 * (pkg/proxy/healthcheck: `LocalReadyEndpoints`): distinct endpoint addresses that are ready and
 * on this node, over all ports of the Service.
 */
export function localReadyEndpoints(model: ServiceModel, namespace: string, name: string): number {
  const ips = new Set<string>();
  for (const sp of model.servicePorts) {
    if (sp.namespace !== namespace || sp.name !== name) continue;
    for (const b of sp.backends) if (b.local && b.ready) ips.add(b.ip);
  }
  return ips.size;
}
