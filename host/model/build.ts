/**
 * buildServiceModel: Kubernetes objects → the normalized ServiceModel for one node, plus what
 * `get` prints and every problem found. Pure and browser-safe; allocation state goes through the
 * AllocationStore in the options.
 */
import ipaddr from 'ipaddr.js';
import {
  type ModelBackend, type ModelServicePort, type ServiceModel, compareBackends, servicePortKey,
} from '../engine/model.js';
import { compareAddresses } from '../engine/address.js';
import { type AllocationStore, MemoryAllocationStore } from './allocation-store.js';
import { type Allocation, allocate } from './allocator.js';
import { categorizeEndpoints } from './categorize.js';
import {
  type EndpointInputs, type EndpointRecord, SERVICE_NAME_LABEL, ZONE_LABEL, serviceEndpoints, validateEndpointSlice,
  validateEndpoints, validatePod,
} from './endpoints.js';
import { type DiscoveryService, discoveryService, existingNamespaces, podView } from './discovery.js';
import { FieldErrors, isIP, list, objectRef, originOf, record, stringMap, text } from './fields.js';
import { type IPRange, parsePoolEntry, parsePortRange, parseServiceCIDR } from './ip-range.js';
import { type ServiceCIDRSpec, readServiceCIDR, serviceIPSpace } from './service-cidr.js';
import { type ServiceContext, type ServiceSpec, parseService } from './service.js';
import type { Diagnostic, KubeObject, ModelOptions, ModelResult, ServiceView } from './types.js';

/** Kinds the model reads; anything else is reported once as ignored. */
const KNOWN_KINDS = new Set(['Service', 'EndpointSlice', 'Endpoints', 'Pod', 'Node', 'Namespace', 'ServiceCIDR']);
/** Kinds without a namespace. */
const CLUSTER_SCOPED = new Set(['Node', 'Namespace', 'ServiceCIDR']);

interface ResolvedOptions {
  readonly nodeName: string;
  readonly nodeIPs: readonly string[];
  readonly localAddresses: readonly string[];
  readonly serviceRanges: readonly IPRange[];
  readonly nodePortRange: readonly [number, number];
  readonly pool: readonly IPRange[];
  readonly ctx: ServiceContext;
  readonly store: AllocationStore;
  readonly trustAllocations: boolean;
}

/** Checks the options once; throws an Error naming the bad option (the CLI turns it into exit 2). */
export function resolveModelOptions(options: ModelOptions): ResolvedOptions {
  const serviceRanges = (options.serviceClusterIPRanges?.length ? options.serviceClusterIPRanges : ['10.96.0.0/12']).map((c) => {
    try {
      return parseServiceCIDR(c);
    } catch (e) {
      throw new Error(`--service-cluster-ip-range: ${(e as Error).message}`);
    }
  });
  if (serviceRanges.length > 2 || (serviceRanges.length === 2 && serviceRanges[0]!.family === serviceRanges[1]!.family))
    throw new Error('--service-cluster-ip-range: at most one CIDR per IP family');
  let nodePortRange: [number, number];
  try {
    nodePortRange = parsePortRange(options.nodePortRange ?? '30000-32767');
  } catch (e) {
    throw new Error(`--service-node-port-range: ${(e as Error).message}`);
  }
  const pool = (options.loadBalancerIPPool ?? []).map((p) => {
    try {
      return parsePoolEntry(p);
    } catch (e) {
      throw new Error(`--loadbalancer-ip-pool: ${(e as Error).message}`);
    }
  });
  const nodeIPs = (options.nodeIPs ?? []).map((ip) => {
    if (!isIP(ip)) throw new Error(`--node-ip: invalid IP address "${ip}"`);
    return ipaddr.parse(ip).toString();
  });
  const localAddresses = (options.localAddresses ?? []).filter(isIP).map((ip) => ipaddr.parse(ip).toString());
  return {
    nodeName: options.nodeName ?? '', nodeIPs, localAddresses, serviceRanges, nodePortRange, pool,
    ctx: {
      families: serviceRanges.map((r) => r.family), nodePortRange, defaultScheduler: options.defaultScheduler ?? 'rr',
      ...(options.forceScheduler ? { forceScheduler: options.forceScheduler } : {}),
      ...(options.trustAllocations ? { trustAllocations: true } : {}),
    },
    store: options.allocationStore ?? new MemoryAllocationStore(),
    trustAllocations: options.trustAllocations === true,
  };
}

