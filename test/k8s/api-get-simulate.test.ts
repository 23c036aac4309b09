/**
 * `vipwasm get services,endpoints` and `vipwasm simulate` with `--kubeconfig` against a real API
 * server, after each change of the web scenario (creates, a scale-up, readiness flips, a
 * terminating Pod, the fallback to it, an update, a delete): each run must show what the real
 * EndpointSlice controller wrote at that moment.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { k8sToolchain } from '../../scripts/k8s/cluster.js';
import { type ApiCluster, NODE, SERVICE_CIDR, TARGET_PORT, ips, startApiCluster, vipwasm, webClusterIP } from './api-cluster.js';
import { WEB_STEPS, applyStep, servedIPs } from './web-scenario.js';

const tool = k8sToolchain();
if (!tool.ok) console.log(`get/simulate against a real API server skipped: ${tool.reason}`);

interface ListOutput {
  items: { kind: string; metadata: { name: string }; spec?: { clusterIP?: string; ports?: { port: number }[] }; subsets?: { addresses?: { ip: string }[]; notReadyAddresses?: { ip: string }[] }[] }[];
}

describe.skipIf(!tool.ok)('get and simulate --kubeconfig follow a real API server', () => {
  let api: ApiCluster;
  const source = () => ['--kubeconfig', api.cluster.kubeconfig, '--node-name', NODE.name];

  beforeAll(async () => {
    api = await startApiCluster('api-get');
  }, 120_000);
  afterAll(async () => {
    await api?.stop();
  });

  it('get services,endpoints and simulate show each change of the web Service', async () => {
    let clusterIP = '';
    for (const step of WEB_STEPS) {
      await applyStep(api.cluster, step);
      if (step.port !== null) clusterIP ||= await webClusterIP(api.cluster);
      const port = step.port ?? 81;
      const [get, sim] = await Promise.all([
        vipwasm(['get', 'services,endpoints', '-o', 'json', ...source()]),
        vipwasm(['simulate', ...source(), '--to', `${clusterIP}:${port}`, '--clients', '12', '--requests', '24', '--json']),
      ]);
      expect(get.code, `${step.name}: ${get.stderr}`).toBe(0);
      const items = (JSON.parse(get.stdout) as ListOutput).items.filter((i) => i.metadata.name === 'web');
      if (step.port === null) {
        expect(items, step.name).toEqual([]);
        expect(sim.code, step.name).toBe(2);
        expect(sim.stderr, step.name).toContain(`no Service port matches ${clusterIP}:81/TCP`);
        continue;
      }
      const svc = items.find((i) => i.kind === 'Service')!;
      expect(svc.spec, step.name).toMatchObject({ clusterIP, ports: [{ port: step.port }] });
      expect(clusterIP.startsWith(SERVICE_CIDR.split('.').slice(0, 2).join('.') + '.'), clusterIP).toBe(true);
      const subsets = items.find((i) => i.kind === 'Endpoints')!.subsets ?? [];
      const listed = (k: 'addresses' | 'notReadyAddresses') => subsets.flatMap((s) => s[k] ?? []).map((a) => a.ip).sort();
      expect(listed('addresses'), step.name).toEqual(ips(step.ready));
      const known = [...new Set([...WEB_STEPS.slice(0, WEB_STEPS.indexOf(step) + 1).flatMap((s) => [...s.ready, ...s.servingTerminating])])];
      expect(listed('notReadyAddresses'), step.name).toEqual(ips(known.filter((p) => !step.ready.includes(p))));

      expect(sim.code, `${step.name}: ${sim.stderr}`).toBe(0);
      const report = JSON.parse(sim.stdout) as { service: string; backends: string[]; counts: Record<string, number> };
      expect(report.service, step.name).toBe('default/web:http');
      const want = servedIPs(step).map((ip) => `${ip}:${TARGET_PORT}`);
      // `backends` lists every endpoint of the port (not-ready ones too, for the engine's flags);
      // round robin over 24 new connections gives each served Pod some, and nobody else any.
      expect(Object.entries(report.counts).filter(([, n]) => n > 0).map(([b]) => b).sort(), step.name).toEqual(want);
      expect(Object.values(report.counts).reduce((a, b) => a + b, 0), step.name).toBe(24);
    }
  }, 180_000);

  it('get prints the kubectl table of the API server’s own Service, and warns when --node-name is no Node', async () => {
    const got = await vipwasm(['get', 'services', '--kubeconfig', api.cluster.kubeconfig, '--node-name', 'laptop']);
    expect(got.code, got.stderr).toBe(0);
    expect(got.stderr).toBe(
      'Warning: Node "laptop": not found on the API server (check --node-name): no endpoint is local, and NodePorts are served only on --node-ip addresses\n',
    );
    // The API server's own `kubernetes` Service, with the first address of the service CIDR.
    expect(got.stdout).toMatch(/^NAME\s+TYPE\s+CLUSTER-IP\s+EXTERNAL-IP\s+PORT\(S\)\n/);
    expect(got.stdout).toMatch(/\nkubernetes\s+ClusterIP\s+198\.19\.0\.1\s+<none>\s+443\/TCP/);
  });
});
