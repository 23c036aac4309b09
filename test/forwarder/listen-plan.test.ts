import { describe, expect, it } from 'vitest';
import { listenerKey, localReadyEndpoints, nodePortIPs, planListeners } from '../../host/forwarder/listen-plan.js';
import { backend, model, servicePort } from './fixtures.js';

describe('planListeners', () => {
  it('plans ClusterIP, externalIP, LoadBalancer IP and NodePort listeners with their kinds', () => {
    const m = model(
      [
        servicePort('web', {
          type: 'LoadBalancer',
          clusterIPs: ['10.96.0.10', 'fd00::10'],
          externalIPs: ['198.18.0.5'],
          loadBalancerIPs: ['198.18.1.1'],
          nodePort: 30080,
          backends: [backend('10.0.0.1', 8080)],
        }),
      ],
      ['192.168.1.10', '10.1.0.10'],
    );
    const plan = planListeners(m);
    expect(plan.listeners.map((l) => `${l.key} ${l.kind}`)).toEqual([
      'tcp/10.1.0.10:30080 nodePort',
      'tcp/10.96.0.10:80 clusterIP',
      'tcp/192.168.1.10:30080 nodePort',
      'tcp/198.18.0.5:80 externalIP',
      'tcp/198.18.1.1:80 loadBalancerIP',
      'tcp/[fd00::10]:80 clusterIP',
    ]);
    expect(plan.listeners[1]!.address).toMatchObject({ family: 4, w0: 0x0a60000a });
  });

  it('serves NodePorts only on node IPs inside --nodeport-addresses', () => {
    const m = model([servicePort('np', { type: 'NodePort', clusterIPs: ['10.96.0.11'], nodePort: 30001 })], ['192.168.1.10', '10.1.0.10']);
    const plan = planListeners(m, { nodePortAddresses: ['10.0.0.0/8'] });
    expect(plan.listeners.map((l) => l.key)).toEqual(['tcp/10.1.0.10:30001', 'tcp/10.96.0.11:80']);
    expect(nodePortIPs(['192.168.1.10'], ['primary'])).toEqual(['192.168.1.10']);
  });

  it('keeps TCP and UDP on the same address apart and skips SCTP with a reason', () => {
    const m = model([
      servicePort('dns', { portName: 'dns', protocol: 'UDP', port: 53, clusterIPs: ['10.96.0.10'] }),
      servicePort('dns', { portName: 'dns-tcp', protocol: 'TCP', port: 53, clusterIPs: ['10.96.0.10'] }),
      servicePort('sig', { protocol: 'SCTP', port: 3868, clusterIPs: ['10.96.0.12'] }),
    ]);
    const plan = planListeners(m);
    expect(plan.listeners.map((l) => l.key)).toEqual(['tcp/10.96.0.10:53', 'udp/10.96.0.10:53']);
    expect(plan.skipped).toEqual([{ servicePort: 'default/sig', reason: 'SCTP is not supported by the userspace forwarder' }]);
  });

  it('plans one health server per healthCheckNodePort and node IP', () => {
    const m = model(
      [
        servicePort('lb', {
          type: 'LoadBalancer',
          externalTrafficPolicy: 'Local',
          healthCheckNodePort: 32000,
          nodePort: 30002,
          clusterIPs: ['10.96.0.13'],
          backends: [backend('10.0.0.1', 80, { local: true }), backend('10.0.0.2', 80, { local: false }), backend('10.0.0.3', 80, { local: true, ready: false })],
        }),
      ],
      ['192.168.1.10'],
    );
    const plan = planListeners(m);
    expect(plan.healthServers).toEqual([{ key: 'health/192.168.1.10:32000', ip: '192.168.1.10', port: 32000, namespace: 'default', name: 'lb' }]);
    expect(localReadyEndpoints(m, 'default', 'lb')).toBe(1);
  });

  it('writes IPv6 keys with brackets', () => {
    expect(listenerKey('UDP', 'fd00::1', 53)).toBe('udp/[fd00::1]:53');
  });
});