function keyOf(obj: KubeObject): string {
  const ns = text(obj.metadata?.namespace) || 'default';
  return `${ns}/${text(obj.metadata?.name) ?? ''}`;
}

/** Flatten `kind: List` (and *List) objects into their items. */
export function flatten(objects: readonly KubeObject[]): KubeObject[] {
  const out: KubeObject[] = [];
  for (const o of objects) {
    if (typeof o.kind === 'string' && o.kind.endsWith('List') && Array.isArray(o['items'])) {
      for (const item of o['items'] as KubeObject[]) if (item && typeof item === 'object') out.push(item);
    } else out.push(o);
  }
  return out;
}

/**
 * Validation verdicts by object. Sources hand over the same object for as long as it is unchanged
 * (the API source keeps one plain object per informer object version), so a rebuild after one
 * change validates that object only, as kube-proxy's change trackers look at changed objects only.
 * The verdict depends on the object alone (its diagnostics name it and its origin).
 */
const validated = new WeakMap<KubeObject, { ok: boolean; list: readonly Diagnostic[] }>();

function validateOnce(obj: KubeObject, errs: FieldErrors, validate: (obj: KubeObject, errs: FieldErrors) => boolean): boolean {
  let verdict = validated.get(obj);
  if (verdict === undefined) {
    const own = new FieldErrors(objectRef(obj, true), originOf(obj));
    verdict = { ok: validate(obj, own), list: own.list };
    validated.set(obj, verdict);
  }
  errs.list.push(...verdict.list);
  return verdict.ok;
}

