/**
 * ApiServerSource against a loopback fake speaking the list/watch protocol, kept only for what a
 * real API server cannot be made to do on demand or cannot show. Everything a real one produces
 * is tested against one (test/k8s/: creates, updates, deletes, readiness and terminating Pods from
 * the real EndpointSlice controller; an apiserver restart; a relist after etcd compaction; a
 * forbidden list or watch; a missing own Node). Here, because:
 * - the requests themselves (list resourceVersion reused by the watch, allowWatchBookmarks, the
 *   Node field selector, no relist after a BOOKMARK, no watch left after close()) are visible
 *   only to the server that received them;
 * - a BOOKMARK at a chosen moment: the real apiserver sends them on its own clock (about a minute);
 * - HTTP 500 on the next N requests: a healthy real apiserver has no way to fail on demand, and
 *   this is what shows the backoff doubling to its cap;
 * - an ERROR 410 event on an open stream: the real one sends it when a watcher falls out of the
 *   watch cache's window, which a test cannot time;
 * - nothing listening at all, and kubeconfig loading, need no server.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildServiceModel, dumpServiceModel } from '../../host/model/index.js';
import { ApiServerSource, loadKubeConfig } from '../../host/sources/apiserver.js';
import type { SourceSnapshot } from '../../host/sources/source.js';
import { FakeApiServer } from './fake-apiserver.js';

/** The resources the source lists and watches: Services, EndpointSlices, Nodes and ServiceCIDRs. */
const WATCHED = 4;

const service = (name: string, clusterIP: string) => ({
  apiVersion: 'v1', kind: 'Service',
  metadata: { name, namespace: 'default' },
  spec: { clusterIP, clusterIPs: [clusterIP], type: 'ClusterIP', ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }] },
});
const slice = (svc: string, ips: string[]) => ({
  apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
  metadata: { name: `${svc}-1`, namespace: 'default', labels: { 'kubernetes.io/service-name': svc } },
  addressType: 'IPv4',
  ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
  endpoints: ips.map((ip) => ({ addresses: [ip], conditions: { ready: true }, nodeName: 'node-1' })),
});
const node = (name: string, ip: string) => ({
  apiVersion: 'v1', kind: 'Node', metadata: { name }, status: { addresses: [{ type: 'InternalIP', address: ip }] },
});

/** Backends of each service port, e.g. `default/web:http=10.0.0.1:8080,10.0.0.2:8080`. */
function summary(s: SourceSnapshot): string {
  const { model } = buildServiceModel(s.objects, { nodeName: 'node-1' });
  return [`nodeIPs=${model.nodeIPs.join(',')}`, ...model.servicePorts.map((p) => `${p.namespace}/${p.name}:${p.portName}=${p.backends.map((b) => `${b.ip}:${b.port}`).join(',')}`)].join(' ');
}

