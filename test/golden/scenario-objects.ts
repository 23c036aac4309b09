/**
 * The objects of a golden scenario's step: `N/input.yaml` replaces everything, `N/apply.yaml` adds
 * or replaces objects (by kind, namespace and name), `N/delete.yaml` removes them. Shared by the
 * model and DNS golden suites.
 */
import { formatDiagnostic, type KubeObject } from '../../host/model/index.js';
import { parseManifestText } from '../../host/sources/files.js';
import { type Scenario, section } from './scenario.js';

function identity(o: KubeObject): string {
  return `${o.kind}/${o.metadata?.namespace ?? 'default'}/${o.metadata?.name ?? ''}`;
}

/** The objects of a manifest section; a section that does not parse fails the test. */
export function scenarioManifests(name: string, text: string): KubeObject[] {
  const r = parseManifestText(name, text);
  if (r.errors.length) throw new Error(`${name}: ${r.errors.map(formatDiagnostic).join('; ')}`);
  return r.objects;
}

/** `objects` after step `n`'s input, apply and delete sections. */
export function applyStep(scenario: Scenario, n: number, objects: readonly KubeObject[]): KubeObject[] {
  const input = section(scenario, `${n}/input.yaml`);
  let out = input !== undefined ? scenarioManifests(`${n}/input.yaml`, input) : [...objects];
  for (const o of scenarioManifests(`${n}/apply.yaml`, section(scenario, `${n}/apply.yaml`) ?? '')) {
    const i = out.findIndex((x) => identity(x) === identity(o));
    if (i >= 0) out[i] = o;
    else out.push(o);
  }
  const gone = new Set(scenarioManifests(`${n}/delete.yaml`, section(scenario, `${n}/delete.yaml`) ?? '').map(identity));
  if (gone.size) out = out.filter((o) => !gone.has(identity(o)));
  return out;
}
