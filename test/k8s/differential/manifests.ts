/**
 * A generated scenario as Kubernetes objects: its Namespace, Service and EndpointSlices (or Pods,
 * with the status kubelet would report), plus the LoadBalancer status the suite patches through the
 * status subresource, and the Nodes every scenario shares.
 */
import {
  address, type Family, NODE_IPS, OTHER_NODE, OTHER_ZONE, type Scenario, THIS_NODE, THIS_ZONE,
} from './scenarios.js';

type KubeObject = Record<string, unknown>;
const ZONE = 'topology.kubernetes.io/zone';

/** This node (both node IPs, zone-a) and another one (zone-b). */
export function nodes(): KubeObject[] {
  return [
    {
      apiVersion: 'v1', kind: 'Node', metadata: { name: THIS_NODE, labels: { [ZONE]: THIS_ZONE } },
      status: { addresses: NODE_IPS.map((address) => ({ type: 'InternalIP', address })) },
    },
    { apiVersion: 'v1', kind: 'Node', metadata: { name: OTHER_NODE, labels: { [ZONE]: OTHER_ZONE } }, status: { addresses: [{ type: 'InternalIP', address: '198.18.0.21' }] } },
  ];
}

export function namespaceOf(s: Scenario): KubeObject {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name: s.namespace } };
}

function serviceSpec(s: Scenario): Record<string, unknown> {
  if (s.type === 'ExternalName') return { type: 'ExternalName', externalName: `svc.${s.namespace}.example.test`, ports: s.ports.map(({ name, protocol, port }) => ({ name, protocol, port })) };
  const external = s.type === 'NodePort' || s.type === 'LoadBalancer';
  return {
    type: s.type === 'Headless' ? 'ClusterIP' : s.type,
    ...(s.type === 'Headless' ? { clusterIP: 'None' } : {}),
    ipFamilyPolicy: s.policy,
    ipFamilies: s.families,
    ...(s.backing === 'pods' ? { selector: { app: 'svc' } } : {}),
    ports: s.ports.map(({ name, protocol, port, targetPort }) => ({ name, protocol, port, targetPort })),
    ...(s.affinityTimeout !== undefined ? { sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: s.affinityTimeout } } } : {}),
    ...(external ? { externalTrafficPolicy: s.externalLocal ? 'Local' : 'Cluster' } : {}),
    internalTrafficPolicy: s.internalLocal ? 'Local' : 'Cluster',
    ...(s.sourceRanges.length ? { loadBalancerSourceRanges: s.sourceRanges } : {}),
    ...(s.externalIPs.length ? { externalIPs: s.externalIPs } : {}),
    ...(s.type === 'LoadBalancer' ? { allocateLoadBalancerNodePorts: s.allocateNodePorts } : {}),
    ...(s.trafficDistribution ? { trafficDistribution: s.trafficDistribution } : {}),
  };
}

export function serviceOf(s: Scenario): KubeObject {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name: 'svc', namespace: s.namespace }, spec: serviceSpec(s) };
}

/** One EndpointSlice per family (selector-less scenarios only). */
export function slicesOf(s: Scenario): KubeObject[] {
  if (s.backing !== 'slices' || s.type === 'ExternalName') return [];
  return s.families.map((family) => ({
    apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
    metadata: { name: `svc-${family.toLowerCase()}`, namespace: s.namespace, labels: { 'kubernetes.io/service-name': 'svc', 'endpointslice.kubernetes.io/managed-by': 'differential.vipwasm.io' } },
    addressType: family,
    ports: s.ports.map((p) => ({ name: p.name, protocol: p.protocol, port: p.endpointPort })),
    endpoints: s.endpoints.map((e, j) => ({
      addresses: [address(family, 'endpoint', s.index, j)],
      conditions: e.conditions,
      nodeName: e.local ? THIS_NODE : OTHER_NODE,
      zone: e.local ? THIS_ZONE : OTHER_ZONE,
      ...(e.zoneHint || e.nodeHint
        ? { hints: { ...(e.zoneHint ? { forZones: [{ name: e.zoneHint }] } : {}), ...(e.nodeHint ? { forNodes: [{ name: e.local ? THIS_NODE : OTHER_NODE }] } : {}) } }
        : {}),
    })),
  }));
}

/** Pods of a pod-backed scenario: container ports named c0, c1, … (the named targetPorts). */
export function podsOf(s: Scenario): KubeObject[] {
  if (s.backing !== 'pods') return [];
  return s.endpoints.map((e, j) => ({
    apiVersion: 'v1', kind: 'Pod',
    metadata: { name: `pod-${j}`, namespace: s.namespace, labels: { app: 'svc' } },
    spec: {
      nodeName: e.local ? THIS_NODE : OTHER_NODE,
      containers: [{ name: 'c', image: 'registry.k8s.io/pause:3.10', ports: s.ports.map((p, i) => ({ name: `c${i}`, containerPort: p.endpointPort, protocol: p.protocol })) }],
    },
  }));
}

/** The status kubelet would report for pod `j`: its IPs (one per family) and readiness. */
export function podStatus(s: Scenario, j: number): { ips: string[]; ready: boolean } {
  return { ips: s.families.map((f: Family) => address(f, 'endpoint', s.index, j)), ready: s.endpoints[j]!.conditions.ready };
}

/** `status.loadBalancer` of a LoadBalancer scenario (patched through the status subresource). */
export function loadBalancerStatus(s: Scenario): { loadBalancer: { ingress: { ip: string; ipMode?: string }[] } } | undefined {
  if (s.type !== 'LoadBalancer') return undefined;
  return { loadBalancer: { ingress: s.ingress.map((i) => ({ ip: i.ip, ...(i.ipMode ? { ipMode: i.ipMode } : {}) })) } };
}