export function buildServiceModel(objects: readonly KubeObject[], options: ModelOptions = {}): ModelResult {
  const opt = resolveModelOptions(options);
  const diagnostics: Diagnostic[] = [];
  const services: ServiceSpec[] = [];
  const inputs: EndpointInputs = { slices: new Map(), endpoints: new Map(), pods: new Map(), nodeZones: new Map() };
  const nodes = new Map<string, KubeObject>();
  const serviceCIDRs: ServiceCIDRSpec[] = [];
  const seen = new Set<string>();
  const ignoredKinds = new Set<string>();

  const flat = flatten(objects);
  flat.forEach((obj, order) => {
    const kind = typeof obj?.kind === 'string' ? obj.kind : '';
    const namespaced = !CLUSTER_SCOPED.has(kind);
    const errs = new FieldErrors(objectRef(obj, namespaced), originOf(obj));
    if (!kind) {
      errs.required('kind');
      return void diagnostics.push(...errs.list);
    }
    if (!KNOWN_KINDS.has(kind)) {
      if (!ignoredKinds.has(kind)) errs.warn('kind', `kind "${kind}" is not used by vipwasm; objects of this kind are ignored`);
      diagnostics.push(...errs.list);
      ignoredKinds.add(kind);
      return;
    }
    const name = text(obj.metadata?.name);
    if (!name) {
      errs.required('metadata.name', 'name or generateName is required');
      return void diagnostics.push(...errs.list);
    }
    const id = `${kind}/${namespaced ? keyOf(obj) : name}`;
    if (seen.has(id)) {
      errs.duplicate('metadata.name', name);
      return void diagnostics.push(...errs.list);
    }
    seen.add(id);
    let ok = true;
    if (kind === 'Service') {
      const spec = parseService(obj, order, opt.ctx, errs);
      if (spec) services.push(spec);
    } else if (kind === 'EndpointSlice') {
      ok = validateOnce(obj, errs, validateEndpointSlice);
      const svc = stringMap(obj.metadata?.labels)[SERVICE_NAME_LABEL];
      if (ok && svc) {
        const k = `${text(obj.metadata?.namespace) || 'default'}/${svc}`;
        const list = inputs.slices.get(k);
        if (list) list.push(obj);
        else inputs.slices.set(k, [obj]);
      }
    } else if (kind === 'Endpoints') {
      if (validateOnce(obj, errs, validateEndpoints)) inputs.endpoints.set(keyOf(obj), obj);
    } else if (kind === 'Pod') {
      if (validateOnce(obj, errs, validatePod)) {
        const ns = text(obj.metadata?.namespace) || 'default';
        const list = inputs.pods.get(ns);
        if (list) list.push(obj);
        else inputs.pods.set(ns, [obj]);
      }
    } else if (kind === 'Node') {
      nodes.set(name, obj);
      const zone = stringMap(obj.metadata?.labels)[ZONE_LABEL];
      if (zone) inputs.nodeZones.set(name, zone);
    } else if (kind === 'ServiceCIDR') {
      const sc = readServiceCIDR(obj, errs);
      if (sc) serviceCIDRs.push(sc);
    }
    void ok;
    diagnostics.push(...errs.list);
  });

  const previous = opt.store.load();
  // From an API server its ServiceCIDR objects are the whole space (the apiserver made "kubernetes"
  // from its own --service-cluster-ip-range); the local flag stands in only where there are none.
  const ipSpace = serviceIPSpace(opt.trustAllocations && serviceCIDRs.length ? [] : opt.serviceRanges, serviceCIDRs);
  const alloc = allocate(services, { serviceRanges: ipSpace.allocatable, validRanges: ipSpace.valid, nodePortRange: opt.nodePortRange, pool: opt.pool, trustAllocations: opt.trustAllocations }, previous);
  diagnostics.push(...alloc.diagnostics);
  if (JSON.stringify(alloc.state) !== JSON.stringify(previous)) opt.store.save(alloc.state);

  const thisNode = nodes.get(opt.nodeName);
  if (opt.nodeName && nodes.size > 0 && !thisNode) {
    diagnostics.push({
      severity: 'warning', object: `Node "${opt.nodeName}"`, field: '',
      message: `not among the ${nodes.size} Node object(s) in the input: no endpoint is local${opt.nodeIPs.length || opt.localAddresses.length ? '' : ', and without --node-ip no NodePort is served'}`,
    });
  }
  const fromNode = nodeAddresses(thisNode);
  const nodeIPs = opt.nodeIPs.length ? opt.nodeIPs : fromNode.length ? fromNode : opt.localAddresses;
  const node = { nodeName: opt.nodeName, zone: stringMap(thisNode?.metadata?.labels)[ZONE_LABEL] ?? '' };

  const servicePorts: ModelServicePort[] = [];
  const views: ServiceView[] = [];
  const discovered: DiscoveryService[] = [];
  for (const svc of [...services].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))) {
    const a = alloc.allocations.get(svc.key);
    if (!a) continue; // rejected by allocation
    const endpoints = serviceEndpoints(svc, inputs, diagnostics);
    views.push(serviceView(svc, a, endpoints));
    discovered.push(discoveryService(svc, a.clusterIPs, inputs));
    if (svc.type === 'ExternalName' || svc.headless) continue; // kube-proxy ShouldSkipService
    svc.ports.forEach((p, i) => servicePorts.push(modelPort(svc, a, i, endpoints.filter((e) => e.portName === p.name && e.protocol === p.protocol), node)));
  }
  servicePorts.sort((x, y) => {
    const a = servicePortKey(x);
    const b = servicePortKey(y);
    return a < b ? -1 : a > b ? 1 : x.protocol < y.protocol ? -1 : x.protocol > y.protocol ? 1 : 0;
  });
  const model: ServiceModel = { nodeIPs, servicePorts, serviceCIDRs: ipSpace.cidrs };
  const pods = [...inputs.pods.values()].flat().map(podView).sort((x, y) => (x.namespace + '/' + x.name < y.namespace + '/' + y.name ? -1 : 1));
  return { model, services: views, diagnostics, discovery: { services: discovered, pods, namespaces: existingNamespaces(flat) } };
}

function nodeAddresses(node: KubeObject | undefined): string[] {
  if (!node) return [];
  const addrs = list(record(node['status'])['addresses']).map((a) => record(a));
  const ips = ['InternalIP', 'ExternalIP'].flatMap((t) => addrs.filter((a) => a['type'] === t).map((a) => text(a['address']) ?? ''));
  return [...new Set(ips.filter((ip) => isIP(ip)).map((ip) => ipaddr.parse(ip).toString()))];
}

function loadBalancerIPs(svc: ServiceSpec, a: Allocation): string[] {
  if (svc.type !== 'LoadBalancer') return [];
  // Only VIP-mode ingress IPs are proxied (KEP-1860: ipMode Proxy means the LB does it).
  const given = svc.ingress.filter((i) => i.ip && (i.ipMode === undefined || i.ipMode === 'VIP')).map((i) => i.ip!);
  return [...new Set([...given, ...a.loadBalancerIPs])];
}

