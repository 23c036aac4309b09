/**
 * Manifests from files and directories: multi-document YAML or JSON, `kind: List` flattened, every
 * object tagged with its file and line for error messages. FileSource watches them, reloads after
 * a debounce, and keeps a broken file's last good objects until it parses again.
 */
import { type FSWatcher, statSync, watch } from 'node:fs';
import { readFile, readdir, stat } from 'node:fs/promises';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { type Diagnostic, type KubeObject, parseManifestDocuments } from '../model/index.js';
import { fileError } from '../model/manifest-text.js';
import { EMPTY_SNAPSHOT, type Source, SourceListeners, type SourceListener, type SourceSnapshot } from './source.js';

const MANIFEST_EXTENSIONS = new Set(['.yaml', '.yml', '.json']);

export interface FileParseResult {
  readonly objects: KubeObject[];
  /** Non-empty when the file does not parse (or is unreadable): its objects must not be trusted. */
  readonly errors: Diagnostic[];
}

/**
 * Parse one file's text. A file that does not parse yields no objects at all, so a watching source
 * keeps that file's last good objects instead of half of them.
 */
export function parseManifestText(file: string, content: string): FileParseResult {
  const { objects, errors } = parseManifestDocuments(file, content);
  return { objects: errors.length ? [] : objects, errors };
}

/** The manifest files named by `paths`: files as given, directories' *.yaml|*.yml|*.json (not recursive, like kubectl -f). */
export async function expandPaths(paths: readonly string[]): Promise<{ files: string[]; errors: Diagnostic[] }> {
  const files: string[] = [];
  const errors: Diagnostic[] = [];
  for (const p of paths) {
    try {
      const st = await stat(p);
      if (st.isDirectory()) {
        const entries = (await readdir(p)).filter((n) => MANIFEST_EXTENSIONS.has(extname(n)) && !n.startsWith('.')).sort();
        files.push(...entries.map((n) => join(p, n)));
      } else files.push(p);
    } catch (e) {
      errors.push(fileError(p, `cannot read: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (e as Error).message}`));
    }
  }
  return { files: [...new Set(files)], errors };
}

export async function loadManifestFile(file: string): Promise<FileParseResult> {
  let content: string;
  try {
    content = await readFile(file, 'utf8');
  } catch (e) {
    return { objects: [], errors: [fileError(file, `cannot read: ${(e as Error).message}`)] };
  }
  return parseManifestText(file, content);
}

/** One-shot load of everything under `paths`: the objects of files that parse, and every error. */
export async function loadManifests(paths: readonly string[]): Promise<{ objects: KubeObject[]; diagnostics: Diagnostic[] }> {
  const { files, errors } = await expandPaths(paths);
  const objects: KubeObject[] = [];
  const diagnostics = [...errors];
  for (const f of files) {
    const r = await loadManifestFile(f);
    objects.push(...r.objects);
    diagnostics.push(...r.errors);
  }
  return { objects, diagnostics };
}

export interface FileSourceOptions {
  /** Wait this long after the last change before reloading. Default 200 ms. */
  debounceMs?: number;
  /** Watch for changes (default true); false = load once. */
  watch?: boolean;
}

/** A Source over files and directories, reloaded on change. */
export class FileSource implements Source {
  private readonly listeners = new SourceListeners();
  private readonly lastGood = new Map<string, KubeObject[]>();
  private watchers: FSWatcher[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;
  private snapshot: SourceSnapshot = EMPTY_SNAPSHOT;
  private reloading: Promise<void> = Promise.resolve();
  private closed = false;
  private readonly paths: string[];
  private readonly debounceMs: number;

  constructor(paths: readonly string[], private readonly options: FileSourceOptions = {}) {
    this.paths = paths.map((p) => resolve(p));
    this.debounceMs = options.debounceMs ?? 200;
  }

  get current(): SourceSnapshot {
    return this.snapshot;
  }

  subscribe(listener: SourceListener): () => void {
    return this.listeners.add(listener);
  }

  async start(): Promise<SourceSnapshot> {
    await this.reload();
    if (this.options.watch !== false) this.watchAll();
    return this.snapshot;
  }

  /** Reload now (also what the watcher runs after the debounce). Serialised: reloads never overlap. */
  reload(): Promise<void> {
    this.reloading = this.reloading.then(() => this.doReload());
    return this.reloading;
  }

  private async doReload(): Promise<void> {
    if (this.closed) return;
    const { files, errors } = await expandPaths(this.paths);
    const diagnostics = [...errors];
    const objects: KubeObject[] = [];
    const present = new Set(files);
    for (const f of files) {
      const r = await loadManifestFile(f);
      if (r.errors.length) {
        diagnostics.push(...r.errors);
        const keep = this.lastGood.get(f);
        if (keep) {
          diagnostics.push({ severity: 'warning', object: `file "${f}"`, field: '', message: `keeping its last good ${keep.length} object(s) until it parses again` });
          objects.push(...keep);
        }
        continue;
      }
      this.lastGood.set(f, r.objects);
      objects.push(...r.objects);
    }
    // A file that vanished (deleted, not broken) takes its objects with it.
    for (const f of [...this.lastGood.keys()]) if (!present.has(f)) this.lastGood.delete(f);
    this.publish(objects, diagnostics);
  }

  private publish(objects: KubeObject[], diagnostics: Diagnostic[]): void {
    const prev = this.snapshot;
    const same = prev.objects.length === objects.length && prev.objects.every((o, i) => JSON.stringify(o) === JSON.stringify(objects[i]));
    const sameDiag = JSON.stringify(prev.diagnostics) === JSON.stringify(diagnostics);
    const healthy = !diagnostics.some((d) => d.severity === 'error');
    if (same && sameDiag && prev.revision > 0) return;
    this.snapshot = { objects: same && prev.revision > 0 ? prev.objects : objects, diagnostics, revision: same && prev.revision > 0 ? prev.revision : prev.revision + 1, healthy };
    if (prev.revision > 0 || prev !== EMPTY_SNAPSHOT) this.listeners.emit(this.snapshot);
  }

  private watchAll(): void {
    // Watch directories, not files: editors replace files by rename, which ends a file watch.
    const dirs = new Map<string, Set<string> | null>();
    for (const p of this.paths) {
      const isDir = this.isDirectoryPath(p);
      if (isDir) dirs.set(p, null);
      else {
        const d = dirname(p);
        const names = dirs.get(d);
        if (names !== null) dirs.set(d, new Set([...(names ?? []), basename(p)]));
      }
    }
    for (const [dir, names] of dirs) {
      try {
        const w = watch(dir, { persistent: true }, (_event, name) => {
          if (names && name && !names.has(name.toString())) return;
          this.schedule();
        });
        w.on('error', () => this.schedule());
        this.watchers.push(w);
      } catch {
        // The directory does not exist (yet); the error is already in the snapshot's diagnostics.
      }
    }
  }

  private isDirectoryPath(p: string): boolean {
    try {
      return statSync(p).isDirectory();
    } catch {
      return !MANIFEST_EXTENSIONS.has(extname(p));
    }
  }

  private schedule(): void {
    if (this.closed) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.reload(), this.debounceMs);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    for (const w of this.watchers) w.close();
    this.watchers = [];
    await this.reloading;
  }
}
