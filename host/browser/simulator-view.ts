/**
 * The simulator's output: connections per backend as a bar chart (an accessible table with bars),
 * the ClientIP affinity table, and a step-through of single decisions.
 */
import { byId, el, fillTable } from './dom.js';
import { describeDecision, type SimulationResult } from './simulate.js';

export class SimulatorView {
  private result: SimulationResult | null = null;
  private step = 0;
  private readonly bars = byId<HTMLTableElement>('bars');
  private readonly affinity = byId<HTMLTableElement>('affinity');
  private readonly decisions = byId<HTMLTableElement>('decisions');
  private readonly stepInput = byId<HTMLInputElement>('step');
  private readonly stepOf = byId('step-of');
  private readonly stepText = byId('step-text');
  private readonly summary = byId('sim-summary');

  /** Called with the 0-based step whenever the user moves through the decisions. */
  constructor(private readonly onStep: (step: number) => void) {
    byId('step-first').addEventListener('click', () => this.go(0));
    byId('step-prev').addEventListener('click', () => this.go(this.step - 1));
    byId('step-next').addEventListener('click', () => this.go(this.step + 1));
    byId('step-last').addEventListener('click', () => this.go(Number.MAX_SAFE_INTEGER));
    this.stepInput.addEventListener('change', () => this.go(Number(this.stepInput.value) - 1));
    // Clicking a decision steps to it (and the page shows its explain trace).
    this.decisions.addEventListener('click', (e) => {
      const row = (e.target as HTMLElement).closest('tbody tr');
      const rows = this.decisions.tBodies[0]?.rows;
      if (row && rows) this.go(Array.from(rows).indexOf(row as HTMLTableRowElement));
    });
    this.decisions.addEventListener('keydown', (e) => {
      if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
        e.preventDefault();
        this.go(this.step + (e.key === 'ArrowDown' ? 1 : -1));
      }
    });
  }

  show(result: SimulationResult, step: number, elapsedMs: number): void {
    this.result = result;
    const total = result.counts.backend + result.counts.pass + result.counts.reject + result.counts.drop;
    const parts = [`${total} connection${total === 1 ? '' : 's'} to ${result.service ?? 'no Service'}`];
    if (result.scheduler) parts.push(`scheduler ${result.scheduler}`);
    if (result.sessionAffinity === 'ClientIP') parts.push('ClientIP affinity');
    const outcome = [`${result.counts.backend} to a backend`];
    if (result.counts.reject) outcome.push(`${result.counts.reject} rejected`);
    if (result.counts.drop) outcome.push(`${result.counts.drop} dropped`);
    if (result.counts.pass) outcome.push(`${result.counts.pass} passed through`);
    this.summary.textContent = `${parts.join(', ')}: ${outcome.join(', ')} (${elapsedMs.toFixed(1)} ms in engine.wasm).`;
    this.renderBars(result, total);
    this.renderAffinity(result);
    this.renderDecisionTable(result);
    this.go(step, false);
  }

  clear(message: string): void {
    this.result = null;
    this.summary.textContent = message;
    for (const t of [this.bars, this.affinity, this.decisions]) t.replaceChildren();
    this.stepText.textContent = '';
    this.stepOf.textContent = '';
    this.stepInput.value = '';
  }

  private renderBars(result: SimulationResult, total: number): void {
    this.bars.replaceChildren();
    if (result.backends.length === 0) {
      this.bars.append(el('tbody', {}, el('tr', {}, el('td', { className: 'empty' }, result.service ? 'This Service port has no endpoints.' : 'No Service port matched the address.'))));
      return;
    }
    const max = Math.max(1, ...result.backends.map((b) => b.connections));
    this.bars.append(
      el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, 'backend'), el('th', { scope: 'col' }, 'share'), el('th', { scope: 'col' }, 'connections'))),
    );
    const body = el('tbody');
    for (const b of result.backends) {
      const pct = total ? (100 * b.connections) / total : 0;
      const bar = el('div', { className: b.ready ? 'bar' : 'bar not-ready' });
      bar.style.width = `${(100 * b.connections) / max}%`;
      const tags = [
        b.ready ? '' : b.terminating ? 'terminating' : 'not ready',
        b.weight === 1 ? '' : `weight ${b.weight}`,
        b.local ? 'local' : '',
        (result.traffic === 'cluster' ? b.cluster : b.external) ? '' : `not used for ${result.traffic} traffic`,
      ].filter(Boolean);

      body.append(
        el(
          'tr',
          { 'data-backend': b.backend, 'data-connections': b.connections },
          el('th', { scope: 'row' }, b.backend, tags.length ? el('small', { className: 'tags' }, tags.join(', ')) : null),
          el('td', { className: 'share', 'aria-hidden': 'true' }, el('div', { className: 'bar-track' }, bar)),
          el('td', { className: 'count' }, `${b.connections} (${pct.toFixed(1)}%)`),
        ),
      );
    }
    this.bars.append(body);
  }

  private renderAffinity(result: SimulationResult): void {
    if (result.sessionAffinity !== 'ClientIP') {
      fillTable(this.affinity, [], [], result.service ? 'This Service has sessionAffinity: None — every connection is scheduled on its own.' : '');
      return;
    }
    // HITS: later connections the affinity entry placed (the scheduler placed only the first).
    const rows = result.affinity.map((a) => [a.client, a.backend, String(a.hits)]);
    fillTable(this.affinity, ['CLIENT', 'PINNED TO', 'HITS'], rows, 'No client reached a backend.');
    this.affinity.prepend(el('caption', { className: 'hint' }, 'Each client stays on the backend it was first given; hits are the later connections the pin placed.'));
  }

  private renderDecisionTable(result: SimulationResult): void {
    const rows = result.decisions.map((d) => [
      String(d.request + 1),
      d.client.includes(':') ? `[${d.client}]:${d.clientPort}` : `${d.client}:${d.clientPort}`,
      d.backend ?? d.verdict,
      d.reason,
    ]);
    fillTable(this.decisions, ['#', 'CLIENT', 'BACKEND', 'BECAUSE'], rows, 'No decisions yet.');
    this.decisions.tabIndex = 0;
    this.decisions.setAttribute('aria-label', 'Decisions; arrow keys move through them');
  }

  private go(step: number, notify = true): void {
    const r = this.result;
    if (!r || r.decisions.length === 0) return;
    const last = r.decisions.length - 1;
    this.step = Math.max(0, Math.min(last, Number.isFinite(step) ? Math.trunc(step) : 0));
    const d = r.decisions[this.step]!;
    this.stepInput.max = String(last + 1);
    this.stepInput.value = String(this.step + 1);
    this.stepOf.textContent = `of ${r.decisions.length}${r.decisions.length < r.counts.backend + r.counts.pass + r.counts.reject + r.counts.drop ? ' kept' : ''}`;
    this.stepText.textContent = describeDecision(d);
    const rows = this.decisions.tBodies[0]?.rows;
    if (rows) {
      for (const row of Array.from(rows)) row.classList.remove('current');
      const row = rows[this.step];
      row?.classList.add('current');
      // Scroll the decisions box only, never the page.
      const box = this.decisions.parentElement;
      if (row && box) {
        const top = row.offsetTop - (this.decisions.tHead?.offsetHeight ?? 0);
        if (top < box.scrollTop) box.scrollTop = top;
        else if (row.offsetTop + row.offsetHeight > box.scrollTop + box.clientHeight) box.scrollTop = row.offsetTop + row.offsetHeight - box.clientHeight;
      }
    }
    for (const row of Array.from(this.bars.tBodies[0]?.rows ?? [])) row.classList.toggle('current', row.dataset['backend'] === d.backend);
    if (notify) this.onStep(this.step);
  }
}
