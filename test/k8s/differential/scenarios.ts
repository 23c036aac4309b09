/**
 * Seeded scenario generator for the kube-proxy differential suites: one scenario is one Kubernetes
 * namespace holding one Service (every type, one to three ports, dual-stack or not, affinity, traffic
 * policies, source ranges, externalIPs, LoadBalancer ingress, trafficDistribution) and its endpoints
 * (EndpointSlices written directly, with ready/serving/terminating conditions, zone and node hints,
 * on this node or another; or Pods whose status is patched, so the real EndpointSlice controller
 * resolves named targetPorts). Addresses come from the scenario's index, so scenarios never collide.
 */
import fc from 'fast-check';

export const NAMESPACE_PREFIX = 'dt-';
export const THIS_NODE = 'dt-node';
export const OTHER_NODE = 'dt-other';
export const THIS_ZONE = 'zone-a';
export const OTHER_ZONE = 'zone-b';
export const NODE_IPS = ['198.18.0.20', 'fd00:18::20'] as const;

export type Family = 'IPv4' | 'IPv6';
type Conditions = { ready: boolean; serving: boolean; terminating: boolean };

export interface ScenarioEndpoint {
  readonly local: boolean;
  readonly conditions: Conditions;
  readonly zoneHint?: string;
  readonly nodeHint?: boolean;
}

export interface ScenarioPort {
  readonly name: string;
  readonly protocol: 'TCP' | 'UDP' | 'SCTP';
  readonly port: number;
  /** Numeric, or the container port's name (pod-backed scenarios). */
  readonly targetPort: number | string;
  readonly endpointPort: number;
}

export interface Scenario {
  readonly index: number;
  readonly namespace: string;
  readonly type: 'ClusterIP' | 'NodePort' | 'LoadBalancer' | 'ExternalName' | 'Headless';
  readonly families: readonly Family[];
  readonly policy: 'SingleStack' | 'PreferDualStack' | 'RequireDualStack';
  readonly ports: readonly ScenarioPort[];
  readonly affinityTimeout?: number;
  readonly externalLocal: boolean;
  readonly internalLocal: boolean;
  readonly sourceRanges: readonly string[];
  readonly externalIPs: readonly string[];
  readonly ingress: readonly { ip: string; ipMode?: 'VIP' | 'Proxy' }[];
  readonly allocateNodePorts: boolean;
  readonly trafficDistribution?: 'PreferClose' | 'PreferSameZone' | 'PreferSameNode';
  readonly backing: 'slices' | 'pods';
  readonly endpoints: readonly ScenarioEndpoint[];
}

const CONDITIONS: readonly Conditions[] = [
  { ready: true, serving: true, terminating: false },
  { ready: true, serving: true, terminating: false },
  { ready: false, serving: false, terminating: false },
  { ready: false, serving: true, terminating: true },
  { ready: false, serving: false, terminating: true },
];

/** The part of a scenario an update may change (type, IP families and backing stay: the API forbids changing most of them). */
function mutableParts(type: Scenario['type'], families: readonly Family[], backing: Scenario['backing']) {
  const external = type === 'NodePort' || type === 'LoadBalancer';
  const lb = type === 'LoadBalancer';
  const pick = <T>(...values: T[]) => fc.constantFrom(...values);
  return fc.record({
    portCount: fc.integer({ min: 1, max: 3 }),
    protocols: fc.array(pick<ScenarioPort['protocol']>('TCP', 'TCP', 'UDP', 'SCTP'), { minLength: 3, maxLength: 3 }),
    namedTarget: fc.boolean(),
    affinityTimeout: fc.option(pick(10800, 300, 60), { nil: undefined }),
    externalLocal: external ? fc.boolean() : fc.constant(false),
    internalLocal: fc.integer({ min: 0, max: 4 }).map((n) => n === 0),
    sourceRangeKinds: lb ? fc.subarray(['node', 'other', 'v6']) : fc.constant([] as string[]),
    externalIPCount: fc.integer({ min: 0, max: 3 }).map((n) => (n === 3 ? 2 : n === 2 ? 1 : 0)),
    ingressCount: lb ? fc.integer({ min: 0, max: 2 }) : fc.constant(0),
    proxyMode: fc.integer({ min: 0, max: 5 }).map((n) => n === 0),
    allocateNodePorts: lb ? fc.integer({ min: 0, max: 4 }).map((n) => n > 0) : fc.constant(true),
    trafficDistribution: fc.option(pick('PreferClose' as const, 'PreferSameZone' as const, 'PreferSameNode' as const), { nil: undefined, freq: 3 }),
    endpoints: fc.array(
      fc.record({
        local: fc.boolean(),
        conditions: pick(...CONDITIONS),
        zoneHint: fc.option(pick(THIS_ZONE, OTHER_ZONE), { nil: undefined }),
        nodeHint: fc.boolean(),
      }),
      { maxLength: 4 },
    ),
  }).map((m) => ({ ...m, families, backing }));
}

type Mutable = ReturnType<typeof mutableParts> extends fc.Arbitrary<infer T> ? T : never;

