/**
 * kube-proxy's CategorizeEndpoints (pkg/proxy/topology.go, v1.33+) for one Service port: which
 * endpoints serve cluster-internal traffic and which serve external traffic, with the ready →
 * serving-and-terminating fallback (KEP-1669), Local traffic policies, and topology hints
 * (PreferSameNode before PreferSameZone, as with the PreferSameTrafficDistribution gate on).
 */
import type { EndpointRecord } from './endpoints.js';

export interface PortPolicy {
  readonly internalTrafficPolicy: 'Cluster' | 'Local';
  readonly externalTrafficPolicy: 'Cluster' | 'Local';
  /** nodePort ≠ 0, or any load-balancer IP, or any externalIP. */
  readonly externallyAccessible: boolean;
}

export interface NodeIdentity {
  readonly nodeName: string;
  readonly zone: string;
}

export interface Categorized {
  readonly cluster: ReadonlySet<EndpointRecord>;
  /** kube-proxy's clusterEndpoints (the Cluster-policy chain's, topology applied); empty when nothing uses them. */
  readonly clusterPolicy: ReadonlySet<EndpointRecord>;
  readonly external: ReadonlySet<EndpointRecord>;
  readonly hasEndpoints: boolean;
}

function isLocal(ep: EndpointRecord, node: NodeIdentity): boolean {
  return node.nodeName !== '' && ep.nodeName === node.nodeName;
}

type TopologyMode = '' | 'PreferSameNode' | 'PreferSameZone';

function topologyModeFromHints(endpoints: readonly EndpointRecord[], node: NodeIdentity): TopologyMode {
  let hasForNode = false;
  let allNodeHints = true;
  let hasForZone = false;
  let allZoneHints = true;
  for (const ep of endpoints) {
    if (!ep.ready) continue;
    if (!ep.nodeHints?.length) allNodeHints = false;
    else if (ep.nodeHints.includes(node.nodeName)) hasForNode = true;
    if (!ep.zoneHints?.length) allZoneHints = false;
    else if (ep.zoneHints.includes(node.zone)) hasForZone = true;
  }
  if (allNodeHints && hasForNode) return 'PreferSameNode';
  if (allZoneHints && hasForZone) return 'PreferSameZone';
  return '';
}

function availableForTopology(ep: EndpointRecord, mode: TopologyMode, node: NodeIdentity): boolean {
  if (mode === 'PreferSameNode') return ep.nodeHints?.includes(node.nodeName) ?? false;
  if (mode === 'PreferSameZone') return ep.zoneHints?.includes(node.zone) ?? false;
  return true;
}

export function categorizeEndpoints(endpoints: readonly EndpointRecord[], policy: PortPolicy, node: NodeIdentity): Categorized {
  const internalLocal = policy.internalTrafficPolicy === 'Local';
  const externalLocal = policy.externalTrafficPolicy === 'Local' && policy.externallyAccessible;
  const usesCluster = !internalLocal || policy.externallyAccessible;
  const usesLocal = internalLocal || externalLocal;

  let clusterEndpoints: EndpointRecord[] = [];
  let hasEndpoints = false;
  if (usesCluster) {
    const mode = topologyModeFromHints(endpoints, node);
    clusterEndpoints = endpoints.filter((ep) => ep.ready && availableForTopology(ep, mode, node));
    if (clusterEndpoints.length === 0) clusterEndpoints = endpoints.filter((ep) => ep.serving && ep.terminating);
    if (clusterEndpoints.length > 0) hasEndpoints = true;
  }

  let localEndpoints: EndpointRecord[] = [];
  if (usesLocal) {
    let localReady = false;
    let localServingTerminating = false;
    for (const ep of endpoints) {
      if (ep.ready) {
        hasEndpoints = true;
        if (isLocal(ep, node)) localReady = true;
      } else if (ep.serving && ep.terminating) {
        hasEndpoints = true;
        if (isLocal(ep, node)) localServingTerminating = true;
      }
    }
    if (localReady) localEndpoints = endpoints.filter((ep) => isLocal(ep, node) && ep.ready);
    else if (localServingTerminating) localEndpoints = endpoints.filter((ep) => isLocal(ep, node) && ep.serving && ep.terminating);
  }

  const clusterSet = new Set(clusterEndpoints);
  const localSet = new Set(localEndpoints);
  return {
    cluster: internalLocal ? localSet : clusterSet,
    clusterPolicy: clusterSet,
    external: !policy.externallyAccessible ? new Set() : externalLocal ? localSet : clusterSet,
    hasEndpoints,
  };
}
