/**
 * ServiceCIDR objects (networking.k8s.io/v1, KEP-1880): validation as the apiserver does it,
 * allocation across the default range and the extra CIDRs, terminating CIDRs, and the CIDRs the
 * model hands to the nftables renderer and the change tracker.
 */
import { describe, expect, it } from 'vitest';
import { type KubeObject, ServiceChangeTracker, buildServiceModel, isEmpty } from '../../host/model/index.js';
import { renderNftablesText } from '../../host/rules/render-nftables.js';

const svc = (name: string, clusterIP?: string): KubeObject => ({
  apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'default' },
  spec: { ports: [{ port: 80 }], ...(clusterIP ? { clusterIP, clusterIPs: [clusterIP] } : {}) },
});
const cidr = (name: string, cidrs: unknown, deleting = false): KubeObject => ({
  apiVersion: 'networking.k8s.io/v1', kind: 'ServiceCIDR',
  metadata: { name, ...(deleting ? { deletionTimestamp: '2026-12-07T00:00:00Z', finalizers: ['networking.k8s.io/service-cidr-finalizer'] } : {}) },
  spec: { cidrs },
});
const build = (objects: KubeObject[], ranges = ['198.19.0.0/30']) => buildServiceModel(objects, { serviceClusterIPRanges: ranges });
const errors = (objects: KubeObject[]) =>
  build(objects).diagnostics.filter((d) => d.severity === 'error').map((d) => `${d.object}: ${d.field}: ${d.message}`);

describe('ServiceCIDR validation (as the apiserver)', () => {
  it('needs one or two CIDRs, one per family, in canonical form', () => {
    expect(errors([cidr('none', [])])).toEqual(['ServiceCIDR "none": spec.cidrs: Required value: at least one CIDR required']);
    expect(errors([cidr('three', ['198.19.4.0/24', 'fd00:1::/112', '198.19.5.0/24'])])).toEqual([
      'ServiceCIDR "three": spec.cidrs: Invalid value: []string{"198.19.4.0/24", "fd00:1::/112", "198.19.5.0/24"}: may only hold up to 2 values',
    ]);
    expect(errors([cidr('two-v4', ['198.19.4.0/24', '198.19.5.0/24'])])).toEqual([
      'ServiceCIDR "two-v4": spec.cidrs: Invalid value: []string{"198.19.4.0/24", "198.19.5.0/24"}: may specify no more than one IP for each IP family, i.e 192.168.0.0/24 and 2001:db8::/64',
    ]);
    expect(errors([cidr('host-bits', ['198.19.4.7/24'])])).toEqual([
      'ServiceCIDR "host-bits": spec.cidrs[0]: Invalid value: "198.19.4.7/24": must be in canonical form ("198.19.4.0/24")',
    ]);
    expect(errors([cidr('v6-long', ['fd00:0:0::/112'])])).toEqual([
      'ServiceCIDR "v6-long": spec.cidrs[0]: Invalid value: "fd00:0:0::/112": must be in canonical form ("fd00::/112")',
    ]);
    expect(errors([cidr('junk', ['not-a-cidr'])])).toEqual([
      'ServiceCIDR "junk": spec.cidrs[0]: Invalid value: "not-a-cidr": must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)',
    ]);
  });

  it('is cluster-scoped, and a duplicate name is reported once', () => {
    const dup = [cidr('extra', ['198.19.4.0/24']), cidr('extra', ['198.19.5.0/24'])];
    expect(errors(dup)).toEqual(['ServiceCIDR "extra": metadata.name: Duplicate value: "extra"']);
  });

  it('an invalid ServiceCIDR adds no range and breaks nothing else', () => {
    const r = build([cidr('junk', ['198.19.4.7/24']), svc('web')]);
    expect(r.model.serviceCIDRs).toEqual(['198.19.0.0/30']);
    expect(r.services.find((s) => s.name === 'web')!.clusterIPs[0]).toMatch(/^198\.19\.0\.[12]$/);
  });
});