function modelPort(svc: ServiceSpec, a: Allocation, i: number, endpoints: EndpointRecord[], node: { nodeName: string; zone: string }): ModelServicePort {
  const p = svc.ports[i]!;
  const lbIPs = loadBalancerIPs(svc, a);
  const nodePort = a.nodePorts[i] ?? 0;
  // kube-proxy runs one proxier per IP family, each seeing only its family's endpoints and
  // addresses, so the ready → serving-terminating fallback, topology hints and Local policies are
  // judged per family (a dual-stack port's IPv6 traffic never falls back because of IPv4 endpoints).
  const cluster = new Set<EndpointRecord>();
  const external = new Set<EndpointRecord>();
  const clusterPolicy = new Set<EndpointRecord>();
  let bothLocal = false;
  let hasEndpoints = false;
  for (const v6 of [false, true]) {
    const ofFamily = (ip: string): boolean => ip.includes(':') === v6;
    const familyEndpoints = endpoints.filter((e) => ofFamily(e.ip));
    if (familyEndpoints.length === 0) continue;
    const externallyAccessible = nodePort !== 0 || lbIPs.some(ofFamily) || svc.externalIPs.some(ofFamily);
    const cat = categorizeEndpoints(familyEndpoints, { internalTrafficPolicy: svc.internalTrafficPolicy, externalTrafficPolicy: svc.externalTrafficPolicy, externallyAccessible }, node);
    cat.cluster.forEach((e) => cluster.add(e));
    cat.external.forEach((e) => external.add(e));
    cat.clusterPolicy.forEach((e) => clusterPolicy.add(e));
    bothLocal ||= svc.internalTrafficPolicy === 'Local' && svc.externalTrafficPolicy === 'Local' && externallyAccessible;
    hasEndpoints ||= cat.hasEndpoints;
  }
  const backends: ModelBackend[] = endpoints.map((e) => ({
    ip: e.ip, port: e.port, weight: e.weight, ready: e.ready, serving: e.serving, terminating: e.terminating,
    local: node.nodeName !== '' && e.nodeName === node.nodeName,
    ...(e.nodeName ? { nodeName: e.nodeName } : {}), ...(e.zone ? { zone: e.zone } : {}),
    cluster: cluster.has(e), external: external.has(e),
    ...(bothLocal ? { clusterPolicy: clusterPolicy.has(e) } : {}),
  }));
  backends.sort(compareBackends);
  return {
    namespace: svc.namespace, name: svc.name, portName: p.name, type: svc.type as ModelServicePort['type'], protocol: p.protocol, port: p.port,
    clusterIPs: a.clusterIPs, nodePort, externalIPs: svc.externalIPs, loadBalancerIPs: lbIPs,
    loadBalancerSourceRanges: svc.type === 'LoadBalancer' ? svc.loadBalancerSourceRanges : [],
    scheduler: svc.scheduler, schedulerFlags: svc.schedulerFlags, sessionAffinity: svc.sessionAffinity,
    affinityTimeoutSeconds: svc.affinityTimeoutSeconds, externalTrafficPolicy: svc.externalTrafficPolicy,
    internalTrafficPolicy: svc.internalTrafficPolicy, healthCheckNodePort: a.healthCheckNodePort,
    hasEndpoints, backends,
  };
}

function serviceView(svc: ServiceSpec, a: Allocation, endpoints: EndpointRecord[]): ServiceView {
  const ingress = [...svc.ingress.map((i) => i.ip ?? i.hostname ?? '').filter(Boolean), ...a.loadBalancerIPs];
  const sorted = [...endpoints].sort((x, y) => compareAddresses(x.ip, y.ip) || x.port - y.port || (x.portName < y.portName ? -1 : x.portName > y.portName ? 1 : 0));
  return {
    namespace: svc.namespace, name: svc.name, type: svc.type,
    clusterIPs: svc.headless ? ['None'] : a.clusterIPs, externalIPs: svc.externalIPs, loadBalancerIngress: ingress,
    externalName: svc.externalName,
    ports: svc.ports.map((p, i) => ({ name: p.name, protocol: p.protocol, port: p.port, targetPort: p.targetPort, nodePort: a.nodePorts[i] ?? 0, ...(p.appProtocol ? { appProtocol: p.appProtocol } : {}) })),
    selector: svc.selector,
    endpoints: sorted.map((e) => ({
      ip: e.ip, port: e.port, portName: e.portName, protocol: e.protocol, ready: e.ready, serving: e.serving, terminating: e.terminating,
      ...(e.nodeName ? { nodeName: e.nodeName } : {}),
    })),
  };
}
