/** Minimal DOM building for the playground: text only through textContent, never innerHTML. */

type Child = Node | string | number | null | undefined | false;

/** `el('td', { className: 'count' }, '42')`. Attributes named `data-*` / `aria-*` go through setAttribute. */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Record<string, string | number | boolean> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k.startsWith('data-') || k.startsWith('aria-') || k === 'role' || k === 'scope') node.setAttribute(k, String(v));
    else (node as unknown as Record<string, unknown>)[k] = v;
  }
  for (const c of children) if (c !== null && c !== undefined && c !== false) node.append(typeof c === 'number' ? String(c) : c);
  return node;
}

/** The element with this id, typed; throws when the page lacks it (a build mistake, not user input). */
export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const node = document.getElementById(id);
  if (!node) throw new Error(`playground: element #${id} is missing from index.html`);
  return node as T;
}

/** Replaces a table's content by a header row and body rows (strings; '' shows as <none>). */
export function fillTable(table: HTMLTableElement, header: readonly string[], rows: readonly (readonly Child[])[], empty: string): void {
  table.replaceChildren();
  if (rows.length === 0) {
    table.append(el('tbody', {}, el('tr', {}, el('td', { className: 'empty' }, empty))));
    return;
  }
  table.append(el('thead', {}, el('tr', {}, ...header.map((h) => el('th', { scope: 'col' }, h)))));
  const body = el('tbody');
  for (const row of rows) body.append(el('tr', {}, ...row.map((c) => (c === '' ? el('td', { className: 'none' }, '<none>') : el('td', {}, c)))));
  table.append(body);
}
