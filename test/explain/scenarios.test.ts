/**
 * Golden explain traces (test/explain/scenarios/*.txtar), one per scheduler and per policy: the
 * manifests of `input.yaml`, explained through the real CLI with the flags in `args` (each
 * connection on the real engine, its prediction checked against connect), must print exactly
 * `trace.txt`. Regenerate: UPDATE_GOLDEN=1 npx vitest run test/explain/scenarios.test.ts
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { parseScenario, section, serializeScenario } from '../golden/scenario.js';
import { runCli } from '../cli/run-cli.js';

const dir = join(dirname(fileURLToPath(import.meta.url)), 'scenarios');
const update = process.env['UPDATE_GOLDEN'] === '1';
const tmp = mkdtempSync(join(tmpdir(), 'vipwasm-explain-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('explain golden traces', () => {
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.txtar')).sort()) {
    it(file, async () => {
      const path = join(dir, file);
      const scenario = parseScenario(readFileSync(path, 'utf8'));
      const input = join(tmp, `${file}.yaml`);
      writeFileSync(input, section(scenario, 'input.yaml') ?? '');
      const args = (section(scenario, 'args') ?? '').trim().split(/\s+/);
      const run = await runCli(['explain', '-f', input, ...args]);
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      if (update) {
        const found = scenario.sections.find((x) => x.name === 'trace.txt');
        if (found) found.content = run.stdout;
        else scenario.sections.push({ name: 'trace.txt', content: run.stdout });
        writeFileSync(path, serializeScenario(scenario));
      } else {
        expect(section(scenario, 'trace.txt'), `${file} has no trace.txt (UPDATE_GOLDEN=1)`).toBeDefined();
        expect(run.stdout).toBe(section(scenario, 'trace.txt'));
      }
    });
  }
});
