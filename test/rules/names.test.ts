/** Chain and set names match kube-proxy's, byte for byte (reference/kube-proxy.md §1.3, §3). */
import { describe, expect, it } from 'vitest';
import { base32, hashAndTruncate, iptablesEndpointChain, nftEndpointNames, nftServiceChains, portProtoHash } from '../../host/rules/names.js';

const sp = (namespace: string, name: string, portName: string, protocol: 'TCP' | 'UDP' | 'SCTP' = 'TCP') => ({ namespace, name, portName, protocol });

describe('kube-proxy names', () => {
  it('portProtoHash: base32(sha256(ns/name:port + protocol))[:16]', () => {
    expect(portProtoHash(sp('ns1', 'svc1', 'p80'))).toBe('XPGD46QRK7WJZT7O');
    expect(portProtoHash(sp('ns2', 'svc2', 'p80'))).toBe('GNZBNJ2PO5MGZ6GT');
    expect(portProtoHash(sp('kube-system', 'kube-dns', 'dns', 'UDP'))).toBe('TCOU7JCQXEZGVUNU');
    expect(portProtoHash(sp('default', 'kubernetes', 'https'))).toBe('NPX46M4PTMTKRN6Y');
  });

  it('an unnamed port hashes ns/name without the colon', () => {
    expect(portProtoHash(sp('default', 'hostnames', ''))).not.toBe(portProtoHash(sp('default', 'hostnames', 'x')));
    expect(portProtoHash(sp('ns2', 'svc2:p80', ''))).toBe('GNZBNJ2PO5MGZ6GT');
  });

  it('KUBE-SEP adds ip:port, with brackets for IPv6', () => {
    expect(iptablesEndpointChain(sp('ns1', 'svc1', 'p80'), { ip: '10.180.0.1', port: 80 })).toBe('KUBE-SEP-SXIVWICOYRO3J4NJ');
    const v6 = iptablesEndpointChain(sp('ns1', 'svc1', 'p80'), { ip: 'fd00::1', port: 80 });
    expect(v6).toMatch(/^KUBE-SEP-[A-Z2-7]{16}$/);
    expect(v6.length).toBeLessThanOrEqual(28);
  });

  it('nftables chains: hashAndTruncate of ns/svc/proto/port', () => {
    expect(nftServiceChains(sp('ns1', 'svc1', 'p80')).service).toBe('service-ULMVA6XW-ns1/svc1/tcp/p80');
    expect(nftEndpointNames(sp('ns1', 'svc1', 'p80'), { ip: '10.180.0.1', port: 80 })).toEqual({
      chain: 'endpoint-5OJB2KTY-ns1/svc1/tcp/p80__10.180.0.1/80',
      affinitySet: 'affinity-5OJB2KTY-ns1/svc1/tcp/p80__10.180.0.1/80',
    });
    expect(nftEndpointNames(sp('ns', 's', 'p'), { ip: 'fd00::1', port: 80 }).chain).toMatch(/__fd00\.\.1\/80$/);
  });

  it('truncates long nftables names to 240 characters with "..."', () => {
    const long = hashAndTruncate('x'.repeat(300));
    expect(long).toHaveLength(240);
    expect(long.endsWith('...')).toBe(true);
  });

  it('base32 is RFC 4648', () => {
    expect(base32(new TextEncoder().encode('foobar'))).toBe('MZXW6YTBOI');
  });
});
