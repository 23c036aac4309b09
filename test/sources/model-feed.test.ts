/** ModelFeed: file changes become model updates with the changed service ports; no-ops are dropped. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FileSource } from '../../host/sources/files.js';
import { type ModelUpdate, ModelFeed } from '../../host/sources/model-feed.js';

const manifest = (ips: string[]): string =>
  `apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {clusterIP: 10.96.0.10, ports: [{name: http, port: 80}]}\n---\n` +
  `apiVersion: v1\nkind: Service\nmetadata: {name: other}\nspec: {clusterIP: 10.96.0.11, ports: [{port: 53, protocol: UDP}]}\n---\n` +
  `apiVersion: v1\nkind: Endpoints\nmetadata: {name: web}\nsubsets: [{addresses: [${ips.map((ip) => `{ip: ${ip}}`).join(', ')}], ports: [{name: http, port: 80}]}]\n`;

describe('ModelFeed', () => {
  let dir: string;
  let feed: ModelFeed | undefined;
  afterEach(async () => {
    await feed?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('hands consumers the new model and only the service ports that changed', async () => {
    dir = mkdtempSync(join(tmpdir(), 'vipwasm-feed-'));
    const f = join(dir, 'm.yaml');
    writeFileSync(f, manifest(['10.244.0.1']));
    feed = new ModelFeed(new FileSource([f], { debounceMs: 20 }), {});
    const first = await feed.start();
    expect(first.changes.added).toEqual(['default/other', 'default/web:http']);
    const updates: ModelUpdate[] = [];
    feed.subscribe((u) => updates.push(u));
    const next = async (n: number): Promise<ModelUpdate> => {
      const deadline = Date.now() + 5000;
      while (updates.length < n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(updates.length).toBe(n);
      return updates[n - 1]!;
    };

    writeFileSync(f, manifest(['10.244.0.1', '10.244.0.2']));
    const u1 = await next(1);
    expect(u1.changes.changed).toEqual(['default/web:http']);
    expect(u1.result.model.servicePorts.find((p) => p.name === 'web')!.backends.map((b) => b.ip)).toEqual(['10.244.0.1', '10.244.0.2']);

    // Same objects rewritten (different formatting): nothing to do, no update.
    writeFileSync(f, `# reformatted\n${manifest(['10.244.0.1', '10.244.0.2'])}`);
    await new Promise((r) => setTimeout(r, 200));
    expect(updates.length).toBe(1);

    // A Pod no selector picks changes no service port, but cluster DNS sees it (pod records,
    // issue 12): an update with no service-port change.
    writeFileSync(f, `${manifest(['10.244.0.1', '10.244.0.2'])}---\napiVersion: v1\nkind: Pod\nmetadata: {name: lonely, labels: {app: none}}\nstatus: {podIP: 10.244.9.9}\n`);
    const lonely = await next(2);
    expect(lonely.changes.changed).toEqual([]);
    expect(lonely.result.discovery.pods.map((p) => p.ips)).toContainEqual(['10.244.9.9']);

    // Objects changed, but nothing a consumer sees: a label of a Pod no selector picks.
    writeFileSync(f, `${manifest(['10.244.0.1', '10.244.0.2'])}---\napiVersion: v1\nkind: Pod\nmetadata: {name: lonely, labels: {app: still-none}}\nstatus: {podIP: 10.244.9.9}\n`);
    // The feed handles each source snapshot synchronously: once the source has it, it has decided.
    const deadline = Date.now() + 5000;
    const relabelled = (): boolean => feed!.source.current.objects.some((o) => o.metadata?.labels?.['app'] === 'still-none');
    while (!relabelled() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(relabelled()).toBe(true);
    expect(updates.length).toBe(2);

    // A broken file: an update carrying the problem, the model unchanged.
    writeFileSync(f, 'kind: [\n');
    const u2 = await next(3);
    expect(u2.changes.changed).toEqual([]);
    expect(u2.sourceDiagnostics[0]!.severity).toBe('error');
    expect(u2.result.model.servicePorts).toHaveLength(2);
  });
});