describe('allocation across ServiceCIDRs', () => {
  it('takes addresses from the default range first, then from the ServiceCIDRs by name', () => {
    // 198.19.0.0/30 holds two usable addresses: the third Service must come from a ServiceCIDR,
    // and "a-extra" sorts before "b-extra".
    const objects = [svc('s1'), svc('s2'), svc('s3'), cidr('b-extra', ['198.19.9.0/24']), cidr('a-extra', ['198.19.8.0/24'])];
    const r = build(objects);
    expect(r.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    const ips = r.services.map((s) => s.clusterIPs[0]!).sort();
    expect(ips.filter((ip) => ip.startsWith('198.19.0.'))).toHaveLength(2);
    expect(ips.filter((ip) => ip.startsWith('198.19.8.'))).toHaveLength(1);
    // Without the ServiceCIDRs the third Service is rejected: the default range is full.
    const alone = build([svc('s1'), svc('s2'), svc('s3')]);
    expect(alone.diagnostics.filter((d) => d.severity === 'error').map((d) => d.message)).toEqual([
      'Invalid value: []string{}: failed to allocate a serviceIP: range is full (198.19.0.0/30)',
    ]);
  });

  it('accepts a given clusterIP inside any ServiceCIDR, and still rejects one outside all of them', () => {
    expect(errors([svc('given', '198.19.8.10'), cidr('extra', ['198.19.8.0/24'])])).toEqual([]);
    expect(errors([svc('given', '198.19.7.10'), cidr('extra', ['198.19.8.0/24'])])).toEqual([
      'Service "default/given": spec.clusterIPs: Invalid value: []string{"198.19.7.10"}: failed to allocate IP 198.19.7.10: the provided IP (198.19.7.10) is not in the valid range. The range of valid IPs is 198.19.0.0/30,198.19.8.0/24',
    ]);
  });

  it('allocates nothing new from a terminating ServiceCIDR, but its addresses stay valid', () => {
    const deleting = cidr('old', ['198.19.8.0/24'], true);
    expect(errors([svc('kept', '198.19.8.10'), deleting])).toEqual([]);
    const r = build([svc('s1'), svc('s2'), svc('s3'), deleting]);
    expect(r.diagnostics.filter((d) => d.severity === 'error').map((d) => d.message)).toEqual([
      'Invalid value: []string{}: failed to allocate a serviceIP: range is full (198.19.0.0/30)',
    ]);
    expect(r.model.serviceCIDRs).toEqual(['198.19.0.0/30', '198.19.8.0/24']);
  });

  it('allocates IPv6 from a dual-stack ServiceCIDR when the flags give no IPv6 range', () => {
    const dual: KubeObject = {
      apiVersion: 'v1', kind: 'Service', metadata: { name: 'dual', namespace: 'default' },
      spec: { ipFamilyPolicy: 'RequireDualStack', ipFamilies: ['IPv4', 'IPv6'], ports: [{ port: 80 }] },
    };
    const r = buildServiceModel([dual, cidr('dual', ['198.19.8.0/24', 'fd00:198:19::/112'])], { serviceClusterIPRanges: ['198.19.0.0/30', 'fd00:10::/112'] });
    expect(r.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    expect(r.model.serviceCIDRs).toEqual(['198.19.0.0/30', 'fd00:10::/112', '198.19.8.0/24', 'fd00:198:19::/112']);
  });
});

describe('the Service CIDRs downstream', () => {
  it('nftables drops traffic to unallocated addresses of every Service CIDR of its family', () => {
    const { model } = build([svc('web'), cidr('dual', ['198.19.8.0/24', 'fd00:198:19::/112'])]);
    const v4 = renderNftablesText(model, { family: 4 });
    expect(v4).toContain('add rule ip kube-proxy cluster-ips-check ip daddr { 198.19.0.0/30, 198.19.8.0/24 } drop comment "Drop traffic to unallocated ClusterIPs"');
    const v6 = renderNftablesText(model, { family: 6 });
    expect(v6).toContain('add rule ip6 kube-proxy cluster-ips-check ip6 daddr { fd00:198:19::/112 } drop');
  });

  it('adding or deleting a ServiceCIDR is a change even when no service port changes', () => {
    const tracker = new ServiceChangeTracker();
    tracker.update(build([svc('web')]));
    const added = tracker.update(build([svc('web'), cidr('extra', ['198.19.8.0/24'])]));
    expect(added.changed).toEqual([]);
    expect(added.serviceCIDRsChanged).toBe(true);
    expect(isEmpty(added)).toBe(false);
    expect(isEmpty(tracker.update(build([svc('web'), cidr('extra', ['198.19.8.0/24'])])))).toBe(true);
  });
});
