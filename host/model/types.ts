/**
 * Public types of host/model: the raw Kubernetes objects it reads, the options that describe the
 * node and cluster it models, and what it returns. Browser-safe: no node: imports anywhere in
 * host/model/.
 */
import type { SchedulerName, ServiceModel } from '../engine/model.js';
import type { AllocationStore } from './allocation-store.js';
import type { DiscoveryView } from './discovery.js';

/**
 * A Kubernetes object as parsed from YAML/JSON or received from the API server. The model reads
 * it defensively: any field may be missing or of the wrong type, which validation reports.
 */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: KubeMetadata;
  [field: string]: unknown;
}

export interface KubeMetadata {
  name?: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  resourceVersion?: string;
  deletionTimestamp?: string;
  [field: string]: unknown;
}

/** Where an object came from, for error messages: `file:line` (document index for JSON). */
export interface ObjectOrigin {
  readonly file: string;
  readonly line?: number;
}

/** A problem found in the input. Errors skip the object (or field); warnings only inform. */
export interface Diagnostic {
  readonly severity: 'error' | 'warning';
  /** kubectl-like object reference: `Service "default/web"`, or a file for parse errors. */
  readonly object: string;
  /** Field path, e.g. `spec.ports[1].nodePort`; empty when the object as a whole is meant. */
  readonly field: string;
  /** The apimachinery field.Error text, e.g. `Invalid value: 29999: provided port is not in the valid range…`. */
  readonly message: string;
  readonly origin?: ObjectOrigin;
}

/** The kubectl-like one-line form: `Service "default/web": spec.ports[1].nodePort: Invalid value: …`. */
export function formatDiagnostic(d: Diagnostic): string {
  const where = d.origin ? ` (${d.origin.file}${d.origin.line ? `:${d.origin.line}` : ''})` : '';
  const field = d.field ? `${d.field}: ` : '';
  return `${d.object}${where}: ${field}${d.message}`;
}

export interface ModelOptions {
  /** This node's name: endpoints with this nodeName are local. Empty = no endpoint is local. */
  nodeName?: string;
  /** This node's IPs (NodePorts are served on them). Empty = the Node object's InternalIP/ExternalIP addresses. */
  nodeIPs?: readonly string[];
  /**
   * This machine's own addresses, the node IPs when neither `nodeIPs` nor a Node object gives any:
   * kube-proxy with an empty `--nodeport-addresses` accepts NodePort traffic on every local
   * address. Set by hosts that serve on this machine (`vipwasm forward`).
   */
  localAddresses?: readonly string[];
  /** `--service-cluster-ip-range`: one CIDR per family. Default ['10.96.0.0/12']. */
  serviceClusterIPRanges?: readonly string[];
  /** `--service-node-port-range`, `30000-32767` form (a single port `N` means N-N). */
  nodePortRange?: string;
  /** MetalLB-style pool: CIDRs (`198.18.0.0/28`) and ranges (`198.18.0.10-198.18.0.20`). None = LoadBalancers stay pending. */
  loadBalancerIPPool?: readonly string[];
  /** Scheduler for ports without a `vipwasm.io/scheduler` annotation. Default 'rr'. */
  defaultScheduler?: SchedulerName;
  /** Use this scheduler for every port, annotations notwithstanding (`simulate --scheduler`). */
  forceScheduler?: SchedulerName;
  /**
   * The objects come from an API server, which has already validated and allocated them: do not
   * check given clusterIPs and nodePorts against the local ranges (the cluster's may differ).
   */
  trustAllocations?: boolean;
  /** Where allocations persist. Default: a fresh in-memory store (allocations then derive from names only). */
  allocationStore?: AllocationStore;
}

/** One row of `vipwasm get services` / `get endpoints`, for every Service including headless and ExternalName. */
export interface ServiceView {
  readonly namespace: string;
  readonly name: string;
  readonly type: 'ClusterIP' | 'NodePort' | 'LoadBalancer' | 'ExternalName';
  /** spec.clusterIPs after allocation; ['None'] for headless; [] for ExternalName. */
  readonly clusterIPs: readonly string[];
  readonly externalIPs: readonly string[];
  /** status.loadBalancer.ingress after pool allocation: IPs and hostnames. */
  readonly loadBalancerIngress: readonly string[];
  readonly externalName: string;
  readonly ports: readonly ServicePortView[];
  /** null when the Service has no selector. */
  readonly selector: Readonly<Record<string, string>> | null;
  /** Every endpoint address:port the Service has, as `kubectl get endpoints` would show them. */
  readonly endpoints: readonly EndpointView[];
}

export interface ServicePortView {
  readonly name: string;
  readonly protocol: 'TCP' | 'UDP' | 'SCTP';
  readonly port: number;
  readonly targetPort: number | string;
  readonly nodePort: number;
  readonly appProtocol?: string;
}

export interface EndpointView {
  readonly ip: string;
  readonly port: number;
  readonly portName: string;
  readonly protocol: 'TCP' | 'UDP' | 'SCTP';
  readonly ready: boolean;
  readonly serving: boolean;
  readonly terminating: boolean;
  readonly nodeName?: string;
}

export interface ModelResult {
  readonly model: ServiceModel;
  /** Sorted by namespace then name. */
  readonly services: readonly ServiceView[];
  readonly diagnostics: readonly Diagnostic[];
  /** Every Service (headless and ExternalName too), endpoint address, Pod and namespace: for DNS and env vars. */
  readonly discovery: DiscoveryView;
}
