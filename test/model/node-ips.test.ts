import { describe, expect, it } from 'vitest';
import { buildServiceModel } from '../../host/model/index.js';
import type { KubeObject } from '../../host/model/index.js';

const service: KubeObject = {
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name: 'web', namespace: 'default' },
  spec: { type: 'NodePort', ports: [{ port: 80, nodePort: 30080 }] },
};
const node: KubeObject = {
  apiVersion: 'v1',
  kind: 'Node',
  metadata: { name: 'node-a' },
  status: { addresses: [{ type: 'InternalIP', address: '198.18.0.10' }] },
};

describe('node IPs, where NodePorts are served', () => {
  it('take --node-ip first', () => {
    const { model } = buildServiceModel([service, node], { nodeName: 'node-a', nodeIPs: ['198.18.0.20'], localAddresses: ['127.0.0.1'] });
    expect(model.nodeIPs).toEqual(['198.18.0.20']);
  });

  it("then the Node object's addresses", () => {
    const { model } = buildServiceModel([service, node], { nodeName: 'node-a', localAddresses: ['127.0.0.1'] });
    expect(model.nodeIPs).toEqual(['198.18.0.10']);
  });

  it("then every local address, as kube-proxy's empty --nodeport-addresses", () => {
    const { model, diagnostics } = buildServiceModel([service], { nodeName: 'node-a', localAddresses: ['127.0.0.1', '::1', 'not-an-ip'] });
    expect(model.nodeIPs).toEqual(['127.0.0.1', '::1']);
    expect(diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  });

  it('are empty when nothing gives one', () => {
    const { model } = buildServiceModel([service], { nodeName: 'node-a' });
    expect(model.nodeIPs).toEqual([]);
  });
});
