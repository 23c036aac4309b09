/**
 * `npm run bench -- <suite>...`: runs bench/<suite>.ts (each exports `run(args)`), or every suite
 * when none is named.
 */
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const known = readdirSync(here)
  .filter((f) => f.endsWith('.ts') && !['run.ts', 'report.ts'].includes(f))
  .map((f) => f.slice(0, -3))
  .sort();
const asked = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const suites = asked.length ? asked : known;
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
