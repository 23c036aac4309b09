/** Allocation: stability across restarts beats hash collisions; the file store; option checks. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type KubeObject, MemoryAllocationStore, buildServiceModel, resolveModelOptions } from '../../host/model/index.js';
import { FileAllocationStore } from '../../host/sources/allocation-file.js';

const svc = (name: string): KubeObject => ({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'default' }, spec: { ports: [{ port: 80 }] } });
const ipOf = (objs: KubeObject[], name: string, store?: MemoryAllocationStore | FileAllocationStore): string => {
  const r = buildServiceModel(objs, { serviceClusterIPRanges: ['10.0.0.0/30'], ...(store ? { allocationStore: store } : {}) });
  return r.services.find((s) => s.name === name)!.clusterIPs[0]!;
};

let dirs: string[] = [];
afterEach(() => {
  dirs.forEach((d) => rmSync(d, { recursive: true, force: true }));
  dirs = [];
});

describe('allocation', () => {
  it('a Service keeps its remembered clusterIP even when a newcomer would hash onto it', () => {
    // /30 has two usable addresses; find a name that, without memory, would push "zz" off its address.
    const alone = ipOf([svc('zz')], 'zz');
    const rival = Array.from({ length: 50 }, (_, i) => `a${i}`).find((n) => ipOf([svc(n), svc('zz')], 'zz') !== alone);
    expect(rival).toBeDefined();
    const store = new MemoryAllocationStore();
    expect(ipOf([svc('zz')], 'zz', store)).toBe(alone);
    expect(ipOf([svc(rival!), svc('zz')], 'zz', store)).toBe(alone);
  });

  it('the file store survives a restart, writes atomically, and names a corrupt state file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vipwasm-alloc-'));
    dirs.push(dir);
    const first = ipOf([svc('zz')], 'zz', new FileAllocationStore(dir));
    const state = JSON.parse(readFileSync(join(dir, 'allocations.json'), 'utf8'));
    expect(state.clusterIPs['default/zz']).toEqual([first]);
    // A different name order and a fresh process: still the same address.
    const rival = Array.from({ length: 50 }, (_, i) => `a${i}`).find((n) => ipOf([svc(n), svc('zz')], 'zz') !== first)!;
    expect(ipOf([svc(rival), svc('zz')], 'zz', new FileAllocationStore(dir))).toBe(first);
    writeFileSync(join(dir, 'allocations.json'), '{ not json');
    expect(() => ipOf([svc('zz')], 'zz', new FileAllocationStore(dir))).toThrow(/allocation state .*allocations\.json is not valid JSON/);
  });

  it('does not rewrite the store when nothing changed', () => {
    const store = new MemoryAllocationStore();
    buildServiceModel([svc('a')], { allocationStore: store });
    buildServiceModel([svc('a')], { allocationStore: store });
    expect(store.saves).toBe(1);
  });

  it('checks the options and names the flag', () => {
    expect(() => resolveModelOptions({ serviceClusterIPRanges: ['10.96.0.0/33'] })).toThrow('--service-cluster-ip-range: invalid CIDR "10.96.0.0/33"');
    expect(() => resolveModelOptions({ serviceClusterIPRanges: ['10.96.0.0/12', '10.0.0.0/8'] })).toThrow('--service-cluster-ip-range: at most one CIDR per IP family');
    expect(() => resolveModelOptions({ nodePortRange: '40000-30000' })).toThrow('--service-node-port-range: invalid port range "40000-30000" (want e.g. 30000-32767)');
    expect(() => resolveModelOptions({ loadBalancerIPPool: ['198.18.0.9-198.18.0.1'] })).toThrow('--loadbalancer-ip-pool: invalid address range "198.18.0.9-198.18.0.1"');
    expect(() => resolveModelOptions({ nodeIPs: ['1.2.3'] })).toThrow('--node-ip: invalid IP address "1.2.3"');
  });
});

describe('objects from an API server (trustAllocations)', () => {
  const k3s = (extra: Record<string, unknown> = {}): KubeObject => ({
    apiVersion: 'v1', kind: 'Service', metadata: { name: 'kubernetes', namespace: 'default' },
    spec: { type: 'NodePort', clusterIP: '10.43.0.1', clusterIPs: ['10.43.0.1', 'fd00:43::1'], ipFamilies: ['IPv4', 'IPv6'], ipFamilyPolicy: 'RequireDualStack', ports: [{ name: 'https', port: 443, nodePort: 8443 }], ...extra },
  });

  it('keeps clusterIPs and nodePorts from another cluster’s ranges instead of rejecting them', () => {
    const local = buildServiceModel([k3s()], {});
    expect(local.model.servicePorts).toEqual([]);
    expect(local.diagnostics.length).toBeGreaterThan(0);
    const trusted = buildServiceModel([k3s()], { trustAllocations: true });
    expect(trusted.diagnostics).toEqual([]);
    expect(trusted.model.servicePorts[0]).toMatchObject({ clusterIPs: ['10.43.0.1', 'fd00:43::1'], nodePort: 8443 });
  });

  it('still names a missing range instead of crashing when a family has no clusterIP and no range', () => {
    const r = buildServiceModel([k3s({ clusterIP: undefined, clusterIPs: undefined })], { trustAllocations: true });
    expect(r.diagnostics.map((d) => d.message)).toEqual(['Invalid value: "IPv6": no --service-cluster-ip-range or ready ServiceCIDR for IPv6 to allocate a clusterIP from']);
  });

  it('warns when --node-name matches none of the Node objects', () => {
    const node: KubeObject = { apiVersion: 'v1', kind: 'Node', metadata: { name: 'worker-1' } };
    const r = buildServiceModel([node], { nodeName: 'laptop' });
    expect(r.diagnostics.map((d) => `${d.object}: ${d.message}`)).toEqual([
      'Node "laptop": not among the 1 Node object(s) in the input: no endpoint is local, and without --node-ip no NodePort is served',
    ]);
  });
});

describe('allocation invariants on random Service sets', () => {
  it('never hands one address or port to two Services, stays in range, and ignores input order', async () => {
    const fc = (await import('fast-check')).default;
    const { cidrContains } = await import('../../host/engine/address.js');
    const arbSvc = fc.record({
      name: fc.stringMatching(/^[a-z][a-z0-9]{0,5}$/),
      type: fc.constantFrom('ClusterIP', 'NodePort', 'LoadBalancer'),
      ports: fc.integer({ min: 1, max: 3 }),
    });
    fc.assert(
      fc.property(fc.uniqueArray(arbSvc, { selector: (s) => s.name, maxLength: 12 }), fc.integer(), (specs, seed) => {
        const objs: KubeObject[] = specs.map((s) => ({
          apiVersion: 'v1', kind: 'Service', metadata: { name: s.name, namespace: 'default' },
          spec: { type: s.type, ports: Array.from({ length: s.ports }, (_, i) => ({ name: `p${i}`, port: 80 + i })) },
        }));
        const opts = { serviceClusterIPRanges: ['10.0.0.0/28'], nodePortRange: '30000-30031', loadBalancerIPPool: ['198.18.0.0/30'] };
        const a = buildServiceModel(objs, opts);
        const shuffled = [...objs].sort(() => (seed = (seed * 1103515245 + 12345) | 0) & 1 ? 1 : -1);
        const b = buildServiceModel(shuffled, opts);
        expect(b.services).toEqual(a.services);
        const ips = a.services.flatMap((s) => s.clusterIPs);
        const ports = a.services.flatMap((s) => s.ports.map((p) => p.nodePort).filter(Boolean));
        const lbs = a.services.flatMap((s) => s.loadBalancerIngress);
        expect(new Set(ips).size).toBe(ips.length);
        expect(new Set(ports).size).toBe(ports.length);
        expect(new Set(lbs).size).toBe(lbs.length);
        for (const ip of ips) expect(cidrContains('10.0.0.0/28', ip) && ip !== '10.0.0.0' && ip !== '10.0.0.15').toBe(true);
        for (const p of ports) expect(p >= 30000 && p <= 30031).toBe(true);
        // Whatever did not fit is reported, not silently dropped.
        expect(a.services.length + a.diagnostics.filter((d) => d.severity === 'error').length).toBeGreaterThanOrEqual(specs.length);
      }),
      { numRuns: 150 },
    );
  });
});
