/**
 * Runs tools/go/envoycheck (built by scripts/envoy/setup.sh from go-control-plane): Envoy's own v3
 * Bootstrap proto, decoded strictly, with every typed_config resolved and the protoc-gen-validate
 * rules run as Envoy runs them when it loads a bootstrap. No Envoy binary exists for this machine;
 * its API definitions do.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export const ENVOYCHECK = join(process.env['VIPWASM_CACHE'] ?? join(homedir(), '.cache', 'vipwasm'), 'envoycheck', 'bin', 'envoycheck');

/** Why the checks cannot run here, or undefined when they can. */
export function envoycheckSkipReason(): string | undefined {
  if (existsSync(ENVOYCHECK)) return undefined;
  const go = spawnSync('go', ['version'], { stdio: 'ignore' }).status === 0;
  return go
    ? `${ENVOYCHECK} is not built: run \`bash scripts/envoy/setup.sh\` (npm run setup does)`
    : `Go is not installed, so ${ENVOYCHECK} cannot be built (scripts/envoy/setup.sh)`;
}

export interface EnvoycheckResult {
  status: number | null;
  /** One line per file ("FILE: ok") or per problem ("FILE: path: reason"). */
  lines: string[];
}

/** Checks files, or one envoy.yaml text given as `{ text }` (read from stdin, reported as "-"). */
export function envoycheck(input: string[] | { text: string }): EnvoycheckResult {
  const args = Array.isArray(input) ? input : ['-'];
  const r = spawnSync(ENVOYCHECK, args, { input: Array.isArray(input) ? '' : input.text, encoding: 'utf8', timeout: 30_000 });
  if (r.error) throw r.error;
  if (r.status === 2) throw new Error(`envoycheck could not read its input: ${r.stderr}`);
  return { status: r.status, lines: r.stdout.split('\n').filter(Boolean) };
}
