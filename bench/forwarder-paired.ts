/**
 * `npm run bench -- forwarder-paired`: the forwarder's CPU per short connection beyond
 * node-pipe's, measured inside one process (bench/forwarder/paired-entry.ts), where the machine's
 * load moves both sides of each round pair alike. The wrk-based `forwarder` bench measures what a
 * client sees but swings ±10% per round on a shared 2-CPU machine; this one resolves a few µs
 * (issue 14: how the third pass sized each saving). The entry is bundled with esbuild like the
 * CLI (no tsx name wrappers) and run on this Node with empty NODE_OPTIONS.
 * Options: `--rounds=N` (pairs, default 10), `--connections=N` per round (3000), `--concurrency=N` (8).
 * Writes rows {case, target, value, unit, runs} to bench/results/forwarder-paired.json.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { loadavg } from 'node:os';
import { report } from './report.js';
import { root } from './forwarder/rig.js';
import { median } from './forwarder/verdict.js';

function option(args: string[], name: string, fallback: number): number {
  const hit = args.find((a) => a.startsWith(`--${name}=`));
  const v = hit === undefined ? fallback : Number(hit.slice(name.length + 3));
  if (!Number.isInteger(v) || v < 1) throw new Error(`bench forwarder-paired: --${name}: want a positive integer, got "${hit}"`);
  return v;
}

export async function run(args: string[]): Promise<void> {
  const rounds = option(args, 'rounds', 10);
  const connections = option(args, 'connections', 3000);
  const concurrency = option(args, 'concurrency', 8);
  const { build } = await import('esbuild');
  const outfile = join(root, 'dist', 'bench-paired', 'paired-entry.mjs');
  await build({
    entryPoints: [join(root, 'bench/forwarder/paired-entry.ts')],
    bundle: true, platform: 'node', format: 'esm', target: 'node20', packages: 'external', outfile, logLevel: 'warning',
  });
  const load = loadavg()[0]!;
  const { stdout } = await promisify(execFile)(process.execPath, [outfile, String(rounds), String(connections), String(concurrency)], {
    env: { ...process.env, NODE_OPTIONS: '' },
    timeout: 20 * 60_000,
  });
  const { np, vw } = JSON.parse(stdout.trim().split('\n').at(-1)!) as { np: number[]; vw: number[] };
  const excess = vw.map((v, i) => v - np[i]!);
  const mean = excess.reduce((a, b) => a + b, 0) / excess.length;
  const round = (xs: number[]): number[] => xs.map((x) => Math.round(x * 10) / 10);
  report('forwarder-paired', [
    { case: 'CPU per connection (process: clients + backend + proxy)', target: 'node-pipe', value: Math.round(median(np) * 10) / 10, unit: 'µs/conn', runs: round(np) },
    { case: 'CPU per connection (process: clients + backend + proxy)', target: 'vipwasm', value: Math.round(median(vw) * 10) / 10, unit: 'µs/conn', runs: round(vw) },
    { case: 'forwarder minus node-pipe (mean of round pairs)', target: 'vipwasm', value: Math.round(mean * 10) / 10, unit: 'µs/conn', runs: round(excess), load: Math.round(load * 10) / 10 },
  ]);
}
