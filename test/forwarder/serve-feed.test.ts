/**
 * serveForwarder syncs from the model feed's changes, as kube-proxy's proxier syncs from its change
 * trackers: an edit that changes no service port (a comment, a kind nothing reads) never reaches
 * the forwarder; a changed endpoint does, naming the service port it changed.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { loadEngine } from '../../host/engine/node.js';
import { serveForwarder, type ServingForwarder } from '../../host/forwarder/serve.js';
import { FileSource } from '../../host/sources/files.js';

const manifest = (ips: string[]): string =>
  `apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {clusterIP: 127.97.0.10, ports: [{name: http, port: 18080}]}\n---\n` +
  `apiVersion: v1\nkind: Endpoints\nmetadata: {name: web}\nsubsets: [{addresses: [${ips.map((ip) => `{ip: ${ip}}`).join(', ')}], ports: [{name: http, port: 9376}]}]\n`;

describe('serveForwarder', () => {
  let dir: string;
  let serving: ServingForwarder | undefined;
  afterEach(async () => {
    await serving?.stop(0);
    rmSync(dir, { recursive: true, force: true });
  });

  it('syncs only the updates that change a service port, and logs which ones', async () => {
    dir = mkdtempSync(join(tmpdir(), 'vipwasm-serve-feed-'));
    const f = join(dir, 'web.yaml');
    writeFileSync(f, manifest(['127.244.1.1']));
    const records: Array<{ msg: string; changed?: string[] }> = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const line of chunk.toString().split('\n')) if (line) records.push(JSON.parse(line));
        done();
      },
    });
    const source = new FileSource([f], { debounceMs: 20 });
    serving = await serveForwarder({
      source, engine: await loadEngine(), log: pino({ level: 'info' }, sink), model: { serviceClusterIPRanges: ['127.97.0.0/16'] },
      forwarder: { processMetrics: false }, metricsAddress: null, healthzAddress: null,
    });
    expect(serving.first.listeners).toBe(1);
    const synced = () => records.filter((r) => r.msg.startsWith('synced'));
    const waitFor = async (done: () => boolean): Promise<void> => {
      const deadline = Date.now() + 5000;
      while (!done() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(done()).toBe(true);
    };

    // Objects change, service ports do not: the source has the new objects, the forwarder no sync.
    writeFileSync(f, `${manifest(['127.244.1.1'])}---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: unrelated}\ndata: {a: b}\n`);
    await waitFor(() => source.current.objects.some((o) => o.kind === 'ConfigMap'));
    await new Promise((r) => setTimeout(r, 100));
    expect(synced()).toEqual([]);

    // An endpoint added: one sync, naming the port, and the model the forwarder serves follows.
    writeFileSync(f, manifest(['127.244.1.1', '127.244.1.2']));
    await waitFor(() => synced().length === 1);
    expect(synced()[0]!.changed).toEqual(['default/web:http']);
    expect(serving.result.model.servicePorts[0]!.backends.map((b) => b.ip)).toEqual(['127.244.1.1', '127.244.1.2']);
  });

  it("observes an EndpointSlice change's trigger time as kube-proxy's network programming latency", async () => {
    dir = mkdtempSync(join(tmpdir(), 'vipwasm-serve-feed-'));
    const f = join(dir, 'web.yaml');
    const sliceManifest = (ips: string[], trigger: string): string =>
      `apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {clusterIP: 127.97.0.11, ports: [{name: http, port: 18081}]}\n---\n` +
      `apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: web-1, labels: {kubernetes.io/service-name: web}, annotations: {endpoints.kubernetes.io/last-change-trigger-time: "${trigger}"}}\n` +
      `addressType: IPv4\nports: [{name: http, port: 9376}]\nendpoints: [${ips.map((ip) => `{addresses: [${ip}], conditions: {ready: true}}`).join(', ')}]\n`;
    // Triggered before the forwarder started: not observed (kube-proxy's trackerStartTime).
    writeFileSync(f, sliceManifest(['127.244.1.1'], new Date(Date.now() - 3_600_000).toISOString()));
    const source = new FileSource([f], { debounceMs: 20 });
    serving = await serveForwarder({
      source, engine: await loadEngine(), log: pino({ level: 'silent' }), model: { serviceClusterIPRanges: ['127.97.0.0/16'] },
      forwarder: { processMetrics: false }, metricsAddress: null, healthzAddress: null,
    });
    const metric = async (name: string): Promise<number> =>
      Number((await serving!.forwarder.metrics.registry.metrics()).split('\n').find((l) => l.startsWith(name))?.split(' ').pop() ?? 0);
    const count = 'kubeproxy_network_programming_duration_seconds_count{ip_family="IPv4"}';
    expect(await metric(count)).toBe(0);
    // A change triggered 1 s ago, after the start: one observation of at least 1 s once synced.
    await new Promise((r) => setTimeout(r, 1500));
    writeFileSync(f, sliceManifest(['127.244.1.1', '127.244.1.2'], new Date(Date.now() - 1000).toISOString()));
    const deadline = Date.now() + 5000;
    while ((await metric(count)) === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(await metric(count)).toBe(1);
    const seconds = await metric('kubeproxy_network_programming_duration_seconds_sum{ip_family="IPv4"}');
    expect(seconds).toBeGreaterThanOrEqual(1);
    expect(seconds).toBeLessThan(30);
    expect(await metric('kubeproxy_sync_proxy_rules_endpoint_changes_total')).toBe(1);
  });
});
