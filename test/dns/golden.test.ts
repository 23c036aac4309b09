/**
 * DNS golden scenarios: manifests in → the answer to each listed question out (rcode and every
 * section), step by step, per the Kubernetes DNS specification v1.1.0. One file per scenario under
 * ./scenarios (the txtar format of test/golden/scenario.ts):
 *   options.yaml      ModelOptions plus `clusterDomain`, `ttl`, `podRecords`
 *   N/input.yaml      step N's complete object set; N/apply.yaml, N/delete.yaml as in test/golden
 *   N/queries.txt     one `name TYPE` per line
 *   N/answers.txt     expected answers (UPDATE_GOLDEN=1 npx vitest run test/dns/golden.test.ts rewrites them)
 */
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { answerQuestion } from '../../host/dns/answer.js';
import { ClusterZone, type PodRecordMode } from '../../host/dns/zone.js';
import { type KubeObject, type ModelOptions, buildServiceModel, formatDiagnostic } from '../../host/model/index.js';
import { parseScenario, section, serializeScenario, setSection, steps } from '../golden/scenario.js';
import { applyStep } from '../golden/scenario-objects.js';
import { renderAnswer } from './render.js';

const dir = join(dirname(fileURLToPath(import.meta.url)), 'scenarios');
const update = process.env['UPDATE_GOLDEN'] === '1';

describe('DNS golden scenarios', () => {
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.txtar')).sort()) {
    it(file.replace(/\.txtar$/, ''), () => {
      const path = join(dir, file);
      const scenario = parseScenario(readFileSync(path, 'utf8'));
      const raw = (parseYaml(section(scenario, 'options.yaml') ?? '{}') ?? {}) as ModelOptions & { clusterDomain?: string; ttl?: number; podRecords?: PodRecordMode };
      const { clusterDomain = 'cluster.local', ttl = 30, podRecords = 'insecure', ...options } = raw;
      let objects: KubeObject[] = [];
      const mismatches: string[] = [];
      for (const n of steps(scenario)) {
        objects = applyStep(scenario, n, objects);
        const { discovery, diagnostics } = buildServiceModel(objects, options);
        const errors = diagnostics.filter((d) => d.severity === 'error').map((d) => `error: ${formatDiagnostic(d)}\n`).join('');
        const zone = new ClusterZone(discovery, { clusterDomain, ttl, podRecords, serverAddresses: ['127.0.0.53'] }, 1);
        const queries = (section(scenario, `${n}/queries.txt`) ?? '').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
        const actual = queries.map((q) => {
          const [name, type = 'A'] = q.split(/\s+/);
          return renderAnswer(q, answerQuestion(zone, { name: name!, type: type.toUpperCase() }));
        }).join('\n') + '\n';
        const output = errors + actual;
        const key = `${n}/answers.txt`;
        if (update) setSection(scenario, key, output);
        else {
          const expected = section(scenario, key);
          if (expected === undefined) mismatches.push(`${key}: missing (run with UPDATE_GOLDEN=1)`);
          else if (expected !== output) mismatches.push(`${key}:\n--- expected\n${expected}--- actual\n${output}`);
        }
      }
      if (update) writeFileSync(path, serializeScenario(scenario));
      expect(mismatches.join('\n')).toBe('');
    });
  }
});
