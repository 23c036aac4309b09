/**
 * Hand-built ServiceModel pieces for forwarder tests (the model issue's builder turns manifests
 * into the same shape; these skip the YAML step so a test states exactly what it serves).
 */
import { compareBackends } from '../../host/engine/model.js';
import type { ModelBackend, ModelServicePort, ServiceModel } from '../../host/engine/model.js';

export function backend(ip: string, port: number, extra: Partial<ModelBackend> = {}): ModelBackend {
  return { ip, port, weight: 1, ready: true, serving: true, terminating: false, local: true, cluster: true, external: true, ...extra };
}

export function servicePort(name: string, extra: Partial<ModelServicePort> = {}): ModelServicePort {
  // Engine order (address, then port), as the model builder emits them.
  const backends = [...(extra.backends ?? [])].sort(compareBackends);
  return {
    namespace: 'default',
    name,
    portName: '',
    type: 'ClusterIP',
    protocol: 'TCP',
    port: 80,
    clusterIPs: [],
    nodePort: 0,
    externalIPs: [],
    loadBalancerIPs: [],
    loadBalancerSourceRanges: [],
    scheduler: 'rr',
    schedulerFlags: { port: false, fallback: false },
    sessionAffinity: 'None',
    affinityTimeoutSeconds: 10800,
    externalTrafficPolicy: 'Cluster',
    internalTrafficPolicy: 'Cluster',
    healthCheckNodePort: 0,
    hasEndpoints: backends.some((b) => b.ready || (b.serving && b.terminating)),
    ...extra,
    backends,
  };
}

export function model(servicePorts: ModelServicePort[], nodeIPs: string[] = []): ServiceModel {
  const sorted = [...servicePorts].sort((a, b) => (`${a.namespace}/${a.name}:${a.portName}` < `${b.namespace}/${b.name}:${b.portName}` ? -1 : 1));
  return { nodeIPs, servicePorts: sorted };
}
