/**
 * Builds ServiceModel objects directly (no manifests) for the engine tests: service ports whose
 * backends are ready and (unless told otherwise) in both pools, sorted into engine order.
 */
import { parseAddress } from '../../host/engine/address.js';
import { servicePortKey, type ModelBackend, type ModelServicePort, type SchedulerFlags, type SchedulerName, type ServiceModel } from '../../host/engine/model.js';

export interface BackendSpec {
  readonly ip: string;
  readonly port: number;
  readonly weight: number;
  /** Pool membership; both default to true. */
  readonly cluster?: boolean;
  readonly external?: boolean;
}

export interface ServicePortSpec {
  readonly name?: string;
  readonly protocol?: 'TCP' | 'UDP';
  readonly port?: number;
  readonly clusterIPs?: readonly string[];
  readonly externalIPs?: readonly string[];
  /** Makes the port a LoadBalancer with these ingress IPs (and a node port). */
  readonly loadBalancerIPs?: readonly string[];
  readonly loadBalancerSourceRanges?: readonly string[];
  /** Makes the port (at least) a NodePort. */
  readonly nodePort?: number;
  readonly scheduler: SchedulerName;
  readonly flags?: SchedulerFlags;
  /** ClientIP affinity timeout in seconds; absent = sessionAffinity None. */
  readonly affinitySeconds?: number;
  readonly backends: readonly BackendSpec[];
}

export function backend(spec: BackendSpec): ModelBackend {
  return {
    ip: spec.ip,
    port: spec.port,
    weight: spec.weight,
    ready: true,
    serving: true,
    terminating: false,
    local: true,
    cluster: spec.cluster ?? true,
    external: spec.external ?? true,
  };
}

/** Engine order (compareBackends), parsing each address once. */
function sortBackends(backends: ModelBackend[]): ModelBackend[] {
  const keyed = backends.map((b) => ({ b, a: parseAddress(b.ip) }));
  keyed.sort((x, y) => x.a.family - y.a.family || x.a.w0 - y.a.w0 || x.a.w1 - y.a.w1 || x.a.w2 - y.a.w2 || x.a.w3 - y.a.w3 || x.b.port - y.b.port);
  return keyed.map((k) => k.b);
}

export function servicePort(spec: ServicePortSpec): ModelServicePort {
  return {
    namespace: 'default',
    name: spec.name ?? 'web',
    portName: '',
    type: spec.loadBalancerIPs?.length ? 'LoadBalancer' : spec.nodePort ? 'NodePort' : 'ClusterIP',
    protocol: spec.protocol ?? 'TCP',
    port: spec.port ?? 80,
    clusterIPs: spec.clusterIPs ?? ['10.96.0.10'],
    nodePort: spec.nodePort ?? 0,
    externalIPs: spec.externalIPs ?? [],
    loadBalancerIPs: spec.loadBalancerIPs ?? [],
    loadBalancerSourceRanges: spec.loadBalancerSourceRanges ?? [],
    scheduler: spec.scheduler,
    schedulerFlags: spec.flags ?? { port: false, fallback: false },
    sessionAffinity: spec.affinitySeconds === undefined ? 'None' : 'ClientIP',
    affinityTimeoutSeconds: spec.affinitySeconds ?? 10800,
    externalTrafficPolicy: 'Cluster',
    internalTrafficPolicy: 'Cluster',
    healthCheckNodePort: 0,
    hasEndpoints: spec.backends.length > 0,
    backends: sortBackends(spec.backends.map(backend)),
  };
}

export function serviceModel(ports: readonly ModelServicePort[], nodeIPs: readonly string[] = []): ServiceModel {
  const servicePorts = [...ports].sort((a, b) => (servicePortKey(a) < servicePortKey(b) ? -1 : servicePortKey(a) > servicePortKey(b) ? 1 : 0));
  return { nodeIPs, servicePorts };
}
