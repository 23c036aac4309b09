/**
 * Golden scenario files (Cilium txtar style): sections `-- name --` holding the model options, the
 * manifests of each step, and the expected outputs of each step. The runner applies step 1's
 * input, compares, then applies each later step's apply/delete and compares again.
 *
 * Sections (N = step number, from 1):
 *   options.yaml         ModelOptions (+ `stateDir: true` → a FileAllocationStore in a temp dir,
 *                        reopened at every step, i.e. a restart between steps)
 *   N/input.yaml         step N's complete object set (replaces everything)
 *   N/apply.yaml         objects added or replaced (by kind/namespace/name)
 *   N/delete.yaml        objects removed (kind, namespace, name suffice)
 *   N/services.table     expected `get services -o wide`
 *   N/endpoints.table    expected `get endpoints`
 *   N/model.dump         expected dumpServiceModel
 *   N/diagnostics.txt    expected diagnostics, one per line
 *   N/changes.txt        expected ServiceChangeTracker output vs step N-1
 * Regenerate every expected section: UPDATE_GOLDEN=1 npx vitest run test/golden
 */

export interface Section {
  readonly name: string;
  content: string;
}

export interface Scenario {
  /** Free text before the first section. */
  readonly comment: string;
  readonly sections: Section[];
}

const HEADER = /^-- (.+) --$/;

export function parseScenario(text: string): Scenario {
  const lines = text.split('\n');
  const comment: string[] = [];
  const sections: Section[] = [];
  let current: { name: string; lines: string[] } | undefined;
  const flush = (): void => {
    if (current) sections.push({ name: current.name, content: current.lines.join('\n').replace(/\n*$/, '\n') });
  };
  for (const line of lines) {
    const m = HEADER.exec(line);
    if (m) {
      flush();
      current = { name: m[1]!, lines: [] };
    } else if (current) current.lines.push(line);
    else comment.push(line);
  }
  flush();
  return { comment: comment.join('\n').replace(/\n*$/, '\n'), sections };
}

export function serializeScenario(s: Scenario): string {
  return s.comment + s.sections.map((x) => `-- ${x.name} --\n${x.content.replace(/\n*$/, '\n')}`).join('');
}

export function section(s: Scenario, name: string): string | undefined {
  return s.sections.find((x) => x.name === name)?.content;
}

/** Steps present in the file, ascending. */
export function steps(s: Scenario): number[] {
  const n = new Set<number>();
  for (const x of s.sections) {
    const m = /^(\d+)\//.exec(x.name);
    if (m) n.add(Number(m[1]));
  }
  return [...n].sort((a, b) => a - b);
}

/** Set (or insert after the step's other sections) an expected output. */
export function setSection(s: Scenario, name: string, content: string): void {
  const found = s.sections.find((x) => x.name === name);
  if (found) {
    found.content = content;
    return;
  }
  const step = name.split('/')[0]!;
  let at = -1;
  s.sections.forEach((x, i) => {
    if (x.name.startsWith(`${step}/`)) at = i;
  });
  s.sections.splice(at + 1, 0, { name, content });
}
