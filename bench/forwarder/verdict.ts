/**
 * Ratios and verdicts of the forwarder benchmark. New-connection cases run in interleaved rounds
 * (every target once per round, in a rotated order), so a ratio is taken per round between
 * measurements seconds apart, and the median of those paired ratios is reported: on a 2-core
 * machine shared with other work, load shifts between rounds much more than within one.
 */
import type { Target } from './rig.js';

export interface Row extends Record<string, unknown> {
  case: string;
  target: Target;
  value: number;
  unit: string;
  /** Per-round values (interleaved cases); `value` is their median. */
  runs?: number[];
}

/** A goal of issue 14 part 1: vipwasm ÷ node-pipe for `case`, `atLeast` or `atMost` the bound. */
export interface Goal {
  readonly case: string;
  readonly bound: number;
  readonly higherIsBetter: boolean;
}

export const CASES = {
  connRate: 'http new connections/s (c=32)',
  connCpu: 'http new connection: proxy CPU per conn',
  p50c1: 'http latency p50 (c=1, new conn)',
  p99c1: 'http latency p99 (c=1, new conn)',
  p50c4: 'http latency p50 (c=4, new conn)',
  p99c4: 'http latency p99 (c=4, new conn)',
} as const;

/** Issue 14 part 1, "zero overhead over Node's floor", all against node-pipe in the same run. */
export const GOALS: readonly Goal[] = [
  { case: CASES.connRate, bound: 1.0, higherIsBetter: true },
  { case: CASES.connCpu, bound: 1.1, higherIsBetter: false },
  { case: CASES.p99c1, bound: 1.2, higherIsBetter: false },
  { case: CASES.p99c4, bound: 1.2, higherIsBetter: false },
];

export function median(xs: readonly number[]): number {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

const round3 = (v: number): number => Math.round(v * 1000) / 1000;

function find(rows: readonly Row[], c: string, t: Target): Row | undefined {
  return rows.find((r) => r.case === c && r.target === t);
}

/**
 * `a ÷ b` for a case: the median of per-round ratios when both were measured in the same rounds,
 * else the ratio of their values (bulk cases: one run per target). `runs` are the per-round ratios.
 */
export function ratio(rows: readonly Row[], c: string, a: Target, b: Target): { value: number; runs?: number[] } | undefined {
  const ra = find(rows, c, a);
  const rb = find(rows, c, b);
  if (!ra || !rb || !rb.value) return undefined;
  if (ra.runs && rb.runs && ra.runs.length === rb.runs.length) {
    const runs = ra.runs.map((v, i) => v / rb.runs![i]!);
    return { value: median(runs), runs: runs.map(round3) };
  }
  return { value: ra.value / rb.value };
}

/**
 * One verdict row per goal (target `vipwasm`, unit ×), for the JSON and the table; `loads` (the
 * load average at each round's start) goes with them, so a reader can tell a busy run.
 */
export function verdictRows(rows: readonly Row[], loads: readonly number[] = []): Row[] {
  const out: Row[] = [];
  for (const g of GOALS) {
    const r = ratio(rows, g.case, 'vipwasm', 'node-pipe');
    if (!r) continue;
    const met = g.higherIsBetter ? r.value >= g.bound : r.value <= g.bound;
    out.push({ case: `goal: ${g.case} ÷ node-pipe`, target: 'vipwasm', value: round3(r.value), unit: '×', goal: `${g.higherIsBetter ? '≥' : '≤'} ${g.bound}`, met, runs: r.runs, load: [...loads] });
  }
  return out;
}

export function printRatios(rows: readonly Row[]): void {
  const cases = [...new Set(rows.filter((r) => !r.case.startsWith('goal:')).map((r) => r.case))];
  console.log('\nratios (vipwasm ÷ other; interleaved cases: median of per-round ratios; for latency and CPU lower is better, "added" = minus direct):');
  for (const c of cases) {
    if (!find(rows, c, 'vipwasm')) continue;
    const parts = [`${c}:`];
    for (const other of ['haproxy', 'node-pipe', 'direct'] as const) {
      const r = ratio(rows, c, 'vipwasm', other);
      if (r) parts.push(`${r.value.toFixed(2)}× ${other}${r.runs ? ` [${r.runs.map((x) => x.toFixed(2)).join(' ')}]` : ''}`);
    }
    const v = find(rows, c, 'vipwasm')!.value;
    const h = find(rows, c, 'haproxy')?.value;
    const d = find(rows, c, 'direct')?.value;
    if (c.includes('latency') && h !== undefined && d !== undefined && h - d > 0) {
      parts.push(`added ${(v - d).toFixed(3)} ms vs haproxy's ${(h - d).toFixed(3)} ms (${((v - d) / (h - d)).toFixed(2)}×)`);
    }
    console.log(`  ${parts.join('  ')}`);
  }
  console.log('\nissue 14 part 1 goals (vipwasm ÷ node-pipe, same run):');
  for (const r of rows.filter((x) => x.case.startsWith('goal:'))) {
    console.log(`  ${r.case.slice(6).padEnd(62)} ${r.value.toFixed(2)}× (goal ${String(r.goal)}): ${r.met ? 'met' : 'NOT met'}`);
  }
}
