/**
 * The Services the kernel tests exercise, as Kubernetes objects fed through the real model
 * (host/model buildServiceModel) for node "node-a" at 198.18.1.1.
 */
import { buildServiceModel, type KubeObject } from '../../../host/model/index.js';
import type { ServiceModel } from '../../../host/engine/model.js';
import { BACKEND_PORT, BACKENDS, NODE_IP } from './topology.js';

export const VIP = {
  web: '198.19.0.10',
  sticky: '198.19.0.11',
  empty: '198.19.0.12',
  localNone: '198.19.0.13',
  localYes: '198.19.0.14',
  lbAllowed: '198.19.0.15',
  lbBlocked: '198.19.0.16',
  added: '198.19.0.17',
  broken: '198.19.0.18',
  udp: '198.19.0.19',
} as const;
export const LB_ALLOWED_IP = '198.19.1.15';
export const LB_BLOCKED_IP = '198.19.1.16';
export const NODE_PORT = { web: 30080, localNone: 30081, localYes: 30082, lbAllowed: 30083, lbBlocked: 30084 } as const;

interface ServiceSpec {
  name: string;
  clusterIP: string;
  type?: 'ClusterIP' | 'NodePort' | 'LoadBalancer';
  nodePort?: number;
  externalTrafficPolicy?: 'Local' | 'Cluster';
  sessionAffinity?: 'ClientIP';
  lbIP?: string;
  sourceRanges?: string[];
  protocol?: 'TCP' | 'UDP';
  /** Backend names and whether each runs on node-a. */
  endpoints: ReadonlyArray<{ backend: 'b1' | 'b2' | 'b3'; local: boolean }>;
}

function service(s: ServiceSpec): KubeObject[] {
  const svc: KubeObject = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: s.name, namespace: 'default' },
    spec: {
      type: s.type ?? 'ClusterIP',
      clusterIP: s.clusterIP,
      ports: [{ name: 'http', port: 80, targetPort: BACKEND_PORT, protocol: s.protocol ?? 'TCP', ...(s.nodePort ? { nodePort: s.nodePort } : {}) }],
      ...(s.externalTrafficPolicy ? { externalTrafficPolicy: s.externalTrafficPolicy } : {}),
      ...(s.sessionAffinity ? { sessionAffinity: s.sessionAffinity } : {}),
      ...(s.sourceRanges ? { loadBalancerSourceRanges: s.sourceRanges } : {}),
    },
    ...(s.lbIP ? { status: { loadBalancer: { ingress: [{ ip: s.lbIP }] } } } : {}),
  };
  if (!s.endpoints.length) return [svc];
  const slice: KubeObject = {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: `${s.name}-1`, namespace: 'default', labels: { 'kubernetes.io/service-name': s.name } },
    addressType: 'IPv4',
    endpoints: s.endpoints.map((e) => ({
      addresses: [BACKENDS.find((b) => b.name === e.backend)!.ip],
      conditions: { ready: true, serving: true, terminating: false },
      nodeName: e.local ? 'node-a' : 'node-b',
    })),
    ports: [{ name: 'http', port: BACKEND_PORT, protocol: s.protocol ?? 'TCP' }],
  };
  return [svc, slice];
}

const all = [
  { backend: 'b1', local: false },
  { backend: 'b2', local: false },
  { backend: 'b3', local: false },
] as const;

export function baseServices(): ServiceSpec[] {
  return [
    { name: 'web', clusterIP: VIP.web, type: 'NodePort', nodePort: NODE_PORT.web, endpoints: all },
    { name: 'sticky', clusterIP: VIP.sticky, sessionAffinity: 'ClientIP', endpoints: all },
    { name: 'empty', clusterIP: VIP.empty, endpoints: [] },
    {
      name: 'local-none',
      clusterIP: VIP.localNone,
      type: 'NodePort',
      nodePort: NODE_PORT.localNone,
      externalTrafficPolicy: 'Local',
      endpoints: [
        { backend: 'b2', local: false },
        { backend: 'b3', local: false },
      ],
    },
    {
      name: 'local-yes',
      clusterIP: VIP.localYes,
      type: 'NodePort',
      nodePort: NODE_PORT.localYes,
      externalTrafficPolicy: 'Local',
      endpoints: [{ backend: 'b1', local: true }],
    },
    { name: 'lb-allowed', clusterIP: VIP.lbAllowed, type: 'LoadBalancer', nodePort: NODE_PORT.lbAllowed, lbIP: LB_ALLOWED_IP, sourceRanges: ['198.18.1.0/24'], endpoints: all },
    { name: 'lb-blocked', clusterIP: VIP.lbBlocked, type: 'LoadBalancer', nodePort: NODE_PORT.lbBlocked, lbIP: LB_BLOCKED_IP, sourceRanges: ['198.18.200.0/24'], endpoints: all },
  ];
}

/** node-a's Node object and the Services with their EndpointSlices (what a manifest file would hold). */
export function manifestObjects(services: ServiceSpec[]): KubeObject[] {
  return [
    { apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-a' }, status: { addresses: [{ type: 'InternalIP', address: NODE_IP }] } },
    ...services.flatMap(service),
  ];
}

/** The model for node-a from a list of Services. Throws on any model error (the fixtures are meant valid). */
export function modelOf(services: ServiceSpec[]): ServiceModel {
  const objects = manifestObjects(services);
  const result = buildServiceModel(objects, { nodeName: 'node-a', nodeIPs: [NODE_IP], serviceClusterIPRanges: ['198.19.0.0/16'] });
  const errors = result.diagnostics.filter((d) => d.severity === 'error');
  if (errors.length) throw new Error(`test manifests invalid: ${JSON.stringify(errors)}`);
  return result.model;
}

export type { ServiceSpec };
