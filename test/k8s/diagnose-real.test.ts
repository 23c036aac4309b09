/**
 * `vipwasm diagnose --kubeconfig` against a real API server and the real EndpointSlice controller
 * (scripts/k8s/cluster.ts): Pods are listed from the API (kube-proxy's own sources never read
 * them), so a Service whose Pod is not Ready is named with that Pod, and the verdict follows the
 * Pod's status as kubelet would report it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cluster, k8sToolchain } from '../../scripts/k8s/cluster.js';
import { runCli } from '../cli/run-cli.js';

const tool = k8sToolchain();
if (!tool.ok) console.log(`diagnose against a real API server skipped: ${tool.reason}`);

describe.skipIf(!tool.ok)('vipwasm diagnose --kubeconfig, against a real API server', () => {
  let dir: string;
  let cluster: Cluster;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vipwasm-diagnose-k8s-'));
    cluster = await Cluster.start({ dir: join(dir, 'cluster') });
    const items = [
      { apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-1' }, status: { addresses: [{ type: 'InternalIP', address: '198.18.0.31' }] } },
      { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'default' }, spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] } },
      { apiVersion: 'v1', kind: 'Service', metadata: { name: 'lost', namespace: 'default' }, spec: { selector: { app: 'nothing' }, ports: [{ port: 80 }] } },
      {
        apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web-1', namespace: 'default', labels: { app: 'web' } },
        spec: { nodeName: 'node-1', containers: [{ name: 'c', image: 'registry.invalid/none', ports: [{ name: 'http', containerPort: 8080 }] }] },
      },
    ];
    await cluster.kubectl(['create', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items }));
    await cluster.setPodStatus('default', 'web-1', { ips: ['198.18.5.1'], ready: false });
  }, 120_000);

  afterAll(async () => {
    await cluster?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('names the Pod that is not Ready and the selector that matches nothing, then clears once the Pod is Ready', async () => {
    const before = await runCli(['diagnose', '--kubeconfig', cluster.kubeconfig, '--node-name', 'node-1', '-o', 'json']);
    expect(before.code, before.stderr).toBe(3);
    const found = (JSON.parse(before.stdout) as { findings: { code: string; object: string; message: string }[] }).findings;
    expect(found.map((f) => [f.code, f.object])).toEqual(
      expect.arrayContaining([['NoReadyPod', 'Service "default/web"'], ['SelectorMatchesNoPod', 'Service "default/lost"']]),
    );
    expect(found.find((f) => f.code === 'NoReadyPod')!.message).toContain('web-1 (Ready=False');

    await cluster.setPodStatus('default', 'web-1', { ips: ['198.18.5.1'], ready: true });
    const after = await runCli(['diagnose', 'web', '--kubeconfig', cluster.kubeconfig, '--node-name', 'node-1']);
    expect(after).toMatchObject({ code: 0, stdout: 'No problems found.\n' });
  });
});
