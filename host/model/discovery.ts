/**
 * The discovery view of the model: what cluster DNS (the Kubernetes DNS-Based Service Discovery
 * specification, served by host/dns) and kubelet's Service environment variables (host/model/
 * env-vars.ts) need. Unlike the ServiceModel it keeps headless and ExternalName Services, every
 * endpoint address with its hostname and readiness and its EndpointSlice's ports (a DNS record is
 * per address, not per address:port), the Pods with their IPs, and the namespaces that exist.
 *
 * Endpoints come from the same source the ServiceModel uses for a Service (EndpointSlices, else a
 * v1 Endpoints object, else the Pods its selector picks), so the two never disagree.
 */
import type { Protocol } from '../engine/model.js';
import type { EndpointInputs } from './endpoints.js';
import { canonicalIP, list, record, stringMap, text } from './fields.js';
import type { ServiceSpec } from './service.js';
import type { KubeObject } from './types.js';

/** A port as an EndpointSlice lists it: the endpoint's (target) port number. */
export interface DiscoveryPort {
  /** '' for an unnamed port. */
  readonly name: string;
  readonly protocol: Protocol;
  /** null when the slice port has none (EndpointSlice `port` unset: every port). */
  readonly port: number | null;
}

/** One endpoint address of a Service, with the ports of the EndpointSlice (or subset) it is in. */
export interface DiscoveryEndpoint {
  readonly ip: string;
  /** EndpointSlice `hostname` (Pod `spec.hostname` when `spec.subdomain` names the Service). */
  readonly hostname?: string;
  /** EndpointConditions.ready (an address in `addresses` rather than `notReadyAddresses`). */
  readonly ready: boolean;
  readonly serving: boolean;
  readonly terminating: boolean;
  readonly nodeName?: string;
  /** targetRef name (the Pod), when the endpoint has one. */
  readonly podName?: string;
  /** Empty when the slice lists no ports (a headless Service without ports). */
  readonly ports: readonly DiscoveryPort[];
}

export interface DiscoveryService {
  readonly namespace: string;
  readonly name: string;
  readonly type: 'ClusterIP' | 'NodePort' | 'LoadBalancer' | 'ExternalName';
  /** spec.clusterIPs after allocation, primary first; [] for headless and ExternalName. */
  readonly clusterIPs: readonly string[];
  readonly headless: boolean;
  /** spec.externalName without a trailing dot; '' unless type ExternalName. */
  readonly externalName: string;
  /** spec.ports (Service port numbers). */
  readonly ports: readonly { readonly name: string; readonly protocol: Protocol; readonly port: number }[];
  readonly publishNotReadyAddresses: boolean;
  readonly creationTimestamp?: string;
  readonly endpoints: readonly DiscoveryEndpoint[];
}

export interface PodView {
  readonly namespace: string;
  readonly name: string;
  /** status.podIPs (status.podIP first), canonical text. */
  readonly ips: readonly string[];
  readonly hostname?: string;
  readonly subdomain?: string;
  /** spec.enableServiceLinks; default true. */
  readonly enableServiceLinks: boolean;
  readonly creationTimestamp?: string;
  /** status.startTime, when the kubelet has started it. */
  readonly startTime?: string;
  readonly phase?: string;
}

export interface DiscoveryView {
  /** Sorted by namespace, then name. */
  readonly services: readonly DiscoveryService[];
  /** Sorted by namespace, then name. */
  readonly pods: readonly PodView[];
  /**
   * Namespaces that exist: Namespace objects, every namespace an object of the input is in, and
   * the four the API server always creates.
   */
  readonly namespaces: readonly string[];
}

/** Namespaces the API server creates itself (pkg/controlplane's system namespaces). */
export const SYSTEM_NAMESPACES = ['default', 'kube-node-lease', 'kube-public', 'kube-system'] as const;

const PROTOCOLS: readonly Protocol[] = ['TCP', 'UDP', 'SCTP'];