const shape = fc.record({
  type: fc.constantFrom<Scenario['type']>('ClusterIP', 'ClusterIP', 'NodePort', 'NodePort', 'LoadBalancer', 'LoadBalancer', 'LoadBalancer', 'ExternalName', 'Headless'),
  families: fc.constantFrom<readonly Family[]>(['IPv4'], ['IPv4'], ['IPv6'], ['IPv4', 'IPv6'], ['IPv6', 'IPv4']),
  require: fc.boolean(),
  pods: fc.integer({ min: 0, max: 3 }).map((n) => n === 0),
}).map((s) => ({ ...s, backing: s.pods && s.type !== 'Headless' && s.type !== 'ExternalName' ? ('pods' as const) : ('slices' as const) }));

/** Builds scenario `index` from its shape and mutable parts. */
function assemble(index: number, type: Scenario['type'], families: readonly Family[], require: boolean, m: Mutable): Scenario {
  const pods = m.backing === 'pods';
  const ports: ScenarioPort[] = [];
  for (let p = 0; p < m.portCount; p++) {
    const protocol = pods ? 'TCP' : m.protocols[p]!;
    ports.push({ name: `p${80 + p}`, protocol, port: 80 + p, targetPort: pods && m.namedTarget ? `c${p}` : 8080 + p, endpointPort: 8080 + p });
  }
  const dual = families.length === 2;
  const v6 = families.includes('IPv6');
  const v4 = families.includes('IPv4');
  const ranges = m.sourceRangeKinds.flatMap((k) => (k === 'node' && v4 ? ['198.18.0.0/24'] : k === 'other' && v4 ? ['198.18.200.0/24'] : k === 'v6' && v6 ? ['fd00:18:5::/64'] : []));
  const externalIPs: string[] = [];
  const ingress: { ip: string; ipMode?: 'VIP' | 'Proxy' }[] = [];
  for (let j = 0; j < m.externalIPCount; j++) externalIPs.push(address(families[j % families.length]!, 'external', index, j));
  for (let j = 0; j < m.ingressCount; j++) {
    ingress.push({ ip: address(families[j % families.length]!, 'ingress', index, j), ...(m.proxyMode && j === 0 ? { ipMode: 'Proxy' as const } : {}) });
  }
  return {
    index,
    namespace: `${NAMESPACE_PREFIX}${index}`,
    type,
    families,
    policy: dual ? (require ? 'RequireDualStack' : 'PreferDualStack') : 'SingleStack',
    ports,
    ...(m.affinityTimeout !== undefined && type !== 'ExternalName' ? { affinityTimeout: m.affinityTimeout } : {}),
    externalLocal: m.externalLocal,
    internalLocal: m.internalLocal,
    sourceRanges: ranges,
    externalIPs: type === 'ExternalName' ? [] : externalIPs,
    ingress,
    allocateNodePorts: m.allocateNodePorts,
    ...(m.trafficDistribution ? { trafficDistribution: m.trafficDistribution } : {}),
    backing: m.backing,
    endpoints: m.endpoints.map((e) => ({ local: e.local, conditions: pods ? { ...e.conditions, terminating: false, serving: e.conditions.ready } : e.conditions, ...(e.zoneHint ? { zoneHint: e.zoneHint } : {}), nodeHint: e.nodeHint })),
  };
}

/** `count` scenarios from `seed`, indexes `first`… */
export function generateScenarios(seed: number, count: number, first = 0): Scenario[] {
  const arb = shape.chain((s) => mutableParts(s.type, s.families, s.backing).map((m) => ({ s, m })));
  return fc.sample(arb, { seed, numRuns: count }).map(({ s, m }, i) => assemble(first + i, s.type, s.families, s.require, m));
}

/** Scenario `s` with new mutable parts (same type and families), from `seed`. */
export function updateScenario(s: Scenario, seed: number): Scenario {
  const [m] = fc.sample(mutableParts(s.type, s.families, s.backing), { seed: seed ^ (s.index * 7919), numRuns: 1 });
  return assemble(s.index, s.type, s.families, s.policy === 'RequireDualStack', m!);
}

type AddressKind = 'endpoint' | 'external' | 'ingress';

/**
 * Address `j` of kind `kind` for scenario `index`: IPv4 in 198.18.0.0/15 (endpoints in the pod CIDR
 * 198.19.0.0/16), IPv6 in fd00:18::/32 (endpoints in fd00:19::/48).
 */
export function address(family: Family, kind: AddressKind, index: number, j: number): string {
  if (family === 'IPv6') {
    const block = kind === 'endpoint' ? 'fd00:19:0' : kind === 'external' ? 'fd00:18:e' : 'fd00:18:1b';
    return `${block}:${(index + 1).toString(16)}::${(j + 1).toString(16)}`;
  }
  if (kind === 'endpoint') return `198.19.${index % 250}.${10 + j + 8 * Math.floor(index / 250)}`;
  const base = kind === 'external' ? 64 : 128;
  return `198.18.${base + (index >> 6)}.${((index & 63) << 2) + j}`;
}

/** Prints a scenario compactly, for failure messages (with the seed, it reproduces the run). */
export function describeScenario(s: Scenario): string {
  return JSON.stringify(s);
}
