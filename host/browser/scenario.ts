/**
 * Manifest text → the model the page shows. Shared by the page and its Node tests so both build
 * the same ServiceModel from the same text (and the same node choice).
 */
import type { ServiceModel } from '../engine/model.js';
import { buildServiceModel } from '../model/build.js';
import { parseManifestDocuments } from '../model/manifest-text.js';
import { type Finding, diagnose } from '../diagnose/index.js';
import type { Diagnostic, KubeObject, ModelOptions, ServiceView } from '../model/types.js';

/** The name the editor's text goes by in diagnostics. */
export const EDITOR_FILE = 'manifests.yaml';

export interface Analysis {
  readonly model: ServiceModel;
  readonly services: readonly ServiceView[];
  /** Parse errors first, then the model's validation, in input order. */
  readonly diagnostics: readonly Diagnostic[];
  /** What `vipwasm diagnose` finds in the same manifests for the same node. */
  readonly findings: readonly Finding[];
  /** Node names the manifests mention (Node objects, then Pods' and EndpointSlices' nodeName). */
  readonly nodes: readonly string[];
  /** The node the model was built for ('' = none). */
  readonly node: string;
}

/** Asks for no node at all (every endpoint remote), as opposed to '' = the first node mentioned. */
export const NO_NODE = '-';

function nodeNames(objects: readonly KubeObject[]): string[] {
  const fromNodes: string[] = [];
  const fromEndpoints: string[] = [];
  for (const o of objects) {
    if (o.kind === 'Node' && typeof o.metadata?.name === 'string') fromNodes.push(o.metadata.name);
    const spec = o['spec'] as { nodeName?: unknown } | undefined;
    if (o.kind === 'Pod' && typeof spec?.nodeName === 'string') fromEndpoints.push(spec.nodeName);
    if (o.kind === 'EndpointSlice' && Array.isArray(o['endpoints'])) {
      for (const e of o['endpoints'] as { nodeName?: unknown }[]) if (typeof e?.nodeName === 'string') fromEndpoints.push(e.nodeName);
    }
  }
  return [...new Set([...fromNodes, ...fromEndpoints])];
}

/** The node IP the page uses when the chosen node has no Node object (TEST-NET-1, RFC 5737). */
export const FALLBACK_NODE_IP = '192.0.2.10';
/** Service CIDRs: kube-proxy's default IPv4 range plus an IPv6 one, so dual-stack manifests work. */
export const PLAYGROUND_SERVICE_CIDRS = ['10.96.0.0/12', 'fd00:10:96::/108'];
/** The load-balancer pool the page assigns from: the one examples/loadbalancer.yaml documents. */
export const PLAYGROUND_LB_POOL = ['127.240.0.0/28'];

/**
 * The options the page models with: the chosen node, its IPs from its Node object (or
 * FALLBACK_NODE_IP, so NodePorts stay reachable in the simulator), dual-stack Service CIDRs and
 * the load-balancer pool.
 */
export function playgroundModelOptions(nodeName: string, objects: readonly KubeObject[]): ModelOptions {
  const hasNodeObject = objects.some((o) => o.kind === 'Node' && o.metadata?.name === nodeName && nodeName !== '');
  return {
    ...(nodeName ? { nodeName } : {}),
    ...(hasNodeObject ? {} : { nodeIPs: [FALLBACK_NODE_IP] }),
    serviceClusterIPRanges: PLAYGROUND_SERVICE_CIDRS,
    loadBalancerIPPool: PLAYGROUND_LB_POOL,
  };
}

/** `nodeName`: a node the manifests mention, NO_NODE, or '' for the first one mentioned. */
export function analyzeManifests(text: string, nodeName: string): Analysis {
  // The editor keeps every document that parses, so one broken document does not blank the page.
  const parsed = parseManifestDocuments(EDITOR_FILE, text);
  const nodes = nodeNames(parsed.objects);
  const node = nodeName === NO_NODE ? '' : nodes.includes(nodeName) ? nodeName : (nodes[0] ?? '');
  const result = buildServiceModel(parsed.objects, playgroundModelOptions(node, parsed.objects));
  const diagnostics = [...parsed.errors, ...result.diagnostics];
  return {
    model: result.model,
    services: result.services,
    diagnostics,
    findings: diagnose(parsed.objects, { ...result, diagnostics }, { nodeName: node }),
    nodes,
    node,
  };
}
