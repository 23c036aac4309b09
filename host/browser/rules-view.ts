/**
 * The rules tab: what `vipwasm rules --mode …` would print for the same model, rendered by the
 * exporter's own pure renderers (host/rules/), one ruleset per IP family present.
 */
import type { ServiceModel } from '../engine/model.js';
import { renderIptablesText } from '../rules/render-iptables.js';
import { renderNftablesText } from '../rules/render-nftables.js';
import { renderIpvsText } from '../rules/render-ipvs.js';
import { byId } from './dom.js';
import type { RulesMode } from './url-state.js';

const RENDERERS: Record<RulesMode, (model: ServiceModel, options: { family: 4 | 6 }) => string> = {
  iptables: renderIptablesText,
  nftables: renderNftablesText,
  ipvs: renderIpvsText,
};

function families(model: ServiceModel): (4 | 6)[] {
  const v6 = model.servicePorts.some((sp) => sp.clusterIPs.some((ip) => ip.includes(':')));
  const v4 = model.servicePorts.length === 0 || model.servicePorts.some((sp) => sp.clusterIPs.some((ip) => !ip.includes(':')));
  return [...(v4 ? [4 as const] : []), ...(v6 ? [6 as const] : [])];
}

/** The text of one mode for every family in the model; renderer failures become the text shown. */
export function renderRules(model: ServiceModel, mode: RulesMode): string {
  const parts: string[] = [];
  const fams = families(model);
  for (const family of fams) {
    let body: string;
    try {
      body = RENDERERS[mode](model, { family });
    } catch (err) {
      body = `# the ${mode} renderer failed: ${err instanceof Error ? err.message : String(err)}\n`;
    }
    parts.push(fams.length > 1 ? `# ---- IPv${family} ----\n${body}` : body);
  }
  return parts.join('\n');
}

/** ARIA tabs (arrow keys, Home, End) over one panel. */
export class RulesView {
  private model: ServiceModel | null = null;
  private readonly tabs: HTMLButtonElement[];
  private readonly pre = byId<HTMLPreElement>('rules');

  constructor(
    private mode: RulesMode,
    private readonly onMode: (mode: RulesMode) => void,
  ) {
    this.tabs = (['iptables', 'nftables', 'ipvs'] as const).map((m) => byId<HTMLButtonElement>(`tab-${m}`));
    this.tabs.forEach((tab, i) => {
      tab.addEventListener('click', () => this.select(tab.dataset['mode'] as RulesMode, true));
      tab.addEventListener('keydown', (e) => {
        const to = e.key === 'ArrowRight' ? i + 1 : e.key === 'ArrowLeft' ? i - 1 : e.key === 'Home' ? 0 : e.key === 'End' ? this.tabs.length - 1 : null;
        if (to === null) return;
        e.preventDefault();
        const next = this.tabs[(to + this.tabs.length) % this.tabs.length]!;
        next.focus();
        this.select(next.dataset['mode'] as RulesMode, true);
      });
    });
    this.select(mode, false);
  }

  show(model: ServiceModel | null): void {
    this.model = model;
    this.render();
  }

  private select(mode: RulesMode, notify: boolean): void {
    this.mode = mode;
    for (const tab of this.tabs) {
      const on = tab.dataset['mode'] === mode;
      tab.setAttribute('aria-selected', String(on));
      tab.tabIndex = on ? 0 : -1;
    }
    byId('rules-panel').setAttribute('aria-labelledby', `tab-${mode}`);
    this.render();
    if (notify) this.onMode(mode);
  }

  private render(): void {
    this.pre.textContent = this.model ? renderRules(this.model, this.mode) : '# no valid model yet';
  }
}
