/** Stale UDP conntrack entries to delete after a sync (kubernetes #19029). */
import { describe, expect, it } from 'vitest';
import { staleUdpConntrackDeletions } from '../../host/rules/conntrack.js';
import { backend, model, servicePort } from './fixtures.js';

const dns = (ips: string[]) =>
  model([servicePort('kube-system', 'dns', { protocol: 'UDP', port: 53, clusterIPs: ['10.96.0.10'], nodePort: 30053, backends: ips.map((ip) => backend(ip, 53)) })]);

describe('stale UDP conntrack entries', () => {
  it('deletes the entries DNATed to an endpoint that went away, for the ClusterIP and the NodePort', () => {
    expect(staleUdpConntrackDeletions(dns(['10.1.0.1', '10.1.0.2']), dns(['10.1.0.1']), 4)).toEqual([
      ['-D', '-p', 'udp', '--orig-dst', '10.96.0.10', '--orig-port-dst', '53', '--dst-nat', '10.1.0.2'],
      ['-D', '-p', 'udp', '--orig-port-dst', '30053', '--dst-nat', '10.1.0.2'],
    ]);
  });

  it('clears the cached rejects when a Service gets its first endpoint', () => {
    expect(staleUdpConntrackDeletions(dns([]), dns(['10.1.0.1']), 4)).toEqual([
      ['-D', '-p', 'udp', '--orig-dst', '10.96.0.10', '--orig-port-dst', '53'],
      ['-D', '-p', 'udp', '--orig-port-dst', '30053'],
    ]);
  });

  it('does nothing for TCP, for unchanged endpoints, or on the first sync', () => {
    expect(staleUdpConntrackDeletions(dns(['10.1.0.1']), dns(['10.1.0.1']), 4)).toEqual([]);
    expect(staleUdpConntrackDeletions(undefined, dns(['10.1.0.1']), 4)).toEqual([]);
    const tcp = (ips: string[]) => model([servicePort('ns', 'web', { clusterIPs: ['10.96.0.1'], backends: ips.map((ip) => backend(ip, 80)) })]);
    expect(staleUdpConntrackDeletions(tcp(['10.1.0.1', '10.1.0.2']), tcp(['10.1.0.1']), 4)).toEqual([]);
  });
});
