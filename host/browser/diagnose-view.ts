/**
 * The Diagnose panel: what `vipwasm diagnose` finds in the editor's manifests (host/diagnose), each
 * finding with its object, field, message and fix, and a button that selects the offending line
 * in the editor.
 */
import type { Finding } from '../diagnose/index.js';
import { el } from './dom.js';

export type PlacedFinding = Finding & { readonly line: number | null };

export function renderFindings(list: HTMLUListElement, badge: HTMLElement, findings: readonly PlacedFinding[], goToLine: (line: number) => void): void {
  const errors = findings.filter((f) => f.severity === 'error').length;
  badge.textContent = findings.length ? `${findings.length} finding${findings.length === 1 ? '' : 's'}` : 'nothing found';
  badge.className = errors ? 'badge bad' : 'badge';
  list.replaceChildren();
  if (findings.length === 0) {
    list.append(el('li', { className: 'ok' }, 'No problems found: every Service has what it needs to answer.'));
    return;
  }
  for (const f of findings) {
    const item = el(
      'li',
      { className: f.severity, 'data-code': f.code, 'data-object': f.object, 'data-field': f.field, 'data-line': f.line ?? '' },
      el('span', { className: 'where' }, f.object, f.field ? ` ${f.field}` : ''),
      f.line !== null ? el('button', { type: 'button', className: 'goto', 'aria-label': `Go to line ${f.line} of the manifests` }, `line ${f.line}`) : null,
      el('br'),
      `${f.severity === 'warning' ? 'warning: ' : ''}${f.message}`,
      el('br'),
      el('span', { className: 'fix' }, `fix: ${f.fix}`),
    );
    const line = f.line;
    if (line !== null) item.querySelector('button')!.addEventListener('click', () => goToLine(line));
    list.append(item);
  }
}
