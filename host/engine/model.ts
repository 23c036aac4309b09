/**
 * The normalized service model: what every data plane consumes.
 *
 * `host/model/` turns Kubernetes objects (Service, EndpointSlice, Endpoints, Pod, Node) into this
 * shape, applying every Kubernetes rule once (defaults, allocation, endpoint categorisation as
 * kube-proxy's `CategorizeEndpoints` in pkg/proxy/topology.go). The engine snapshot encoder, the
 * rule renderers, the forwarder, the Envoy filter and the playground read it and re-derive nothing.
 */
import { compareAddresses } from './address.js';

/** Transport protocols a Service port can carry. */
export type Protocol = 'TCP' | 'UDP' | 'SCTP';

/** IANA protocol numbers, as carried in snapshots and flow keys. */
export const PROTOCOL_NUMBER: Readonly<Record<Protocol, number>> = { TCP: 6, UDP: 17, SCTP: 132 };

/** The IPVS schedulers the engine implements (reference/ipvs-schedulers.md), plus `random`. */
export const SCHEDULERS = ['rr', 'wrr', 'lc', 'wlc', 'sed', 'nq', 'dh', 'sh', 'mh', 'random'] as const;
export type SchedulerName = (typeof SCHEDULERS)[number];

/** Scheduler flags, as ipvsadm's `-b` options. */
export interface SchedulerFlags {
  /** sh / mh: hash the source port too (`sh-port`, `mh-port`). */
  readonly port: boolean;
  /** sh / mh: when the hashed server is unavailable, probe others (`sh-fallback`, `mh-fallback`). */
  readonly fallback: boolean;
}

export type TrafficPolicy = 'Cluster' | 'Local';
export type ServiceType = 'ClusterIP' | 'NodePort' | 'LoadBalancer';

/** One endpoint of one service port, with its target port resolved. */
export interface ModelBackend {
  /** Canonical text form (`ipaddr.js` `toString()`: IPv6 compressed, lower case). */
  readonly ip: string;
  /** Target port on the endpoint. */
  readonly port: number;
  /** 0..65535; Kubernetes has no weights, so 1 unless a vipwasm.io annotation says otherwise. 0 = quiesced. */
  readonly weight: number;
  /** EndpointConditions. */
  readonly ready: boolean;
  readonly serving: boolean;
  readonly terminating: boolean;
  /** The endpoint runs on this node (nodeName matches the proxy's node). */
  readonly local: boolean;
  readonly nodeName?: string;
  readonly zone?: string;
  /** The backend is in the set used for cluster-internal traffic (ClusterIP), after policy and fallback. */
  readonly cluster: boolean;
  /** The backend is in the set used for external traffic (NodePort, externalIPs, LoadBalancer). */
  readonly external: boolean;
  /**
   * Set only when both traffic policies are Local on an externally reachable port, where neither flag
   * above says it: the backend is in kube-proxy's clusterEndpoints (topology applied), which its
   * Cluster-policy chain still serves (pod and node-local traffic short-circuited by the external chain).
   */
  readonly clusterPolicy?: boolean;
}

/**
 * One Service port: kube-proxy's ServicePort. Headless and ExternalName Services have none
 * (kube-proxy's ShouldSkipService); they appear only in `get` output and DNS.
 */
export interface ModelServicePort {
  readonly namespace: string;
  readonly name: string;
  /** `spec.ports[].name`; may be empty for a single-port Service. */
  readonly portName: string;
  readonly type: ServiceType;
  readonly protocol: Protocol;
  readonly port: number;
  /** spec.clusterIPs (one per family), canonical text. */
  readonly clusterIPs: readonly string[];
  /** 0 when the port has no nodePort. */
  readonly nodePort: number;
  readonly externalIPs: readonly string[];
  /** status.loadBalancer.ingress[].ip (ipMode VIP or unset). */
  readonly loadBalancerIPs: readonly string[];
  /** CIDRs; empty = every source allowed. Applies to traffic to loadBalancerIPs only. */
  readonly loadBalancerSourceRanges: readonly string[];
  readonly scheduler: SchedulerName;
  readonly schedulerFlags: SchedulerFlags;
  readonly sessionAffinity: 'None' | 'ClientIP';
  /** sessionAffinityConfig.clientIP.timeoutSeconds; meaningful with ClientIP (default 10800). */
  readonly affinityTimeoutSeconds: number;
  readonly externalTrafficPolicy: TrafficPolicy;
  readonly internalTrafficPolicy: TrafficPolicy;
  /** 0 when none (only type LoadBalancer with externalTrafficPolicy Local has one). */
  readonly healthCheckNodePort: number;
  /** Some endpoint anywhere is ready, or serving and terminating (kube-proxy's hasAnyEndpoints). */
  readonly hasEndpoints: boolean;
  /** Every endpoint of this port, in engine order (see compareBackends). */
  readonly backends: readonly ModelBackend[];
}

/** Everything a data plane needs, for one node. */
export interface ServiceModel {
  /** This node's addresses: NodePorts are served on each. */
  readonly nodeIPs: readonly string[];
  /** Sorted by servicePortKey. */
  readonly servicePorts: readonly ModelServicePort[];
  /**
   * The cluster's Service CIDRs (`--service-cluster-ip-range` and ServiceCIDR objects): traffic to
   * an address in them that no Service holds is dropped (kube-proxy's nftables cluster-ips-check).
   * Absent in models built by hand: no such check.
   */
  readonly serviceCIDRs?: readonly string[];
}

/** kube-proxy's ServicePortName.String(): `ns/name:port`, or `ns/name` when the port is unnamed. */
export function servicePortKey(sp: Pick<ModelServicePort, 'namespace' | 'name' | 'portName'>): string {
  const base = `${sp.namespace}/${sp.name}`;
  return sp.portName ? `${base}:${sp.portName}` : base;
}

/** `ip:port`, with brackets for IPv6 (Go's net.JoinHostPort). */
export function backendKey(b: Pick<ModelBackend, 'ip' | 'port'>): string {
  return b.ip.includes(':') ? `[${b.ip}]:${b.port}` : `${b.ip}:${b.port}`;
}

/**
 * Engine order, which is also the kernel's destination-list order the ipvs exporter reproduces:
 * by address numerically (IPv4 before IPv6), then port.
 */
export function compareBackends(a: Pick<ModelBackend, 'ip' | 'port'>, b: Pick<ModelBackend, 'ip' | 'port'>): number {
  return compareAddresses(a.ip, b.ip) || a.port - b.port;
}
