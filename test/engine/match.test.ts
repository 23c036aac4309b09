/**
 * Service match for every kind of address, IPv4 and IPv6, and every verdict.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { loadEngine } from '../../host/engine/node.js';
import { Verdict, Via } from '../../host/engine/api.js';
import type { Engine } from '../../host/engine/engine.js';
import { backend, ip, model, servicePort, TCP, UDP } from './fixtures.js';

const NODE4 = '192.168.0.10';
const NODE6 = 'fd00::10';

describe('service match', () => {
  let engine: Engine;
  let port = 20000;
  const connect = (proto: number, src: string, dst: string, dport: number) => engine.connect(proto, ip(src), port++, ip(dst), dport, 1000);

  beforeAll(async () => {
    engine = await loadEngine({ flowCapacity: 4096 });
    engine.load(model([
      servicePort('web', {
        type: 'LoadBalancer',
        clusterIPs: ['10.96.0.10', 'fd00:96::10'],
        nodePort: 30080,
        externalIPs: ['203.0.113.5', '2001:db8:e::5'],
        loadBalancerIPs: ['198.51.100.20', '2001:db8:1b::20'],
        backends: [backend('10.1.0.1', 8080), backend('fd00:1::1', 8080)],
      }),
      servicePort('dns', { protocol: 'UDP', port: 53, clusterIPs: ['10.96.0.53'], backends: [backend('10.1.0.53', 53)] }),
      servicePort('empty', { clusterIPs: ['10.96.0.20'], hasEndpoints: false }),
      servicePort('local-only', {
        type: 'NodePort', clusterIPs: ['10.96.0.21'], nodePort: 30021, externalTrafficPolicy: 'Local',
        backends: [backend('10.1.0.21', 80, { local: false, cluster: true, external: false })],
      }),
      servicePort('ranged', {
        type: 'LoadBalancer', clusterIPs: ['10.96.0.22'], loadBalancerIPs: ['198.51.100.22', '2001:db8:1b::22'],
        loadBalancerSourceRanges: ['172.16.0.0/12', '2001:db8:c::/48'], backends: [backend('10.1.0.22', 80), backend('fd00:1::22', 80)],
      }),
      servicePort('quiesced', { clusterIPs: ['10.96.0.23'], backends: [backend('10.1.0.23', 80, { weight: 0 })] }),
    ], [NODE4, NODE6]));
  });

  const kinds: Array<[string, string, number]> = [
    ['clusterIP v4', '10.96.0.10', 80],
    ['clusterIP v6', 'fd00:96::10', 80],
    ['externalIP v4', '203.0.113.5', 80],
    ['externalIP v6', '2001:db8:e::5', 80],
    ['LB ingress v4', '198.51.100.20', 80],
    ['LB ingress v6', '2001:db8:1b::20', 80],
    ['nodePort on node IPv4', NODE4, 30080],
    ['nodePort on node IPv6', NODE6, 30080],
  ];
  it.each(kinds)('matches %s', (_, dst, dport) => {
    const src = dst.includes(':') ? '2001:db8:99::1' : '172.20.0.1';
    const d = connect(TCP, src, dst, dport);
    expect(d.verdict).toBe(Verdict.Backend);
    expect(d.via).toBe(Via.Scheduler);
    expect(d.servicePort?.name).toBe('web');
    expect(d.backend?.port).toBe(8080);
  });

  it('passes what matches nothing: other address, other port, other protocol, nodePort off-node', () => {
    expect(connect(TCP, '172.20.0.1', '10.96.0.11', 80).verdict).toBe(Verdict.Pass);
    expect(connect(TCP, '172.20.0.1', '10.96.0.10', 81).verdict).toBe(Verdict.Pass);
    expect(connect(UDP, '172.20.0.1', '10.96.0.10', 80).verdict).toBe(Verdict.Pass);
    expect(connect(TCP, '172.20.0.1', '192.168.0.11', 30080).verdict).toBe(Verdict.Pass);
    expect(connect(TCP, '172.20.0.1', NODE4, 30081).verdict).toBe(Verdict.Pass);
    const d = connect(TCP, '172.20.0.1', '10.96.0.99', 80);
    expect(d.servicePortIndex).toBe(-1);
    expect(d.servicePort).toBeNull();
  });

  it('matches UDP service ports by protocol', () => {
    const d = connect(UDP, '172.20.0.1', '10.96.0.53', 53);
    expect(d.verdict).toBe(Verdict.Backend);
    expect(d.backend?.ip).toBe('10.1.0.53');
    expect(connect(TCP, '172.20.0.1', '10.96.0.53', 53).verdict).toBe(Verdict.Pass);
  });

  it('rejects a service port without any endpoint', () => {
    const d = connect(TCP, '172.20.0.1', '10.96.0.20', 80);
    expect(d.verdict).toBe(Verdict.Reject);
    expect(d.servicePort?.name).toBe('empty');
    expect(d.backendIndex).toBe(-1);
  });

  it('drops external traffic with Local policy and no local endpoint, but serves cluster traffic', () => {
    expect(connect(TCP, '172.20.0.1', NODE4, 30021).verdict).toBe(Verdict.Drop);
    expect(connect(TCP, '172.20.0.1', '10.96.0.21', 80).verdict).toBe(Verdict.Backend);
  });

  it('applies loadBalancerSourceRanges to LB ingress IPs only', () => {
    expect(connect(TCP, '172.16.9.9', '198.51.100.22', 80).verdict).toBe(Verdict.Backend);
    expect(connect(TCP, '10.0.0.9', '198.51.100.22', 80).verdict).toBe(Verdict.Drop);
    expect(connect(TCP, '2001:db8:c:1::9', '2001:db8:1b::22', 80).verdict).toBe(Verdict.Backend);
    expect(connect(TCP, '2001:db8:d::9', '2001:db8:1b::22', 80).verdict).toBe(Verdict.Drop);
    // The clusterIP of the same service port ignores source ranges.
    expect(connect(TCP, '10.0.0.9', '10.96.0.22', 80).verdict).toBe(Verdict.Backend);
  });

  it('rejects when every endpoint is quiesced (weight 0: no destination available)', () => {
    expect(connect(TCP, '172.20.0.1', '10.96.0.23', 80).verdict).toBe(Verdict.Reject);
  });

  it('returns the same backend for an existing flow, via Flow, and lookup finds it', () => {
    const src = ip('172.20.5.5');
    const first = engine.connect(TCP, src, 5555, ip('10.96.0.10'), 80, 2000);
    const b = first.backendIndex;
    const again = engine.connect(TCP, src, 5555, ip('10.96.0.10'), 80, 2001);
    expect(again.via).toBe(Via.Flow);
    expect(again.backendIndex).toBe(b);
    const found = engine.lookup(TCP, src, 5555, ip('10.96.0.10'), 80, 2002);
    expect(found.verdict).toBe(Verdict.Backend);
    expect(found.via).toBe(Via.Flow);
    expect(found.backendIndex).toBe(b);
    expect(engine.lookup(TCP, src, 5556, ip('10.96.0.10'), 80, 2002).verdict).toBe(Verdict.Pass);
  });
});
