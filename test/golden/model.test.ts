/**
 * Golden scenarios: manifests in → `get` tables, the service model dump, diagnostics and change
 * lists out, step by step. One file per scenario under ./scenarios; UPDATE_GOLDEN=1 rewrites the
 * expected sections (review the diff before committing).
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import {
  type AllocationStore, type KubeObject, type ModelOptions, MemoryAllocationStore, ServiceChangeTracker, buildServiceModel,
  dumpServiceModel, formatDiagnostic, formatEndpointsTable, formatServicesTable,
} from '../../host/model/index.js';
import { FileAllocationStore } from '../../host/sources/allocation-file.js';
import { parseScenario, section, serializeScenario, setSection, steps } from './scenario.js';
import { applyStep } from './scenario-objects.js';

const dir = join(dirname(fileURLToPath(import.meta.url)), 'scenarios');
const update = process.env['UPDATE_GOLDEN'] === '1';
const tempDirs: string[] = [];
afterAll(() => tempDirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('golden scenarios', () => {
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.txtar')).sort()) {
    it(file.replace(/\.txtar$/, ''), () => {
      const path = join(dir, file);
      const scenario = parseScenario(readFileSync(path, 'utf8'));
      const raw = (parseYaml(section(scenario, 'options.yaml') ?? '{}') ?? {}) as ModelOptions & { stateDir?: boolean };
      const { stateDir, ...options } = raw;
      const stateDirPath = stateDir ? mkdtempSync(join(tmpdir(), 'vipwasm-golden-')) : undefined;
      if (stateDirPath) tempDirs.push(stateDirPath);
      const memory = new MemoryAllocationStore();
      const tracker = new ServiceChangeTracker();
      let objects: KubeObject[] = [];
      const mismatches: string[] = [];
      for (const n of steps(scenario)) {
        objects = applyStep(scenario, n, objects);
        // A FileAllocationStore reopened per step is a restart; the memory store is one process.
        const store: AllocationStore = stateDirPath ? new FileAllocationStore(stateDirPath) : memory;
        const result = buildServiceModel(objects, { ...options, allocationStore: store });
        const changes = tracker.update(result);
        const actual: Record<string, string> = {
          'services.table': formatServicesTable(result.services, true),
          'endpoints.table': formatEndpointsTable(result.services),
          'model.dump': dumpServiceModel(result.model),
          'diagnostics.txt': result.diagnostics.map((d) => `${d.severity}: ${formatDiagnostic(d)}`).join('\n') + '\n',
        };
        if (n > 1) {
          actual['changes.txt'] = [
            `added: ${changes.added.join(' ') || '-'}`, `updated: ${changes.updated.join(' ') || '-'}`,
            `removed: ${changes.removed.join(' ') || '-'}`, `nodeIPsChanged: ${changes.nodeIPsChanged}`,
            ...(changes.serviceCIDRsChanged ? [`serviceCIDRs: ${(result.model.serviceCIDRs ?? []).join(' ')}`] : []),
          ].join('\n') + '\n';
        }
        for (const [name, text] of Object.entries(actual)) {
          const key = `${n}/${name}`;
          if (update) setSection(scenario, key, text);
          else {
            const expected = section(scenario, key);
            if (expected === undefined) mismatches.push(`${key}: missing (run with UPDATE_GOLDEN=1)`);
            else if (expected !== text) mismatches.push(`${key}:\n--- expected\n${expected}--- actual\n${text}`);
          }
        }
      }
      if (update) writeFileSync(path, serializeScenario(scenario));
      expect(mismatches.join('\n')).toBe('');
    });
  }
});
