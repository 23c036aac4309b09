/**
 * ServiceCIDR objects from a real API server (KEP-1880, networking.k8s.io/v1): the apiserver makes
 * the default "kubernetes" ServiceCIDR from its --service-cluster-ip-range, an added one lets it
 * allocate ClusterIPs there, and `vipwasm rules --kubeconfig` drops traffic to unallocated
 * addresses of both (nftables cluster-ips-check), as kube-proxy does, whatever vipwasm's own
 * --service-cluster-ip-range says.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cluster, k8sToolchain } from '../../scripts/k8s/cluster.js';
import { until } from '../../scripts/k8s/proxies.js';
import { runCli } from '../cli/run-cli.js';

const tool = k8sToolchain();
if (!tool.ok) console.log(`ServiceCIDRs from a real API server skipped: ${tool.reason}`);

describe.skipIf(!tool.ok)('ServiceCIDRs from a real API server', () => {
  let dir: string;
  let cluster: Cluster;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vipwasm-servicecidr-'));
    cluster = await Cluster.start({ dir: join(dir, 'cluster'), serviceCIDR: '10.96.0.0/16,fd00:10:96::/112' });
  }, 120_000);

  afterAll(async () => {
    await cluster?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const nftables = async (family: '4' | '6') => {
    const r = await runCli(['rules', '--kubeconfig', cluster.kubeconfig, '--mode', 'nftables', '--ip-family', family, '--node-name', 'n1', '--service-cluster-ip-range', '10.200.0.0/16']);
    expect(r.code, r.stderr).toBe(0);
    return r.stdout;
  };

  it('drops traffic to unallocated addresses of the default and an added ServiceCIDR, and serves a Service allocated in it', async () => {
    expect(await nftables('4')).toContain('add rule ip kube-proxy cluster-ips-check ip daddr { 10.96.0.0/16 } drop');
    expect(await nftables('6')).toContain('add rule ip6 kube-proxy cluster-ips-check ip6 daddr { fd00:10:96::/112 } drop');
    await cluster.apply(JSON.stringify({ apiVersion: 'networking.k8s.io/v1', kind: 'ServiceCIDR', metadata: { name: 'extra' }, spec: { cidrs: ['198.19.0.0/24'] } }));
    // The apiserver accepts addresses in a ServiceCIDR once its controller has made it Ready.
    await until('a Service in the new ServiceCIDR', async () => {
      try {
        await cluster.apply(JSON.stringify({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'far', namespace: 'default' }, spec: { clusterIP: '198.19.0.10', ports: [{ port: 80 }] } }));
        return true;
      } catch {
        return false;
      }
    }, 30_000);
    const v4 = await nftables('4');
    // The API server's ServiceCIDRs by name ("extra", then the default "kubernetes"); vipwasm's own flag plays no part.
    expect(v4).toContain('add rule ip kube-proxy cluster-ips-check ip daddr { 198.19.0.0/24, 10.96.0.0/16 } drop');
    expect(v4).toContain('add element ip kube-proxy cluster-ips { 198.19.0.10 }');
    expect(v4).not.toContain('10.200.0.0/16');
  });
});
