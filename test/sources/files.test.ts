/**
 * Manifest loading: multi-document YAML, JSON (object, array, kind: List), origins for error
 * messages, directories; and FileSource's watch: debounced reload, a broken file keeping its last
 * good objects (reported) until fixed, a deleted file taking its objects with it.
 */
import { mkdtempSync, rmSync, writeFileSync, unlinkSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { formatDiagnostic, originOf } from '../../host/model/index.js';
import { FileSource, loadManifests, parseManifestText } from '../../host/sources/files.js';
import type { SourceSnapshot } from '../../host/sources/source.js';

const svc = (name: string, port = 80): string => `apiVersion: v1\nkind: Service\nmetadata:\n  name: ${name}\nspec:\n  ports:\n    - port: ${port}\n`;
const names = (s: { objects: readonly { kind?: string; metadata?: { name?: string } }[] }): string[] =>
  s.objects.map((o) => `${o.kind}/${o.metadata?.name}`).sort();

describe('parseManifestText', () => {
  it('reads multi-document YAML and remembers each object’s line', () => {
    const r = parseManifestText('a.yaml', `# comment\n${svc('a')}---\n${svc('b')}---\n`);
    expect(r.errors).toEqual([]);
    expect(names(r)).toEqual(['Service/a', 'Service/b']);
    expect(originOf(r.objects[0]!)).toEqual({ file: 'a.yaml', line: 2 });
    expect(originOf(r.objects[1]!)).toEqual({ file: 'a.yaml', line: 10 });
  });

  it('flattens kind: List and reads JSON objects and arrays', () => {
    const list = JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [{ kind: 'Service', metadata: { name: 'x' } }, { kind: 'Pod', metadata: { name: 'p' } }] }, null, 2);
    const r = parseManifestText('l.json', list);
    expect(names(r)).toEqual(['Pod/p', 'Service/x']);
    expect(originOf(r.objects[1]!)?.line).toBeGreaterThan(1);
    const arr = parseManifestText('a.json', JSON.stringify([{ kind: 'Service', metadata: { name: 'y' } }]));
    expect(names(arr)).toEqual(['Service/y']);
  });

  it('reports a syntax error with its line and yields no objects from that file', () => {
    const r = parseManifestText('bad.yaml', `${svc('a')}---\nkind: Service\nmetadata: {name: b\n`);
    expect(r.objects).toEqual([]);
    expect(r.errors.length).toBeGreaterThan(0);
    expect(formatDiagnostic(r.errors[0]!)).toMatch(/^file "bad.yaml" \(bad.yaml:1[0-9]\): line 1[0-9], column [0-9]+: /);
  });

  it('rejects a document that is not a mapping', () => {
    const r = parseManifestText('s.yaml', 'just a string\n');
    expect(r.errors.map((e) => e.message)).toEqual(['line 1: a document must be a Kubernetes object (a mapping), not "just a string"']);
  });
});

describe('loadManifests', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'vipwasm-files-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('reads *.yaml, *.yml and *.json of a directory (not recursively) and files given directly', async () => {
    writeFileSync(join(dir, 'a.yaml'), svc('a'));
    writeFileSync(join(dir, 'b.yml'), svc('b'));
    writeFileSync(join(dir, 'c.json'), JSON.stringify({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'c' } }));
    writeFileSync(join(dir, 'notes.txt'), 'not a manifest');
    mkdirSync(join(dir, 'sub'));
    writeFileSync(join(dir, 'sub', 'd.yaml'), svc('d'));
    const r = await loadManifests([dir, join(dir, 'sub', 'd.yaml')]);
    expect(r.diagnostics).toEqual([]);
    expect(names(r)).toEqual(['Service/a', 'Service/b', 'Service/c', 'Service/d']);
  });

  it('names a missing path', async () => {
    const r = await loadManifests([join(dir, 'nope.yaml')]);
    expect(r.diagnostics.map(formatDiagnostic)).toEqual([`file "${join(dir, 'nope.yaml')}": cannot read: no such file or directory`]);
  });
});

describe('FileSource', () => {
  let dir: string;
  let source: FileSource | undefined;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'vipwasm-watch-'))));
  afterEach(async () => {
    await source?.close();
    source = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  async function until(what: string, pred: (s: SourceSnapshot) => boolean): Promise<SourceSnapshot> {
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline) {
      if (pred(source!.current)) return source!.current;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`timed out waiting for ${what}: ${JSON.stringify(names(source!.current))} ${JSON.stringify(source!.current.diagnostics)}`);
  }

  it('reloads on change, keeps a broken file’s last good objects until it parses again, drops a deleted file', async () => {
    const a = join(dir, 'a.yaml');
    const b = join(dir, 'b.yaml');
    writeFileSync(a, svc('a'));
    writeFileSync(b, svc('b'));
    source = new FileSource([dir], { debounceMs: 30 });
    const updates: SourceSnapshot[] = [];
    source.subscribe((s) => updates.push(s));
    const first = await source.start();
    expect(names(first)).toEqual(['Service/a', 'Service/b']);
    expect(first.healthy).toBe(true);

    writeFileSync(b, `${svc('b')}---\n${svc('b2')}`);
    await until('b2 added', (s) => names(s).includes('Service/b2'));

    writeFileSync(b, 'kind: Service\nmetadata: {name: broken\n');
    const broken = await until('parse error reported', (s) => !s.healthy);
    expect(names(broken)).toEqual(['Service/a', 'Service/b', 'Service/b2']);
    expect(broken.diagnostics.map((d) => d.severity)).toEqual(['error', 'warning']);
    expect(broken.diagnostics[1]!.message).toBe('keeping its last good 2 object(s) until it parses again');

    writeFileSync(b, svc('b3'));
    const fixed = await until('recovered', (s) => s.healthy && names(s).includes('Service/b3'));
    expect(names(fixed)).toEqual(['Service/a', 'Service/b3']);
    expect(fixed.diagnostics).toEqual([]);

    unlinkSync(a);
    await until('a removed', (s) => !names(s).includes('Service/a'));
    // Every published snapshot had a new revision or new diagnostics; none was empty.
    expect(updates.every((u) => u.objects.length > 0)).toBe(true);
  });

  it('debounces: a burst of writes becomes one reload with the last content', async () => {
    const f = join(dir, 'burst.yaml');
    writeFileSync(f, svc('v0'));
    // Writes 40 ms apart, well inside a 1 s debounce: without it each write would be published.
    source = new FileSource([dir], { debounceMs: 1000 });
    const updates: string[][] = [];
    source.subscribe((s) => updates.push(names(s)));
    await source.start();
    for (let i = 1; i <= 5; i++) {
      writeFileSync(f, svc(`v${i}`));
      await new Promise((r) => setTimeout(r, 40));
    }
    await until('last write', (s) => names(s).includes('Service/v5'));
    expect(updates).toEqual([['Service/v5']]);
  });

  it('watches a single file replaced by rename, as editors save', async () => {
    const f = join(dir, 'one.yaml');
    writeFileSync(f, svc('one'));
    source = new FileSource([f], { debounceMs: 30 });
    await source.start();
    writeFileSync(`${f}.tmp`, svc('two'));
    const { renameSync } = await import('node:fs');
    renameSync(`${f}.tmp`, f);
    await until('replaced', (s) => names(s).includes('Service/two'));
  });
});