async function until(source: ApiServerSource, what: string, pred: (s: SourceSnapshot) => boolean, timeoutMs = 8000): Promise<SourceSnapshot> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (pred(source.current)) return source.current;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out waiting for ${what}; last: ${summary(source.current)} diagnostics=${JSON.stringify(source.current.diagnostics)}`);
}

describe('ApiServerSource', () => {
  let api: FakeApiServer;
  let source: ApiServerSource | undefined;

  beforeEach(async () => {
    api = new FakeApiServer();
    await api.start();
    api.apply(service('web', '10.96.0.10'));
    api.apply(slice('web', ['10.244.1.1', '10.244.2.1']));
    api.apply(node('node-1', '192.168.0.2'));
    api.apply(node('node-2', '192.168.0.3'));
  });
  afterEach(async () => {
    await source?.close();
    source = undefined;
    await api.stop();
  });

  function open(): ApiServerSource {
    source = new ApiServerSource({
      kubeConfig: api.kubeConfig(), nodeName: 'node-1', backoffBaseMs: 50, backoffMaxMs: 200, debounceMs: 10,
      startTimeoutMs: 5000, delayFn: (ms) => new Promise((r) => setTimeout(r, Math.min(ms, 50))),
    });
    return source;
  }

  it('lists every resource, watches from the list resourceVersion, and only its own Node', async () => {
    const first = await open().start();
    expect(first.healthy).toBe(true);
    expect(first.objects.map((o) => `${o.kind}/${o.metadata?.name}`).sort()).toEqual(['EndpointSlice/web-1', 'Node/node-1', 'Service/web']);
    expect(summary(first)).toBe('nodeIPs=192.168.0.2 default/web:http=10.244.1.1:8080,10.244.2.1:8080');
    await until(source!, 'every watch', () => api.watchCount === WATCHED);
    expect(api.requests.filter((r) => r.includes('watch=true')).every((r) => /resourceVersion=104/.test(r) && r.includes('allowWatchBookmarks=true'))).toBe(true);
    expect(api.requests.some((r) => r.startsWith('GET /api/v1/nodes?') && r.includes('fieldSelector=metadata.name%3Dnode-1'))).toBe(true);
  });

  it('a BOOKMARK changes nothing; the re-watch after a clean end starts from its resourceVersion, without relisting', async () => {
    await open().start();
    await until(source!, 'watches', () => api.watchCount === WATCHED);
    const seen = api.requests.length;
    const revision = source!.current.revision;
    api.bookmark();
    const bookmarkRV = api.resourceVersion;
    await new Promise((r) => setTimeout(r, 100));
    expect(source!.current.revision).toBe(revision); // a BOOKMARK changes no object
    api.endWatches(); // a clean end after the BOOKMARK, as the API server's watch timeout does
    await until(source!, 'rewatch', () => api.watchCount === WATCHED && api.requests.slice(seen).filter((r) => r.includes('watch=true')).length >= WATCHED);
    const after = api.requests.slice(seen);
    expect(after.filter((r) => !r.includes('watch=true'))).toEqual([]);
    const rewatches = after.filter((r) => r.includes('watch=true'));
    expect(rewatches.length).toBeGreaterThanOrEqual(WATCHED);
    for (const r of rewatches) expect(r).toContain(`resourceVersion=${bookmarkRV}`);
  });

  it('backs off on errors: the retry delay doubles up to its maximum, the error is reported, then it recovers', async () => {
    await open().start();
    await until(source!, 'watches', () => api.watchCount === WATCHED);
    const messages: string[] = [];
    source!.subscribe((s) => {
      const d = s.diagnostics.find((x) => x.field === '/api/v1/services');
      if (d && messages.at(-1) !== d.message) messages.push(d.message);
    });
    api.applySilently(slice('web', ['10.244.6.6']));
    api.failNext('/api/v1/services', 4, 500, 'etcdserver: request timed out');
    api.expire(); // every informer relists; the Service list fails four times
    const expected = [50, 100, 200].map((ms) => `HTTP 500: etcdserver: request timed out; retrying in ${ms} ms, serving the last state`);
    await until(source!, 'recovery', (s) => messages.includes(expected[2]!) && s.healthy && s.diagnostics.length === 0 && summary(s).includes('10.244.6.6')).catch((e: Error) => {
      throw new Error(`${e.message}; messages=${JSON.stringify(messages)}`);
    });
    // Four failures: 50, 100, 200 ms, then 200 again (capped; an unchanged report is not republished).
    // Snapshots are published debounced (10 ms here), so on a loaded machine a report can be
    // replaced before it is published: what was published is those reports in that order, up to
    // the capped one.
    expect(messages.length).toBeGreaterThanOrEqual(1);
    expect(messages).toEqual(expected.filter((m) => messages.includes(m)));
    expect(messages.at(-1)).toBe(expected[2]);
    // The list before the expiry, four failed relists, one that succeeded.
    expect(api.requests.filter((r) => r.split('?')[0] === 'GET /api/v1/services' && !r.includes('watch=')).length).toBe(6);
  });

  it('relists after an ERROR 410 event, picking up changes whose events were compacted away', async () => {
    await open().start();
    await until(source!, 'watches', () => api.watchCount === WATCHED);
    api.applySilently(slice('web', ['10.244.9.9']));
    api.deleteSilently('Node', 'node-1');
    api.applySilently(node('node-1', '192.168.0.9'));
    const listsBefore = api.requests.filter((r) => !r.includes('watch=')).length;
    api.expire();
    await until(source!, 'relist', (s) => summary(s) === 'nodeIPs=192.168.0.9 default/web:http=10.244.9.9:8080');
    expect(api.requests.filter((r) => !r.includes('watch=')).length).toBeGreaterThan(listsBefore);
    expect(source!.current.healthy).toBe(true);
  });

  it('keeps objects slim, from the list and from watch events: no managedFields, no last-applied annotation, other annotations kept', async () => {
    const bookkeeping = (o: ReturnType<typeof service>, annotations: Record<string, string>) => ({
      ...o,
      metadata: {
        ...o.metadata, creationTimestamp: '2026-12-07T00:00:00Z', annotations,
        managedFields: [{ manager: 'kubectl', operation: 'Apply', apiVersion: 'v1', fieldsType: 'FieldsV1', fieldsV1: { 'f:spec': { 'f:ports': {} } } }],
      },
    });
    const lastApplied = { 'kubectl.kubernetes.io/last-applied-configuration': '{"apiVersion":"v1","kind":"Service"}' };
    api.applySilently(bookkeeping(service('web', '10.96.0.10'), { ...lastApplied, 'example.com/keep': 'yes' }));
    const first = await open().start();
    const listed = first.objects.find((o) => o.kind === 'Service')!;
    expect(listed.metadata).not.toHaveProperty('managedFields');
    expect(listed.metadata?.annotations).toEqual({ 'example.com/keep': 'yes' });
    // Plain JSON, as from a file: the typed client's Date is a string again, and kind is set.
    expect(Date.parse(listed.metadata?.['creationTimestamp'] as string)).toBe(Date.parse('2026-12-07T00:00:00Z'));
    expect(listed.apiVersion).toBe('v1');
    await until(source!, 'watches', () => api.watchCount === WATCHED);
    api.apply(bookkeeping(service('api', '10.96.0.11'), lastApplied));
    const watched = await until(source!, 'the watched Service', (s) => s.objects.some((o) => o.metadata?.name === 'api'));
    const api1 = watched.objects.find((o) => o.metadata?.name === 'api')!;
    expect(api1.metadata).not.toHaveProperty('managedFields');
    expect(api1.metadata).not.toHaveProperty('annotations');
    expect(api1.kind).toBe('Service');
  });

  it('close() leaves no watch open, even one still connecting when it was called', async () => {
    // Close right as start() resolves: the watches are being opened at that moment.
    await open().start();
    await source!.close();
    await new Promise((r) => setTimeout(r, 300));
    expect(api.watchCount).toBe(0);
  });

  it('fails start() with the server named when nothing answers', async () => {
    const port = api.port;
    await api.stop();
    const s = new ApiServerSource({ kubeConfig: api.kubeConfig(), backoffBaseMs: 20, backoffMaxMs: 50, startTimeoutMs: 300 });
    const refused = `connect ECONNREFUSED 127.0.0.1:${port}`;
    await expect(s.start()).rejects.toThrow(
      `API server http://127.0.0.1:${port}: not synced after 300 ms (Services: ${refused}; EndpointSlices: ${refused}; Nodes: ${refused}; ServiceCIDRs: ${refused})`,
    );
    await api.start(port);
  });

  it('uses the in-cluster service account when KUBERNETES_SERVICE_HOST is set and no kubeconfig is given', () => {
    const saved = { host: process.env['KUBERNETES_SERVICE_HOST'], port: process.env['KUBERNETES_SERVICE_PORT'] };
    process.env['KUBERNETES_SERVICE_HOST'] = 'fd00:10:96::1';
    process.env['KUBERNETES_SERVICE_PORT'] = '443';
    try {
      const kc = loadKubeConfig();
      expect(kc.getCurrentCluster()).toMatchObject({ server: 'https://[fd00:10:96::1]:443', caFile: '/var/run/secrets/kubernetes.io/serviceaccount/ca.crt' });
      expect(kc.getCurrentUser()?.authProvider?.config).toEqual({ tokenFile: '/var/run/secrets/kubernetes.io/serviceaccount/token' });
    } finally {
      for (const [k, v] of [['KUBERNETES_SERVICE_HOST', saved.host], ['KUBERNETES_SERVICE_PORT', saved.port]] as const) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  });

  it('names a kubeconfig it cannot load', () => {
    expect(() => loadKubeConfig('/nonexistent/kubeconfig')).toThrow(/^cannot load kubeconfig \/nonexistent\/kubeconfig: /);
  });
});
