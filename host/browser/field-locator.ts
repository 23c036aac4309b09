/**
 * Finds where a Kubernetes object's field sits in the editor's multi-document YAML, so a
 * validation error can be shown next to the line it is about (`Service "default/web":
 * spec.ports[1].nodePort` → line 14).
 */
import { LineCounter, isMap, isNode, isSeq, parseAllDocuments, type Node as YamlNode } from 'yaml';

export interface ObjectRef {
  readonly kind: string;
  readonly name: string;
  /** Absent or '' matches a document without metadata.namespace too ("default"). */
  readonly namespace?: string;
}

export interface FieldLocation {
  /** 1-based line and column of the field (or of the deepest part of its path that exists). */
  readonly line: number;
  readonly column: number;
  /** Whether the whole path was found, not just a prefix of it. */
  readonly exact: boolean;
}

/** `spec.ports[1].nodePort` → ['spec', 'ports', 1, 'nodePort']. Keys in brackets may be quoted. */
export function parseFieldPath(path: string): (string | number)[] {
  const out: (string | number)[] = [];
  const re = /([^.[\]]+)|\[(\d+)\]|\["([^"]*)"\]|\['([^']*)'\]/g;
  for (let m = re.exec(path); m; m = re.exec(path)) {
    if (m[1] !== undefined) out.push(m[1]);
    else if (m[2] !== undefined) out.push(Number(m[2]));
    else out.push(m[3] ?? m[4] ?? '');
  }
  return out;
}

function scalarAt(node: unknown, key: string): unknown {
  return isMap(node) ? node.get(key) : undefined;
}

/**
 * The location of `fieldPath` inside the first document describing `object`; null when no
 * document matches. An empty path gives the document's start.
 */
export function locateField(text: string, object: ObjectRef, fieldPath: string): FieldLocation | null {
  const lines = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter: lines });
  if (!Array.isArray(docs)) return null;
  const wantNs = object.namespace && object.namespace !== 'default' ? object.namespace : '';
  for (const doc of docs) {
    const root = doc.contents;
    if (!isMap(root)) continue;
    const meta: unknown = root.get('metadata');
    const kind: unknown = root.get('kind');
    const name = scalarAt(meta, 'name');
    const ns = scalarAt(meta, 'namespace');
    const docNs = typeof ns === 'string' && ns !== 'default' ? ns : '';
    if (kind !== object.kind || name !== object.name || docNs !== wantNs) continue;
    let node: YamlNode = root;
    // Where to point: a map entry's key (the line a person reads as "the field"), else the node.
    let mark: YamlNode = root;
    let exact = true;
    for (const part of parseFieldPath(fieldPath)) {
      let next: unknown;
      let key: unknown;
      if (isMap(node)) {
        const keyOf = (p: { key: unknown }): unknown => (isNode(p.key) ? (p.key as { value?: unknown }).value : p.key);
        // Plural fields the API server derives from a singular one (spec.clusterIPs from spec.clusterIP).
        const pair =
          node.items.find((p) => keyOf(p) === part) ??
          (typeof part === 'string' && part.endsWith('s') ? node.items.find((p) => keyOf(p) === part.slice(0, -1)) : undefined);
        key = pair?.key;
        next = pair ? (isNode(pair.value) ? pair.value : pair.key) : undefined;
      } else if (isSeq(node) && typeof part === 'number') {
        next = node.items[part];
      }
      if (!isNode(next)) {
        exact = false;
        break;
      }
      node = next;
      mark = isNode(key) ? key : next;
    }
    const offset = mark.range?.[0] ?? 0;
    const pos = lines.linePos(offset);
    return { line: pos.line, column: pos.col, exact };
  }
  return null;
}
