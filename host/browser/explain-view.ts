/**
 * The explain trace of the current decision under "Decisions, one by one": the steps as an ordered
 * list, each with its facts, the same text `vipwasm explain` prints. data-* attributes carry the
 * backend, scheduler and step names for the browser tests.
 */
import { byId, el } from './dom.js';
import type { ExplainTrace } from '../explain/index.js';

export class ExplainView {
  private readonly box = byId('explain-trace');

  show(trace: ExplainTrace, decision: number): void {
    const steps = el('ol', { className: 'explain-steps' });
    for (const s of trace.steps) {
      const facts = s.lines.length ? el('ul', {}, ...s.lines.map((l) => el('li', {}, l))) : null;
      steps.append(el('li', { 'data-step': s.step }, el('strong', {}, s.step), ' ', s.summary, facts));
    }
    this.box.dataset['decision'] = String(decision + 1);
    this.box.dataset['backend'] = trace.backend ?? '';
    this.box.dataset['verdict'] = trace.verdict;
    this.box.dataset['scheduler'] = trace.scheduler ?? '';
    this.box.replaceChildren(el('p', { className: 'hint' }, `Why decision ${decision + 1} went where it did (${trace.from} → ${trace.to}/${trace.protocol}):`), steps);
  }

  error(message: string): void {
    delete this.box.dataset['decision'];
    this.box.replaceChildren(el('p', { className: 'error' }, message));
  }

  clear(): void {
    delete this.box.dataset['decision'];
    this.box.replaceChildren();
  }
}
