/**
 * The manifests editor: a textarea with a line-number gutter that marks the lines validation
 * errors point at, and the list of diagnostics beside it, each naming object and field and
 * jumping to its line.
 */
import type { Diagnostic } from '../model/types.js';
import { el } from './dom.js';
import { locateField, type ObjectRef } from './field-locator.js';

/** A diagnostic with the editor line it belongs to (null when it cannot be placed). */
export interface PlacedDiagnostic extends Diagnostic {
  readonly line: number | null;
}

/** `Service "default/web"` → { kind: 'Service', namespace: 'default', name: 'web' }; null for file references. */
export function parseObjectRef(object: string): ObjectRef | null {
  const m = /^([A-Za-z][\w.]*) "([^"/]*)(?:\/([^"]*))?"$/.exec(object.trim());
  if (!m) return null;
  return m[3] !== undefined ? { kind: m[1]!, namespace: m[2]!, name: m[3] } : { kind: m[1]!, name: m[2]! };
}

export function placeDiagnostics<D extends Diagnostic>(text: string, diagnostics: readonly D[]): (D & { readonly line: number | null })[] {
  return diagnostics.map((d) => {
    const ref = parseObjectRef(d.object);
    let line: number | null = null;
    if (ref) {
      try {
        line = locateField(text, ref, d.field)?.line ?? null;
      } catch {
        line = null;
      }
    }
    return { ...d, line: line ?? d.origin?.line ?? null };
  });
}

export class ManifestEditor {
  private marks = new Map<number, 'error' | 'warning'>();
  /** The messages on each marked line, shown as the gutter mark's tooltip. */
  private notes = new Map<number, string[]>();
  private lineCount = 0;

  constructor(
    readonly textarea: HTMLTextAreaElement,
    private readonly gutter: HTMLElement,
    private readonly list: HTMLUListElement,
    private readonly badge: HTMLElement,
  ) {
    textarea.addEventListener('scroll', () => {
      gutter.scrollTop = textarea.scrollTop;
    });
    textarea.addEventListener('input', () => this.renderGutter());
    // Tab inserts two spaces (YAML); Escape leaves the editor so keyboard users are never trapped.
    textarea.addEventListener('keydown', (e) => {
      if (e.key === 'Tab' && !e.shiftKey && !e.ctrlKey && !e.altKey && !e.metaKey && !textarea.dataset['escaped']) {
        e.preventDefault();
        textarea.setRangeText('  ', textarea.selectionStart, textarea.selectionEnd, 'end');
        textarea.dispatchEvent(new Event('input', { bubbles: true }));
      } else if (e.key === 'Escape') {
        textarea.dataset['escaped'] = '1';
      }
    });
    textarea.addEventListener('blur', () => delete textarea.dataset['escaped']);
  }

  get text(): string {
    return this.textarea.value;
  }

  set text(value: string) {
    this.textarea.value = value;
    this.textarea.scrollTop = 0;
    this.renderGutter();
  }

  /** Moves the caret to a 1-based line, scrolls it into view and focuses the editor. */
  goToLine(line: number): void {
    const lines = this.textarea.value.split('\n');
    let offset = 0;
    for (let i = 0; i < Math.min(line - 1, lines.length); i++) offset += lines[i]!.length + 1;
    const end = offset + (lines[line - 1]?.length ?? 0);
    this.textarea.focus();
    this.textarea.setSelectionRange(offset, end);
    const lineHeight = parseFloat(getComputedStyle(this.textarea).lineHeight) || 18;
    this.textarea.scrollTop = Math.max(0, (line - 4) * lineHeight);
    this.gutter.scrollTop = this.textarea.scrollTop;
  }

  showDiagnostics(placed: readonly PlacedDiagnostic[]): void {
    this.marks.clear();
    this.notes.clear();
    for (const d of placed) {
      if (d.line === null) continue;
      if (this.marks.get(d.line) !== 'error') this.marks.set(d.line, d.severity);
      this.notes.set(d.line, [...(this.notes.get(d.line) ?? []), `${d.object}${d.field ? ` ${d.field}` : ''}: ${d.message}`]);
    }
    this.renderGutter(true);
    const errors = placed.filter((d) => d.severity === 'error').length;
    const warnings = placed.length - errors;
    this.badge.textContent = errors || warnings ? `${errors} error${errors === 1 ? '' : 's'}, ${warnings} warning${warnings === 1 ? '' : 's'}` : 'valid';
    this.badge.className = errors ? 'badge bad' : 'badge';
    this.list.replaceChildren();
    if (placed.length === 0) {
      this.list.append(el('li', { className: 'ok' }, 'Every object is valid.'));
      return;
    }
    for (const d of placed) {
      const item = el(
        'li',
        { className: d.severity, 'data-object': d.object, 'data-field': d.field, 'data-line': d.line ?? '' },
        el('span', { className: 'where' }, d.object, d.field ? ` ${d.field}` : ''),
        d.line !== null ? el('button', { type: 'button', className: 'goto', 'aria-label': `Go to line ${d.line} of the manifests` }, `line ${d.line}`) : null,
        el('br'),
        `${d.severity === 'warning' ? 'warning: ' : ''}${d.message}`,
      );
      const line = d.line;
      if (line !== null) item.querySelector('button')!.addEventListener('click', () => this.goToLine(line));
      this.list.append(item);
    }
  }

  private renderGutter(force = false): void {
    const count = this.textarea.value.split('\n').length;
    if (!force && count === this.lineCount) return;
    this.lineCount = count;
    const frag = document.createDocumentFragment();
    for (let i = 1; i <= count; i++) {
      const mark = this.marks.get(i);
      const title = (this.notes.get(i) ?? [`${mark} on line ${i}`]).join('\n');
      frag.append(el('span', mark ? { className: mark === 'error' ? 'err' : 'warn', title } : {}, i));
    }
    // Room for the horizontal scrollbar of the textarea so the last numbers stay aligned.
    frag.append(el('span', {}, ' '), el('span', {}, ' '));
    this.gutter.replaceChildren(frag);
    this.gutter.scrollTop = this.textarea.scrollTop;
  }
}
