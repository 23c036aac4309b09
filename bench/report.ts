/**
 * Shared output for every benchmark suite: a table on stdout and a JSON array in bench/results/.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const resultsDir = join(dirname(fileURLToPath(import.meta.url)), 'results');

/** Prints rows as a table and writes them to bench/results/<suite>.json. */
export function report<Row extends Record<string, unknown>>(suite: string, rows: Row[]): void {
  console.table(rows);
  mkdirSync(resultsDir, { recursive: true });
  const file = join(resultsDir, `${suite}.json`);
  writeFileSync(file, JSON.stringify(rows, null, 2) + '\n');
  console.log(`wrote ${file}`);
}

/**
 * Process CPU time (user + system) in µs, as a tinybench `timestampProvider`: on a shared 2-core
 * machine wall time mostly measures the other processes; CPU time measures ours.
 */
export const cpuClock = {
  name: 'process.cpuUsage',
  fn: (): number => {
    const u = process.cpuUsage();
    return u.user + u.system;
  },
  fromMs: (ms: number): number => ms * 1000,
  toMs: (us: bigint | number): number => Number(us) / 1000,
};
