/**
 * One golden scenario per diagnose finding (test/diagnose/scenarios/*.txtar): the manifests of
 * `input.yaml`, diagnosed for node-1, must print exactly `findings.txt` (kubectl-style lines, each
 * with its fix). Regenerate: UPDATE_GOLDEN=1 npx vitest run test/diagnose
 */
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { diagnose, formatFinding } from '../../host/diagnose/index.js';
import { buildServiceModel } from '../../host/model/index.js';
import { parseManifestText } from '../../host/sources/files.js';
import { parseScenario, section, serializeScenario } from '../golden/scenario.js';

const dir = join(dirname(fileURLToPath(import.meta.url)), 'scenarios');
const update = process.env['UPDATE_GOLDEN'] === '1';

/** The findings of a manifest text, as `vipwasm diagnose` prints them for node-1. */
function diagnoseText(name: string, text: string): string {
  const { objects, errors } = parseManifestText(name, text);
  if (errors.length) throw new Error(`${name}: ${errors.map((e) => e.message).join('; ')}`);
  const result = buildServiceModel(objects, { nodeName: 'node-1' });
  const findings = diagnose(objects, { ...result, diagnostics: result.diagnostics }, { nodeName: 'node-1' });
  return findings.length ? `${findings.map(formatFinding).join('\n')}\n` : 'No problems found.\n';
}

describe('diagnose scenarios', () => {
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.txtar')).sort()) {
    it(file, () => {
      const path = join(dir, file);
      const scenario = parseScenario(readFileSync(path, 'utf8'));
      const actual = diagnoseText('input.yaml', section(scenario, 'input.yaml') ?? '');
      if (update) {
        const found = scenario.sections.find((x) => x.name === 'findings.txt');
        if (found) found.content = actual;
        else scenario.sections.push({ name: 'findings.txt', content: actual });
        writeFileSync(path, serializeScenario(scenario));
      } else {
        expect(section(scenario, 'findings.txt'), `${file} has no findings.txt (UPDATE_GOLDEN=1)`).toBeDefined();
        expect(actual).toBe(section(scenario, 'findings.txt'));
      }
    });
  }
});
