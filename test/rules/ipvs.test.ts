/** ipvs rendering: kernel destination order, persistence, scheduler flags, ipsets. */
import { describe, expect, it } from 'vitest';
import { renderIpvs } from '../../host/rules/render-ipvs.js';
import { backend, model, servicePort } from './fixtures.js';

describe('ipvs rendering', () => {
  const three = [backend('10.1.0.9', 80), backend('10.1.0.10', 80), backend('10.1.0.2', 8080)];

  it('adds real servers in reverse engine order, so the kernel (newest first) lists them in engine order', () => {
    const rs = renderIpvs(model([servicePort('ns', 'svc', { clusterIPs: ['10.96.0.1'], backends: three })]));
    const reals = rs.ipvsadm.split('\n').filter((l) => l.startsWith('-a')).map((l) => /-r (\S+)/.exec(l)![1]);
    expect(reals).toEqual(['10.1.0.10:80', '10.1.0.9:80', '10.1.0.2:8080']);
    expect([...reals].reverse()).toEqual(['10.1.0.2:8080', '10.1.0.9:80', '10.1.0.10:80']);
  });

  it('maps ClientIP affinity to -p and sh flags to -b; random has no kernel scheduler and becomes rr', () => {
    const rs = renderIpvs(
      model([
        servicePort('ns', 'a', { clusterIPs: ['10.96.0.1'], backends: three, sessionAffinity: 'ClientIP', affinityTimeoutSeconds: 60, scheduler: 'sh', schedulerFlags: { port: true, fallback: true } }),
        servicePort('ns', 'b', { clusterIPs: ['10.96.0.2'], backends: three, scheduler: 'random' }),
        servicePort('ns', 'c', { clusterIPs: ['10.96.0.3'], backends: three, scheduler: 'dh', schedulerFlags: { port: true, fallback: false } }),
      ]),
    );
    expect(rs.ipvsadm).toContain('-A -t 10.96.0.1:80 -s sh -b sh-port,sh-fallback -p 60\n');
    expect(rs.ipvsadm).toContain('-A -t 10.96.0.2:80 -s rr\n');
    expect(rs.ipvsadm).toContain('-A -t 10.96.0.3:80 -s dh\n');
  });

  it('creates one virtual server per node IP for a NodePort, and binds service IPs (not node IPs) to the dummy interface', () => {
    const rs = renderIpvs(
      model([servicePort('ns', 'np', { type: 'NodePort', clusterIPs: ['10.96.0.1'], nodePort: 30001, protocol: 'UDP', backends: three })], ['192.168.0.2', '192.168.1.2']),
    );
    expect(rs.ipvsadm).toContain('-A -u 192.168.0.2:30001 -s rr');
    expect(rs.ipvsadm).toContain('-A -u 192.168.1.2:30001 -s rr');
    expect(rs.addresses).toEqual(['10.96.0.1']);
    expect(rs.ipset).toContain('add KUBE-NODE-PORT-UDP 30001 ');
    expect(rs.ipset).toContain('add KUBE-CLUSTER-IP 10.96.0.1,udp:80 ');
  });

  it('uses KUBE-6- set names and bracketed addresses for IPv6', () => {
    const rs = renderIpvs(model([servicePort('ns', 'v6', { clusterIPs: ['fd00::1'], backends: [backend('fd00:1::5', 80)] })], []), { family: 6 });
    expect(rs.ipvsadm).toBe('-A -t [fd00::1]:80 -s rr\n-a -t [fd00::1]:80 -r [fd00:1::5]:80 -m -w 1\n');
    expect(rs.ipset).toContain('add KUBE-6-CLUSTER-IP fd00::1,tcp:80 ');
    expect(rs.ipset).toContain('create KUBE-6-CLUSTER-IP hash:ip,port family inet6');
  });
});
