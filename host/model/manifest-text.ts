/**
 * Manifest text → Kubernetes objects with their origin lines, for error messages. Browser-safe.
 */
import { LineCounter, isMap, isSeq, parseAllDocuments, type Node as YamlNode } from 'yaml';
import { setOrigin } from './fields.js';
import type { Diagnostic, KubeObject } from './types.js';

export interface ManifestDocuments {
  /** The objects of every document that parses. */
  readonly objects: KubeObject[];
  /** One per document that does not parse or is not a Kubernetes object. */
  readonly errors: Diagnostic[];
}

/** An error about a manifest file as a whole (syntax, unreadable, not a Kubernetes object). */
export function fileError(file: string, message: string, line?: number): Diagnostic {
  return { severity: 'error', object: `file "${file}"`, field: '', message, ...(line ? { origin: { file, line } } : {}) };
}

/**
 * Multi-document YAML or JSON text → every object of every document that parses, each tagged with
 * its file and line; `kind: List` (and `*List`) flattened, a JSON top-level array read as objects.
 * Pure (no I/O): the file source and the playground's editor both use it.
 */
export function parseManifestDocuments(file: string, content: string): ManifestDocuments {
  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(content, { lineCounter });
  const errors: Diagnostic[] = [];
  const objects: KubeObject[] = [];
  const lineOf = (node: YamlNode | null | undefined): number | undefined =>
    node?.range ? lineCounter.linePos(node.range[0]).line : undefined;
  const docList = Array.isArray(docs) ? docs : [docs];
  for (const doc of docList) {
    for (const e of doc.errors) {
      const pos = e.linePos?.[0];
      const message = e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
      errors.push(fileError(file, `${pos ? `line ${pos.line}, column ${pos.col}: ` : ''}${message}`, pos?.line));
    }
    if (doc.errors.length) continue;
    const root = doc.contents;
    if (root === null) continue;
    const value: unknown = doc.toJS({ maxAliasCount: 100 });
    if (value === null || value === undefined) continue;
    const push = (v: unknown, node: YamlNode | null | undefined): void => {
      if (typeof v !== 'object' || v === null || Array.isArray(v)) {
        errors.push(fileError(file, `${lineOf(node) ? `line ${lineOf(node)}: ` : ''}a document must be a Kubernetes object (a mapping), not ${Array.isArray(v) ? 'a list' : JSON.stringify(v)}`, lineOf(node)));
        return;
      }
      const obj = v as KubeObject;
      const line = lineOf(node);
      setOrigin(obj, line ? { file, line } : { file });
      // kind: List (and ServiceList etc.): its items are the objects.
      if (typeof obj.kind === 'string' && obj.kind.endsWith('List') && Array.isArray(obj['items'])) {
        const itemsNode = isMap(node) ? (node.get('items', true) as YamlNode | undefined) : undefined;
        (obj['items'] as unknown[]).forEach((item, i) => push(item, isSeq(itemsNode) ? (itemsNode.items[i] as YamlNode) : node));
        return;
      }
      objects.push(obj);
    };
    // A JSON file may hold a top-level array of objects.
    if (Array.isArray(value)) value.forEach((v, i) => push(v, isSeq(root) ? (root.items[i] as YamlNode) : root));
    else push(value, root as YamlNode);
  }
  return { objects, errors };
}

