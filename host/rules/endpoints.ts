/**
 * One Service port seen the way kube-proxy's iptables and nftables proxiers see it
 * (`syncProxyRules` after `CategorizeEndpoints`, pkg/proxy/topology.go): the endpoint lists for the
 * Cluster-policy (SVC) and Local-policy (SVL) chains and the derived booleans that decide which
 * chains and which REJECT/DROP rules exist. Addresses are filtered to one IP family. Pure.
 */
import type { ModelBackend, ModelServicePort } from '../engine/model.js';
import { familyOf, type IPFamily } from './options.js';

export interface PortView {
  readonly sp: ModelServicePort;
  readonly clusterIP: string | undefined;
  readonly externalIPs: readonly string[];
  readonly loadBalancerIPs: readonly string[];
  readonly sourceRanges: readonly string[];
  /** Endpoints of the Cluster-policy chain (KUBE-SVC / service-), engine order. */
  readonly clusterEndpoints: readonly ModelBackend[];
  /** Endpoints of the Local-policy chain (KUBE-SVL / local-), engine order. */
  readonly localEndpoints: readonly ModelBackend[];
  /** Every endpoint that gets an endpoint chain: the union of the two lists, engine order. */
  readonly reachableEndpoints: readonly ModelBackend[];
  readonly hasEndpoints: boolean;
  readonly internalLocal: boolean;
  readonly externalLocal: boolean;
  readonly hasInternalEndpoints: boolean;
  readonly hasExternalEndpoints: boolean;
  readonly externallyAccessible: boolean;
  readonly usesExternalChain: boolean;
  readonly usesFirewallChain: boolean;
}

/**
 * kube-proxy's clusterEndpoints when neither model flag describes them (both policies Local): ready
 * endpoints, else serving-and-terminating ones (KEP-1669), for models built without the clusterPolicy flag.
 */
function clusterFallback(backends: readonly ModelBackend[]): ModelBackend[] {
  const ready = backends.filter((b) => b.ready);
  return ready.length ? ready : backends.filter((b) => b.serving && b.terminating);
}

/** Builds the view of one port for `family`; undefined when the port has no ClusterIP of that family. */
export function portView(sp: ModelServicePort, family: IPFamily): PortView | undefined {
  const ofFamily = (ips: readonly string[]) => ips.filter((ip) => familyOf(ip) === family);
  const clusterIP = ofFamily(sp.clusterIPs)[0];
  if (clusterIP === undefined) return undefined;
  const backends = sp.backends.filter((b) => familyOf(b.ip) === family);
  const internalLocal = sp.internalTrafficPolicy === 'Local';
  const externalIPs = ofFamily(sp.externalIPs);
  const loadBalancerIPs = ofFamily(sp.loadBalancerIPs);
  const externallyAccessible = sp.nodePort !== 0 || externalIPs.length > 0 || loadBalancerIPs.length > 0;
  const externalLocal = sp.externalTrafficPolicy === 'Local' && externallyAccessible;
  const inCluster = backends.filter((b) => b.cluster);
  const inExternal = backends.filter((b) => b.external);
  // Both policies Local: the model marks kube-proxy's clusterEndpoints (topology applied) when it knows them.
  const bothLocal = backends.some((b) => b.clusterPolicy !== undefined) ? backends.filter((b) => b.clusterPolicy) : clusterFallback(backends);
  const clusterEndpoints = !internalLocal ? inCluster : !externalLocal && externallyAccessible ? inExternal : bothLocal;
  const localEndpoints = internalLocal ? inCluster : externalLocal ? inExternal : [];
  // kube-proxy's allReachableEndpoints: the cluster endpoints only when something uses them (Cluster
  // internal policy, or the Service is reachable from outside), the local ones only under a Local policy.
  const usesCluster = !internalLocal || externallyAccessible;
  const reachable = new Set([...(usesCluster ? clusterEndpoints : []), ...(internalLocal || externalLocal ? localEndpoints : [])]);
  const hasEndpoints = sp.hasEndpoints && backends.some((b) => b.ready || (b.serving && b.terminating));
  const sourceRanges = sp.loadBalancerSourceRanges.map((c) => c.trim()).filter((c) => familyOf(c.split('/')[0]!) === family);
  return {
    sp,
    clusterIP,
    externalIPs,
    loadBalancerIPs,
    sourceRanges,
    clusterEndpoints,
    localEndpoints,
    reachableEndpoints: backends.filter((b) => reachable.has(b)),
    hasEndpoints,
    internalLocal,
    externalLocal,
    hasInternalEndpoints: hasEndpoints && (internalLocal ? localEndpoints.length > 0 : true),
    hasExternalEndpoints: hasEndpoints && (externalLocal ? localEndpoints.length > 0 : true),
    externallyAccessible,
    usesExternalChain: hasEndpoints && externallyAccessible,
    usesFirewallChain: hasEndpoints && loadBalancerIPs.length > 0 && sourceRanges.length > 0,
  };
}

/**
 * Weighted dispatch: the share of each endpoint. Kubernetes has no weights, so every weight is 1
 * and this is kube-proxy's uniform split; weight 0 (quiesced) endpoints get no new connections.
 */
export function dispatchable(endpoints: readonly ModelBackend[]): ModelBackend[] {
  return endpoints.filter((b) => b.weight > 0);
}
