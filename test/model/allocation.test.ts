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
