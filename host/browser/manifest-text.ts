/**
 * Multi-document YAML (or JSON) text → Kubernetes objects, each tagged with its origin line for
 * diagnostics. Browser-safe (the `yaml` package, no node: imports). `kind: List` documents are
 * expanded into their items, as kubectl does.
 */
import { LineCounter, parseAllDocuments } from 'yaml';
import { setOrigin } from '../model/fields.js';
import type { Diagnostic, KubeObject } from '../model/types.js';

export interface ParsedManifests {
  readonly objects: KubeObject[];
  readonly diagnostics: Diagnostic[];
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function parseManifestText(text: string, file: string): ParsedManifests {
  const objects: KubeObject[] = [];
  const diagnostics: Diagnostic[] = [];
  const lines = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const error = (line: number, message: string): void => {
    diagnostics.push({ severity: 'error', object: file, field: '', message, origin: { file, line } });
  };
  for (const doc of Array.isArray(docs) ? docs : [docs]) {
    const start = lines.linePos(doc.contents?.range?.[0] ?? doc.range[0]).line;
    if (doc.errors.length) {
      for (const e of doc.errors) error(lines.linePos(e.pos[0]).line, `YAML: ${e.message.split('\n')[0]}`);
      continue;
    }
    const value: unknown = doc.toJS({ maxAliasCount: 100 });
    if (value === null || value === undefined) continue;
    if (!isObject(value)) {
      error(start, 'a document must be a Kubernetes object (a mapping with apiVersion and kind)');
      continue;
    }
    const items = value['kind'] === 'List' && Array.isArray(value['items']) ? (value['items'] as unknown[]) : [value];
    items.forEach((item, i) => {
      if (!isObject(item)) {
        error(start, `items[${i}]: a List item must be a Kubernetes object`);
        return;
      }
      const obj = item as KubeObject;
      setOrigin(obj, { file, line: start });
      objects.push(obj);
    });
  }
  return { objects, diagnostics };
}
