/** `vipwasm get`: kubectl-style tables and JSON from manifests, exit codes and error messages. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveSourceOptions } from '../../host/cli/source-options.js';
import { runCli } from './run-cli.js';

const tmp = mkdtempSync(join(tmpdir(), 'vipwasm-get-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const hostnames = ['-f', 'examples/hostnames.yaml', '--service-cluster-ip-range', '127.96.0.0/16'];

describe('vipwasm get', () => {
  it('prints the seeds’ hostnames Service and its endpoints like kubectl', async () => {
    const r = await runCli(['get', 'svc,ep', ...hostnames]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(
      'NAME                TYPE        CLUSTER-IP     EXTERNAL-IP   PORT(S)\n' +
        'service/hostnames   ClusterIP   127.96.59.63   <none>        80/TCP\n' +
        '\n' +
        'NAME                  ENDPOINTS\n' +
        'endpoints/hostnames   127.244.0.1:9376,127.244.0.2:9376,127.244.0.3:9376\n',
    );
  });

  it('-o wide adds the selector; -o json prints a List of Service objects with allocations filled in', async () => {
    const wide = await runCli(['get', 'services', '-o', 'wide', ...hostnames]);
    expect(wide.stdout.split('\n')[0]).toMatch(/PORT\(S\)\s+SELECTOR$/);
    expect(wide.stdout).toContain('app=hostnames');
    const json = await runCli(['get', 'services', '-o', 'json', '-f', 'examples/nodeport.yaml']);
    const list = JSON.parse(json.stdout);
    expect(list.kind).toBe('List');
    expect(list.items[0].spec).toMatchObject({ type: 'NodePort', ports: [{ port: 80, nodePort: 30007, protocol: 'TCP', targetPort: 80 }] });
    expect(list.items[0].spec.clusterIP).toMatch(/^10\.(9[6-9]|10[0-9]|11[01])\./);
    const eps = JSON.parse((await runCli(['get', 'endpoints', '-o', 'json', '-f', 'examples/nodeport.yaml'])).stdout);
    expect(eps.items[0].subsets[0].addresses.map((a: { ip: string }) => a.ip)).toEqual(['127.244.1.1', '127.244.1.2']);
  });

  it('loads every example without a problem; LoadBalancer is <pending> without a pool and gets one from it', async () => {
    const r = await runCli(['get', 'services', '-f', 'examples']);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/exampleloadbalancerservice\s+LoadBalancer\s+\S+\s+<pending>\s+8080:\d+\/TCP/);
    expect(r.stdout).toMatch(/my-service\s+ExternalName\s+<none>\s+my\.database\.example\.com\s+<none>/);
    const pooled = await runCli(['get', 'services', '-f', 'examples/loadbalancer.yaml', '--loadbalancer-ip-pool', '127.240.0.0/28']);
    expect(pooled.stdout).toMatch(/exampleloadbalancerservice\s+LoadBalancer\s+\S+\s+127\.240\.0\.1\s/);
  });

  it('prints the valid objects, reports the invalid one kubectl-style, and exits 2', async () => {
    const f = join(tmp, 'mixed.yaml');
    writeFileSync(f, 'apiVersion: v1\nkind: Service\nmetadata: {name: ok}\nspec: {ports: [{port: 80}]}\n---\napiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec:\n  type: NodePort\n  ports: [{name: a, port: 80}, {name: b, port: 81, nodePort: 29999}]\n');
    const r = await runCli(['get', 'svc', '-f', f]);
    expect(r.code).toBe(2);
    expect(r.stdout).toMatch(/^NAME\s+TYPE.*\nok\s+ClusterIP/);
    expect(r.stderr).toBe(`error: Service "default/web" (${f}:6): spec.ports[1].nodePort: Invalid value: 29999: provided port is not in the valid range. The range of valid ports is 30000-32767\n`);
  });

  it('rejects bad usage with exit 2 and a message naming the problem', async () => {
    expect(await runCli(['get', 'pods', ...hostnames])).toMatchObject({ code: 2, stderr: 'error: get: unknown resource type "pods" (want services or endpoints)\n' });
    expect(await runCli(['get', 'svc'])).toMatchObject({ code: 2, stderr: 'error: no objects to read: give -f <file|dir> or --kubeconfig <path>\n' });
    expect(await runCli(['get', 'svc', ...hostnames, '-o', 'yaml'])).toMatchObject({ code: 2, stderr: 'error: --output: unsupported format "yaml" (want wide or json)\n' });
    expect(await runCli(['get', 'svc', '-f', 'examples', '--service-node-port-range', '3-2'])).toMatchObject({ code: 2, stderr: 'error: --service-node-port-range: invalid port range "3-2" (want e.g. 30000-32767)\n' });
    expect(await runCli(['get', 'svc', '-f', 'examples', '--scheduler', 'fast'])).toMatchObject({ code: 2 });
    const missing = await runCli(['get', 'svc', '-f', join(tmp, 'none.yaml')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('cannot read: no such file or directory');
  });

  it('--state-dir keeps allocations across runs', async () => {
    const state = join(tmp, 'state');
    const a = await runCli(['get', 'svc', ...hostnames, '--state-dir', state]);
    const saved = JSON.parse(readFileSync(join(state, 'allocations.json'), 'utf8'));
    expect(saved.clusterIPs['default/hostnames']).toEqual(['127.96.59.63']);
    // Pin a different address in the state file: the next run honours it.
    saved.clusterIPs['default/hostnames'] = ['127.96.1.2'];
    writeFileSync(join(state, 'allocations.json'), JSON.stringify(saved));
    const b = await runCli(['get', 'svc', ...hostnames, '--state-dir', state]);
    expect(a.stdout).toContain('127.96.59.63');
    expect(b.stdout).toContain('127.96.1.2');
  });
});

describe('vipwasm get --kubeconfig', () => {
  it('lists Services and EndpointSlices from an API server, keeping its clusterIPs and nodePorts', async () => {
    const { FakeApiServer } = await import('../sources/fake-apiserver.js');
    const api = new FakeApiServer();
    await api.start();
    try {
      api.apply({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'kubernetes', namespace: 'default' }, spec: { type: 'ClusterIP', clusterIP: '10.43.0.1', clusterIPs: ['10.43.0.1'], ports: [{ name: 'https', port: 443, targetPort: 6443, protocol: 'TCP' }] } });
      api.apply({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'shop' }, spec: { type: 'NodePort', clusterIP: '10.43.7.7', clusterIPs: ['10.43.7.7'], ports: [{ port: 80, targetPort: 8080, nodePort: 31080, protocol: 'TCP' }] } });
      api.apply({ apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: 'kubernetes', namespace: 'default', labels: { 'kubernetes.io/service-name': 'kubernetes' } }, addressType: 'IPv4', ports: [{ name: 'https', port: 6443, protocol: 'TCP' }], endpoints: [{ addresses: ['192.168.0.2'], conditions: { ready: true } }] });
      api.apply({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1' }, status: { addresses: [{ type: 'InternalIP', address: '192.168.0.2' }] } });
      const kubeconfig = join(tmp, 'kubeconfig');
      writeFileSync(kubeconfig, [
        'apiVersion: v1', 'kind: Config', 'current-context: fake',
        'clusters: [{name: fake, cluster: {server: "http://127.0.0.1:' + api.port + '", insecure-skip-tls-verify: true}}]',
        'users: [{name: fake, user: {token: test}}]', 'contexts: [{name: fake, context: {cluster: fake, user: fake}}]', '',
      ].join('\n'));
      const r = await runCli(['get', 'svc,ep', '--kubeconfig', kubeconfig, '--node-name', 'n1']);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(
        'NAMESPACE   NAME                 TYPE        CLUSTER-IP   EXTERNAL-IP   PORT(S)\n' +
          'default     service/kubernetes   ClusterIP   10.43.0.1    <none>        443/TCP\n' +
          'shop        service/web          NodePort    10.43.7.7    <none>        80:31080/TCP\n' +
          '\n' +
          'NAMESPACE   NAME                   ENDPOINTS\n' +
          'default     endpoints/kubernetes   192.168.0.2:6443\n' +
          'shop        endpoints/web          <none>\n',
      );
      expect(await runCli(['get', 'svc', '--kubeconfig', join(tmp, 'missing-kubeconfig')])).toMatchObject({ code: 2 });
      // A one-shot get fails at the first API error with one error line and exit 1, no retrying.
      api.failNext('/api/v1/services', 1, 401, 'Unauthorized');
      expect(await runCli(['get', 'svc', '--kubeconfig', kubeconfig, '--node-name', 'n1'])).toEqual({
        code: 1, stdout: '', stderr: `error: API server http://127.0.0.1:${api.port}: /api/v1/services: HTTP 401: Unauthorized\n`,
      });
    } finally {
      await api.stop();
    }
  });
});

describe('source selection', () => {
  it('reads from the API server in-cluster when neither -f nor --kubeconfig is given inside a Pod', () => {
    const saved = process.env['KUBERNETES_SERVICE_HOST'];
    process.env['KUBERNETES_SERVICE_HOST'] = '10.96.0.1';
    try {
      const s = resolveSourceOptions({});
      expect(s.kubeconfig).toBe('');
      expect(s.paths).toEqual([]);
      expect(s.modelOptions.trustAllocations).toBe(true);
      expect(resolveSourceOptions({ filename: ['examples'] }).kubeconfig).toBeUndefined();
    } finally {
      if (saved === undefined) delete process.env['KUBERNETES_SERVICE_HOST'];
      else process.env['KUBERNETES_SERVICE_HOST'] = saved;
    }
  });
});
