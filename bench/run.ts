/**
 * `npm run bench -- <suite>... [--option value]...`: runs bench/<suite>.ts (each exports
 * `run(args)`), or every suite but `soak` when none is named. Suites come before the first option, so an
 * option's value (`--sizes 10000`) is never taken for a suite.
 */
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const known = readdirSync(here)
  .filter((f) => f.endsWith('.ts') && !['run.ts', 'report.ts', 'memory-floor.ts'].includes(f))
  .map((f) => f.slice(0, -3))
  .sort();
const args = process.argv.slice(2);
const firstOption = args.findIndex((a) => a.startsWith('-'));
const asked = firstOption < 0 ? args : args.slice(0, firstOption);
/** Suites too long for "run everything": the soak holds 10,000 connections for 5 minutes. */
const onlyWhenNamed = new Set(['soak']);
const suites = asked.length ? asked : known.filter((s) => !onlyWhenNamed.has(s));
for (const suite of suites) {
  const file = join(here, `${suite}.ts`);
  if (!existsSync(file)) {
    console.error(`unknown benchmark suite "${suite}" (known: ${known.join(', ')})`);
    process.exit(2);
  }
  console.log(`\n== bench: ${suite}`);
  const mod = (await import(pathToFileURL(file).href)) as { run: (args: string[]) => Promise<void> };
  await mod.run(process.argv.slice(2));
}
