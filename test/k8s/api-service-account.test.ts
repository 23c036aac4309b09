/**
 * vipwasm as the ServiceAccount of deploy/rbac.yaml, with a token from the TokenRequest API
 * (`kubectl create token`): its ClusterRole is enough for every verb, and with one verb taken out
 * of it vipwasm says which resource and verb were forbidden, in the API server's words (as kubectl
 * prints them) — a one-shot verb exits 1, a watching verb keeps serving and retrying — rather
 * than hanging or printing a stack trace.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeKubeconfig } from '../../scripts/k8s/cluster.js';
import { until } from '../../scripts/k8s/proxies.js';
import { type ApiCluster, NODE, createWebPod, ips, startApiCluster, vipwasm, waitForSlices, webClusterIP, webService } from './api-cluster.js';
import { VipwasmProcess } from './api-process.js';
import { skipReason } from './following.js';

const skip = skipReason(false);
if (skip) console.log(`ServiceAccount suite skipped: ${skip}`);

const USER = 'system:serviceaccount:kube-system:vipwasm';
const rbacFile = join(import.meta.dirname, '..', '..', 'deploy', 'rbac.yaml');

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The ClusterRole of deploy/rbac.yaml with `verb` removed from `resource` (every other rule as shipped). */
function roleWithout(resource: 'nodes' | 'endpointslices', verb: string): object {
  const role = parseAllDocuments(readFileSync(rbacFile, 'utf8')).map((d) => d.toJS() as { kind: string; rules?: { resources: string[]; verbs: string[] }[] }).find((o) => o.kind === 'ClusterRole')!;
  // A rule that also names other resources is split, so only `resource` loses the verb.
  const rules = role.rules!.flatMap((r) => {
    if (!r.resources.includes(resource)) return [r];
    const others = r.resources.filter((x) => x !== resource);
    const without = { ...r, resources: [resource], verbs: r.verbs.filter((v) => v !== verb) };
    return others.length ? [{ ...r, resources: others }, without] : [without];
  });
  return { ...role, rules };
}