function protocolOf(v: unknown): Protocol {
  return PROTOCOLS.includes(v as Protocol) ? (v as Protocol) : 'TCP';
}

function slicePorts(obj: KubeObject | Record<string, unknown>, field: string): DiscoveryPort[] {
  return list((obj as Record<string, unknown>)[field] as never).map((x) => {
    const p = record(x);
    const port = typeof p['port'] === 'number' ? p['port'] : null;
    return { name: text(p['name']) ?? '', protocol: protocolOf(p['protocol']), port };
  });
}

function fromSlices(slices: readonly KubeObject[]): DiscoveryEndpoint[] {
  const out: DiscoveryEndpoint[] = [];
  for (const slice of slices) {
    if (slice['addressType'] === 'FQDN') continue;
    const ports = slicePorts(slice, 'ports');
    for (const e of list(slice['endpoints']).map((x) => record(x))) {
      const c = record(e['conditions']);
      const ready = c['ready'] !== false;
      const hostname = text(e['hostname']);
      const nodeName = text(e['nodeName']);
      const podName = record(e['targetRef'])['kind'] === 'Pod' ? text(record(e['targetRef'])['name']) : undefined;
      for (const a of list(e['addresses'])) {
        const ip = canonicalIP(a);
        if (!ip) continue;
        out.push({
          ip, ready, serving: typeof c['serving'] === 'boolean' ? c['serving'] : ready, terminating: c['terminating'] === true, ports,
          ...(hostname ? { hostname } : {}), ...(nodeName ? { nodeName } : {}), ...(podName ? { podName } : {}),
        });
      }
    }
  }
  return out;
}

function fromEndpoints(obj: KubeObject): DiscoveryEndpoint[] {
  const out: DiscoveryEndpoint[] = [];
  for (const s of list(obj['subsets']).map((x) => record(x))) {
    const ports = slicePorts(s, 'ports');
    for (const [key, ready] of [['addresses', true], ['notReadyAddresses', false]] as const) {
      for (const a of list(s[key]).map((x) => record(x))) {
        const ip = canonicalIP(a['ip']);
        if (!ip) continue;
        const hostname = text(a['hostname']);
        const nodeName = text(a['nodeName']);
        const podName = record(a['targetRef'])['kind'] === 'Pod' ? text(record(a['targetRef'])['name']) : undefined;
        out.push({
          ip, ready, serving: ready, terminating: false, ports,
          ...(hostname ? { hostname } : {}), ...(nodeName ? { nodeName } : {}), ...(podName ? { podName } : {}),
        });
      }
    }
  }
  return out;
}

function podReady(pod: KubeObject): boolean {
  return list(record(pod['status'])['conditions']).map((c) => record(c)).some((c) => c['type'] === 'Ready' && c['status'] === 'True');
}

/** The pod's container port for a named targetPort (same protocol), as the controller's FindPort. */
function findPort(pod: KubeObject, name: string, protocol: Protocol): number | undefined {
  for (const c of list(record(pod['spec'])['containers'])) {
    for (const p of list(record(c)['ports']).map((x) => record(x))) {
      if (p['name'] === name && (p['protocol'] ?? 'TCP') === protocol && typeof p['containerPort'] === 'number') return p['containerPort'];
    }
  }
  return undefined;
}

/**
 * The EndpointSlice controller's podToEndpoint for a Service with a selector and no slices: one
 * endpoint per pod IP, hostname from `spec.hostname` when `spec.subdomain` is the Service's name
 * (pkg/controller/endpointslice utils), ports resolved per pod.
 */
