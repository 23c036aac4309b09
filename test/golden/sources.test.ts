/**
 * Golden scenarios for the sources (./sources/*.txtar): files written, broken, fixed and removed
 * under a watching FileSource, or objects changed on a loopback API server that then expires its
 * history, drops connections or goes down; after each step, the source's view and the model dump.
 *
 * Step sections (N = step): `N/write <file>` (file content), `N/remove <file>`, `N/api.yaml`
 * (objects the server creates or updates), `N/api-delete.yaml`, `N/api-actions` (one per line:
 * expire, drop, stop, start, bookmark, silently <kind>/<name> = apply without events, see below).
 * Expected: `N/source.txt`, `N/model.dump`. A step is compared when the source has settled (the
 * expected text is awaited for up to 8 s). UPDATE_GOLDEN=1 rewrites the expected sections.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import { type ModelOptions, buildServiceModel, dumpServiceModel, formatDiagnostic } from '../../host/model/index.js';
import { ApiServerSource } from '../../host/sources/apiserver.js';
import { FileSource } from '../../host/sources/files.js';
import type { Source, SourceSnapshot } from '../../host/sources/source.js';
import { FakeApiServer } from '../sources/fake-apiserver.js';
import { parseScenario, section, serializeScenario, setSection, steps } from './scenario.js';

const dir = join(dirname(fileURLToPath(import.meta.url)), 'sources');
const update = process.env['UPDATE_GOLDEN'] === '1';

function render(s: SourceSnapshot, options: ModelOptions, root: string): Record<string, string> {
  const objects = s.objects.map((o) => `${o.kind} ${o.metadata?.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata?.name}`).sort();
  const diagnostics = s.diagnostics.map((d) =>
    formatDiagnostic(d).replaceAll(root, '<dir>').replace(/retrying in \d+ ms/, 'retrying in N ms').replaceAll(/127\.0\.0\.1:\d+/g, '127.0.0.1:PORT'),
  );
  return {
    'source.txt': [`healthy: ${s.healthy}`, 'objects:', ...objects.map((o) => `  ${o}`), 'diagnostics:', ...diagnostics.map((d) => `  ${d}`)].join('\n') + '\n',
    'model.dump': dumpServiceModel(buildServiceModel(s.objects, options).model),
  };
}

function objectsOf(text: string): Record<string, any>[] {
  return parseAllDocuments(text).map((d) => d.toJS()).filter(Boolean);
}

describe('golden source scenarios', () => {
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.txtar')).sort()) {
    it(file.replace(/\.txtar$/, ''), async () => {
      const path = join(dir, file);
      const scenario = parseScenario(readFileSync(path, 'utf8'));
      const options = (parseYaml(section(scenario, 'options.yaml') ?? '{}') ?? {}) as ModelOptions;
      const usesApi = scenario.sections.some((s) => s.name.includes('/api'));
      const root = mkdtempSync(join(tmpdir(), 'vipwasm-golden-src-'));
      const api = usesApi ? new FakeApiServer() : undefined;
      let source: Source | undefined;
      const mismatches: string[] = [];
      try {
        if (api) await api.start();
        for (const n of steps(scenario)) {
          for (const s of scenario.sections.filter((x) => x.name.startsWith(`${n}/`))) {
            const [, op, arg] = /^\d+\/(\S+)(?: (.*))?$/.exec(s.name)!;
            if (op === 'write') writeFileSync(join(root, arg!), s.content);
            else if (op === 'remove') unlinkSync(join(root, arg!));
            else if (op === 'api.yaml') for (const o of objectsOf(s.content)) api!.apply(o as never);
            else if (op === 'api-delete.yaml') for (const o of objectsOf(s.content)) api!.delete(o['kind'], o['metadata'].name, o['metadata'].namespace);
            else if (op === 'api-silently.yaml') for (const o of objectsOf(s.content)) api!.applySilently(o as never);
            else if (op === 'api-actions') {
              for (const action of s.content.split('\n').map((l) => l.trim()).filter(Boolean)) {
                if (action === 'expire') api!.expire();
                else if (action === 'drop') api!.dropConnections();
                else if (action === 'stop') await api!.stop();
                else if (action === 'start') await api!.start(api!.port);
                else if (action === 'bookmark') api!.bookmark();
                else throw new Error(`${file}: unknown action ${action}`);
              }
            }
          }
          if (!source) {
            source = api
              ? new ApiServerSource({ kubeConfig: api.kubeConfig(), nodeName: options.nodeName ?? '', backoffBaseMs: 50, backoffMaxMs: 100, debounceMs: 10, delayFn: (ms) => new Promise((r) => setTimeout(r, Math.min(ms, 50))) })
              : new FileSource([root], { debounceMs: 30 });
            await source.start();
          }
          const keys = ['source.txt', 'model.dump'];
          // Wait for the expected text (or, when updating, for the source to settle).
          let actual = render(source.current, options, root);
          const deadline = Date.now() + 8000;
          let stableSince = Date.now();
          for (;;) {
            await new Promise((r) => setTimeout(r, 40));
            const next = render(source.current, options, root);
            if (JSON.stringify(next) !== JSON.stringify(actual)) stableSince = Date.now();
            actual = next;
            const done = update
              ? Date.now() - stableSince > 600
              : keys.every((k) => section(scenario, `${n}/${k}`) === actual[k]) && Date.now() - stableSince > 150;
            if (done || Date.now() > deadline) break;
          }
          for (const k of keys) {
            const key = `${n}/${k}`;
            if (update) setSection(scenario, key, actual[k]!);
            else if (section(scenario, key) !== actual[k]) mismatches.push(`${key}:\n--- expected\n${section(scenario, key) ?? '(missing)'}--- actual\n${actual[k]}`);
          }
        }
      } finally {
        await source?.close();
        await api?.stop();
        rmSync(root, { recursive: true, force: true });
      }
      if (update) writeFileSync(path, serializeScenario(scenario));
      expect(mismatches.join('\n')).toBe('');
    });
  }
});