describe.skipIf(skip !== undefined)('as the ServiceAccount of deploy/rbac.yaml', () => {
  let api: ApiCluster;
  let kubeconfig: string;
  let clusterIP: string;
  const source = () => ['--kubeconfig', kubeconfig, '--node-name', NODE.name];

  /** Replaces the ClusterRole and waits until the authorizer answers `can-i verb resource` with `allowed`. */
  async function setRole(role: object, check: { verb: string; resource: string; allowed: boolean }): Promise<void> {
    await api.cluster.kubectl(['apply', '-f', '-'], JSON.stringify(role));
    await until(`RBAC: can-i ${check.verb} ${check.resource} = ${check.allowed}`, async () => {
      // kubectl prints yes and exits 0, or prints no and exits 1.
      const allowed = await api.cluster.kubectl(['auth', 'can-i', check.verb, check.resource, '--as', USER]).then((out) => out.trim() === 'yes', () => false);
      return allowed === check.allowed;
    }, 20_000);
  }

  beforeAll(async () => {
    api = await startApiCluster('api-sa');
    await api.cluster.kubectl(['apply', '-f', rbacFile]);
    const token = (await api.cluster.kubectl(['create', 'token', 'vipwasm', '-n', 'kube-system'])).trim();
    kubeconfig = join(api.dir, 'vipwasm-sa.kubeconfig');
    writeKubeconfig(kubeconfig, api.cluster.server, join(api.cluster.options.dir, 'pki', 'ca.crt'), token);
    await api.cluster.apply(JSON.stringify(webService()));
    await createWebPod(api.cluster, 'web-a', { ready: true });
    await createWebPod(api.cluster, 'web-b', { ready: true });
    await waitForSlices(api.cluster, ['web-a', 'web-b']);
    clusterIP = await webClusterIP(api.cluster);
  }, 180_000);
  afterAll(async () => {
    await api?.stop();
  });

  it('its ClusterRole is enough: get, simulate and serve work', async () => {
    const get = await vipwasm(['get', 'endpoints', ...source()]);
    expect(get.stderr).toBe('');
    expect(get.code).toBe(0);
    expect(get.stdout).toMatch(new RegExp(`\\nweb\\s+${ips(['web-a', 'web-b']).map((ip) => `${ip.replaceAll('.', '\\.')}:8080`).join(',')}`));
    const sim = await vipwasm(['simulate', ...source(), '--to', `${clusterIP}:80`, '--json']);
    expect(sim.code, sim.stderr).toBe(0);
    expect((JSON.parse(sim.stdout) as { backends: string[] }).backends.sort()).toEqual(ips(['web-a', 'web-b']).map((ip) => `${ip}:8080`));

    const serve = new VipwasmProcess(['serve', ...source(), '--listen', '127.0.0.1:0']);
    try {
      const [, port] = await serve.waitFor(/on http:\/\/127\.0\.0\.1:(\d+)\/snapshot/);
      expect((await fetch(`http://127.0.0.1:${port}/snapshot`)).status).toBe(200);
      // Watches run under the same identity: give them time to fail if they would.
      await new Promise((r) => setTimeout(r, 1500));
      expect(serve.lines.filter((l) => /error|forbidden/i.test(l))).toEqual([]);
    } finally {
      expect(await serve.stop()).toBe(0);
    }
  }, 60_000);

  it('without list on nodes, get and simulate exit 1 with the API server’s reason, at once', async () => {
    await setRole(roleWithout('nodes', 'list'), { verb: 'list', resource: 'nodes', allowed: false });
    // vipwasm lists only its own Node (fieldSelector metadata.name), so the server names it.
    const forbidden = `nodes "${NODE.name}" is forbidden: User "${USER}" cannot list resource "nodes" in API group "" at the cluster scope`;
    for (const args of [['get', 'services,endpoints'], ['simulate', '--to', `${clusterIP}:80`]]) {
      const started = performance.now();
      const r = await vipwasm([...args, ...source()]);
      expect(r.code, args[0]).toBe(1);
      expect(r.stdout, args[0]).toBe('');
      expect(r.stderr, args[0]).toBe(`error: API server ${api.cluster.server}: /api/v1/nodes: HTTP 403: ${forbidden}\n`);
      expect(performance.now() - started, args[0]).toBeLessThan(20_000);
    }
  }, 90_000);

  it('without watch on endpointslices, get still works; serve says which watch was forbidden, keeps serving, backs off, recovers', async () => {
    await setRole(roleWithout('endpointslices', 'watch'), { verb: 'watch', resource: 'endpointslices.discovery.k8s.io', allowed: false });
    // A one-shot verb only lists, as kubectl get does.
    const get = await vipwasm(['get', 'endpoints', ...source()]);
    expect(get.stderr).toBe('');
    expect(get.code).toBe(0);

    const serve = new VipwasmProcess(['serve', ...source(), '--listen', '127.0.0.1:0']);
    try {
      const [, port] = await serve.waitFor(/on http:\/\/127\.0\.0\.1:(\d+)\/snapshot/);
      const forbidden = `endpointslices.discovery.k8s.io is forbidden: User "${USER}" cannot watch resource "endpointslices" in API group "discovery.k8s.io" at the cluster scope`;
      const refused = (ms: number) => `error: API server ${api.cluster.server}: /apis/discovery.k8s.io/v1/endpointslices: HTTP 403: ${forbidden}; retrying in ${ms} ms, serving the last state`;
      await serve.waitFor(new RegExp(`^${escape(refused(1000))}$`));
      // Each retry is refused the watch again: the delay grows, the reason stays.
      await serve.waitFor(new RegExp(`^${escape(refused(2000))}$`), 0, 15_000);
      expect(serve.lines.some((l) => /^\s+at /.test(l))).toBe(false);
      expect((await fetch(`http://127.0.0.1:${port}/snapshot`)).status).toBe(200);

      // Given watch again, it follows changes on its next retry.
      await setRole(roleWithout('endpointslices', 'none'), { verb: 'watch', resource: 'endpointslices.discovery.k8s.io', allowed: true });
      const mark = serve.lines.length;
      await createWebPod(api.cluster, 'web-c', { ready: true });
      await waitForSlices(api.cluster, ['web-a', 'web-b', 'web-c']);
      await serve.waitFor(/^snapshot version \d+ /, mark, 40_000);
      expect(serve.child.exitCode).toBeNull();
    } finally {
      expect(await serve.stop()).toBe(0);
    }
  }, 120_000);
});
