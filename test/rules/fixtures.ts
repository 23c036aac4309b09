/**
 * Hand-written ServiceModel fixtures for the renderer tests: kube-proxy's own golden-test conventions
 * (pod CIDR 10.0.0.0/8, ClusterIPs 172.30.0.0/16, node 192.168.0.2, LB IPs 1.2.3.4 / 5.6.7.8,
 * source range 203.0.113.0/25), so the expected names match upstream's TestOverallIPTablesRules.
 */
import { servicePortKey, type ModelBackend, type ModelServicePort, type ServiceModel } from '../../host/engine/model.js';
import { modelBackend, modelServicePort } from '../fixtures/service-model.js';

export function backend(ip: string, port: number, extra: Partial<ModelBackend> = {}): ModelBackend {
  return modelBackend(ip, port, extra);
}

export function servicePort(namespace: string, name: string, extra: Partial<ModelServicePort> = {}): ModelServicePort {
  return modelServicePort({ namespace, name, portName: 'p80', scheduler: 'random', ...extra });
}

export function model(servicePorts: ModelServicePort[], nodeIPs: string[] = ['192.168.0.2']): ServiceModel {
  return { nodeIPs, servicePorts: [...servicePorts].sort((a, b) => (servicePortKey(a) < servicePortKey(b) ? -1 : 1)) };
}

/** The six Services of upstream TestOverallIPTablesRules / TestOverallNFTablesRules. */
export function overallModel(nodeIPs: string[] = []): ServiceModel {
  return model([
    // Endpoints on this node as in upstream v1.37 (testNodeName): they make hairpin-connections elements.
    servicePort('ns1', 'svc1', { clusterIPs: ['172.30.0.41'], backends: [backend('10.180.0.1', 80, { local: true, nodeName: 'test-node' })] }),
    servicePort('ns2', 'svc2', {
      type: 'LoadBalancer',
      clusterIPs: ['172.30.0.42'],
      nodePort: 3001,
      externalIPs: ['192.168.99.22'],
      loadBalancerIPs: ['1.2.3.4'],
      externalTrafficPolicy: 'Local',
      healthCheckNodePort: 30000,
      // Not local: with externalTrafficPolicy Local it serves cluster traffic only.
      backends: [backend('10.180.0.2', 80, { external: false })],
    }),
    servicePort('ns3', 'svc3', {
      type: 'NodePort',
      clusterIPs: ['172.30.0.43'],
      nodePort: 3003,
      backends: [backend('10.180.0.3', 80, { local: true, nodeName: 'test-node' })],
    }),
    servicePort('ns4', 'svc4', {
      type: 'NodePort',
      clusterIPs: ['172.30.0.44'],
      externalIPs: ['192.168.99.33'],
      backends: [backend('10.180.0.4', 80), backend('10.180.0.5', 80, { local: true, nodeName: 'test-node' })],
    }),
    servicePort('ns5', 'svc5', {
      type: 'LoadBalancer',
      clusterIPs: ['172.30.0.45'],
      nodePort: 3002,
      loadBalancerIPs: ['5.6.7.8'],
      loadBalancerSourceRanges: [' 203.0.113.0/25'],
      sessionAffinity: 'ClientIP',
      backends: [backend('10.180.0.3', 80, { local: true, nodeName: 'test-node' })],
    }),
    servicePort('ns6', 'svc6', { clusterIPs: ['172.30.0.46'] }),
  ], nodeIPs);
}
