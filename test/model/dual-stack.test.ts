import { describe, expect, it } from 'vitest';
import { buildServiceModel } from '../../host/model/index.js';
import type { KubeObject } from '../../host/model/index.js';

/** A dual-stack Service whose IPv6 endpoint is only serving and terminating. */
function objects(v6: { ready: boolean; serving: boolean; terminating: boolean }, nodeName = 'node-b'): KubeObject[] {
  const slice = (name: string, addressType: string, address: string, conditions: object): KubeObject => ({
    apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
    metadata: { name, namespace: 'default', labels: { 'kubernetes.io/service-name': 'ds' } },
    addressType, ports: [{ port: 8080 }], endpoints: [{ addresses: [address], conditions, nodeName }],
  });
  return [
    {
      apiVersion: 'v1', kind: 'Service', metadata: { name: 'ds', namespace: 'default' },
      spec: { ipFamilyPolicy: 'RequireDualStack', ipFamilies: ['IPv4', 'IPv6'], clusterIPs: ['10.96.0.50', 'fd00:10:96::50'], ports: [{ port: 80, targetPort: 8080 }] },
    },
    slice('ds-v4', 'IPv4', '198.18.1.1', { ready: true }),
    slice('ds-v6', 'IPv6', 'fd00:244::1', v6),
  ];
}
const options = { nodeName: 'node-a', serviceClusterIPRanges: ['10.96.0.0/12', 'fd00:10:96::/108'] };

describe('endpoint categorisation per IP family, as kube-proxy runs one proxier per family', () => {
  it('falls back to serving-terminating endpoints of a family whose ready endpoints are all gone', () => {
    const { model } = buildServiceModel(objects({ ready: false, serving: true, terminating: true }), options);
    const [sp] = model.servicePorts;
    expect(sp!.backends.map((b) => [b.ip, b.cluster])).toEqual([['198.18.1.1', true], ['fd00:244::1', true]]);
    expect(sp!.hasEndpoints).toBe(true);
  });

  it('leaves out a family endpoint that is neither ready nor serving', () => {
    const { model } = buildServiceModel(objects({ ready: false, serving: false, terminating: true }), options);
    expect(model.servicePorts[0]!.backends.map((b) => [b.ip, b.cluster])).toEqual([['198.18.1.1', true], ['fd00:244::1', false]]);
  });
});