function fromPods(svc: ServiceSpec, pods: readonly KubeObject[]): DiscoveryEndpoint[] {
  const out: DiscoveryEndpoint[] = [];
  for (const pod of pods) {
    if (!Object.entries(svc.selector ?? {}).every(([k, v]) => stringMap(pod.metadata?.labels)[k] === v)) continue;
    const view = podView(pod);
    if (view.phase === 'Succeeded' || view.phase === 'Failed' || view.ips.length === 0) continue;
    const serving = podReady(pod);
    const terminating = typeof pod.metadata?.deletionTimestamp === 'string' && pod.metadata.deletionTimestamp !== '';
    const ready = svc.publishNotReadyAddresses || (serving && !terminating);
    const hostname = view.hostname && view.subdomain === svc.name ? view.hostname : undefined;
    const nodeName = text(record(pod['spec'])['nodeName']);
    const ports: DiscoveryPort[] = [];
    for (const sp of svc.ports) {
      const port = typeof sp.targetPort === 'number' ? sp.targetPort : findPort(pod, sp.targetPort, sp.protocol);
      if (port !== undefined) ports.push({ name: sp.name, protocol: sp.protocol, port });
    }
    for (const ip of view.ips) {
      out.push({ ip, ready, serving, terminating, ports, podName: view.name, ...(hostname ? { hostname } : {}), ...(nodeName ? { nodeName } : {}) });
    }
  }
  return out;
}

export function podView(pod: KubeObject): PodView {
  const spec = record(pod['spec']);
  const status = record(pod['status']);
  const ips = [...new Set([status['podIP'], ...list(status['podIPs']).map((x) => record(x)['ip'])].map(canonicalIP).filter((x): x is string => !!x))];
  const hostname = text(spec['hostname']);
  const subdomain = text(spec['subdomain']);
  const created = text(pod.metadata?.['creationTimestamp']);
  const started = text(status['startTime']);
  const phase = text(status['phase']);
  return {
    namespace: text(pod.metadata?.namespace) || 'default', name: text(pod.metadata?.name) ?? '', ips,
    enableServiceLinks: spec['enableServiceLinks'] !== false,
    ...(hostname ? { hostname } : {}), ...(subdomain ? { subdomain } : {}), ...(created ? { creationTimestamp: created } : {}),
    ...(started ? { startTime: started } : {}), ...(phase ? { phase } : {}),
  };
}

/** Endpoint addresses of `svc` from the source the ServiceModel uses for it (endpoints.ts). */
export function discoveryEndpoints(svc: ServiceSpec, inputs: EndpointInputs): DiscoveryEndpoint[] {
  if (svc.type === 'ExternalName') return [];
  const slices = inputs.slices.get(svc.key);
  if (slices && slices.length > 0) return fromSlices(slices);
  const eps = inputs.endpoints.get(svc.key);
  if (eps) return fromEndpoints(eps);
  if (svc.selector) return fromPods(svc, inputs.pods.get(svc.namespace) ?? []);
  return [];
}

export function discoveryService(svc: ServiceSpec, clusterIPs: readonly string[], inputs: EndpointInputs): DiscoveryService {
  return {
    namespace: svc.namespace, name: svc.name, type: svc.type,
    clusterIPs: svc.headless || svc.type === 'ExternalName' ? [] : clusterIPs, headless: svc.headless,
    externalName: svc.type === 'ExternalName' ? svc.externalName.replace(/\.$/, '') : '',
    ports: svc.ports.map((p) => ({ name: p.name, protocol: p.protocol, port: p.port })),
    publishNotReadyAddresses: svc.publishNotReadyAddresses,
    ...(svc.creationTimestamp ? { creationTimestamp: svc.creationTimestamp } : {}),
    endpoints: discoveryEndpoints(svc, inputs),
  };
}

/** Every namespace the input shows to exist (see DiscoveryView.namespaces). */
export function existingNamespaces(objects: readonly KubeObject[]): string[] {
  const out = new Set<string>(SYSTEM_NAMESPACES);
  for (const o of objects) {
    if (o.kind === 'Namespace') {
      const name = text(o.metadata?.name);
      if (name) out.add(name);
    } else if (o.kind !== 'Node') out.add(text(o.metadata?.namespace) || 'default');
  }
  return [...out].sort();
}
