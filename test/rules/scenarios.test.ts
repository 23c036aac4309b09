/**
 * Golden scenarios: every file in ./scenarios is rendered in every mode it has a section for, and the
 * partial sync to its `manifests-after` is compared too. See scenario-file.ts for the format.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { iptablesRestoreFull, iptablesRestorePartial, renderIptables } from '../../host/rules/render-iptables.js';
import { nftTransactionFull, nftTransactionPartial, renderNftables } from '../../host/rules/render-nftables.js';
import { renderIpvsText } from '../../host/rules/render-ipvs.js';
import { formatScenario, parseScenario, scenarioOptions } from './scenario-file.js';

const dir = new URL('./scenarios/', import.meta.url);
const update = process.env['VIPWASM_UPDATE_GOLDEN'] === '1';
const files = readdirSync(dir).filter((f) => f.endsWith('.txt')).sort();

describe.each(files)('scenario %s', (file) => {
  const url = new URL(file, dir);
  const scenario = parseScenario(readFileSync(url, 'utf8'));
  const { rules, model } = scenarioOptions(scenario);
  const before = model(scenario.sections.get('manifests') ?? '');
  const afterText = scenario.sections.get('manifests-after');
  const after = afterText ? model(afterText) : undefined;

  const outputs: Record<string, () => string> = {
    iptables: () => iptablesRestoreFull(renderIptables(before, rules)),
    nftables: () => nftTransactionFull(renderNftables(before, rules)),
    ipvs: () => renderIpvsText(before, rules),
    ...(after
      ? {
          'iptables-partial': () => iptablesRestorePartial(renderIptables(before, rules), renderIptables(after, rules)),
          'nftables-partial': () => nftTransactionPartial(renderNftables(before, rules), renderNftables(after, rules)),
        }
      : {}),
  };

  if (update) {
    it('rewrites its expected sections', () => {
      for (const [name, produce] of Object.entries(outputs)) scenario.sections.set(name, produce());
      writeFileSync(url, formatScenario(scenario));
    });
    return;
  }

  for (const [name, produce] of Object.entries(outputs)) {
    it(`${name} output matches`, () => {
      const expected = scenario.sections.get(name);
      expect(expected, `${file} has no "#### ${name}" section (run with VIPWASM_UPDATE_GOLDEN=1)`).toBeDefined();
      expect(produce()).toBe(expected);
    });
  }
});
