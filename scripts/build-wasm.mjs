#!/usr/bin/env node
// Builds every Wasm target: engine.wasm from asconfig.json, and each extra module described by an
// asconfig.<name>.json at the top level (e.g. the Envoy filter). Release builds are -O3, no asserts,
// and reproducible: the same inputs give byte-identical output.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const asc = join(root, 'node_modules', '.bin', 'asc');
const configs = readdirSync(root).filter((f) => /^asconfig(\.[\w-]+)?\.json$/.test(f)).sort();
for (const config of configs) {
  const { entries } = JSON.parse(readFileSync(join(root, config), 'utf8'));
  const args = [...(entries ? [] : ['engine/index.ts']), '--config', config, '--target', process.argv[2] ?? 'release'];
  process.stdout.write(`asc ${args.join(' ')}\n`);
  execFileSync(asc, args, { cwd: root, stdio: 'inherit' });
}
