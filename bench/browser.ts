/**
 * `npm run bench -- browser`: the playground's engine in Chromium vs the same engine.wasm in Node,
 * on the same workload (the shared simulation loop, host/browser/simulate.ts), and the time from
 * navigation to the first simulation on screen.
 *
 * Options: --connections N (per scheduler run, default 200000), --loads N (page loads, default 5).
 */
import { readFileSync } from 'node:fs';
import { analyzeManifests } from '../host/browser/scenario.js';
import { simulate, simulationEngineOptions, type SimulationInput } from '../host/browser/simulate.js';
import { targetOptions } from '../host/browser/targets.js';
import { loadEngineFromBytes } from '../host/engine/browser.js';
import type { SchedulerName } from '../host/engine/model.js';
import { chromiumUnavailable, launchChromium } from '../test/e2e/browser/chromium.js';
import { buildAndServePlayground, ensureEngineWasm } from '../test/e2e/browser/playground-build.js';
import { report } from './report.js';

const SCHEDULERS: SchedulerName[] = ['rr', 'lc', 'sh', 'mh'];
/** Runs per measurement; the median is reported. */
const REPEATS = 5;

function flag(args: string[], name: string, fallback: number): number {
  const i = args.indexOf(name);
  const v = i >= 0 ? Number(args[i + 1]) : fallback;
  if (!Number.isInteger(v) || v < 1) throw new Error(`bench browser: ${name}: "${args[i + 1]}" is not a positive integer`);
  return v;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

type Row = { measure: string; scheduler: string; chromium: number; node: number; unit: string; 'chromium/node': number };

export async function run(args: string[]): Promise<void> {
  const why = chromiumUnavailable();
  if (why) {
    console.log(`bench browser skipped: ${why}`);
    return;
  }
  const connections = flag(args, '--connections', 200_000);
  const loads = flag(args, '--loads', 5);
  const bytes = new Uint8Array(readFileSync(ensureEngineWasm()));
  const served = await buildAndServePlayground();
  const browser = await launchChromium();
  const rows: Row[] = [];
  try {
    // Page load → first simulation, each time on a fresh page (the HTTP cache is per profile).
    const phases: Record<string, number[]> = {};
    for (let i = 0; i < loads; i++) {
      const page = await browser.newPage();
      await page.goto(served.url);
      await page.waitForSelector('body[data-ready="true"]', { timeout: 30_000 });
      const marks = await page.evaluate(() => performance.getEntriesByType('mark').map((m) => [m.name, m.startTime] as const));
      for (const [name, at] of marks) (phases[name] ??= []).push(at);
      await page.close();
    }

    const page = await browser.newPage();
    await page.goto(served.url);
    await page.waitForSelector('body[data-ready="true"]', { timeout: 30_000 });
    const manifests = await page.$eval('#manifests', (e) => (e as HTMLTextAreaElement).value);
    const node = await page.$eval('#node', (e) => (e as HTMLSelectElement).value);
    const model = analyzeManifests(manifests, node).model;
    const target = targetOptions(model)[0];
    if (!target) throw new Error('bench browser: the default example has no Service address');

    for (const scheduler of SCHEDULERS) {
      const input: SimulationInput = {
        target: { ip: target.ip, port: target.port, protocol: target.protocol },
        clients: 4096,
        requests: connections,
        scheduler,
        seed: 7,
        close: true,
        keepDecisions: 0,
      };
      const inPage: number[] = [];
      const inNode: number[] = [];
      // One untimed round each, so both JITs have compiled the loop before it is measured.
      for (let r = -1; r < REPEATS; r++) {
        const p = await page.evaluate((i) => window.vipwasmPlayground!.benchmark(i), input);
        if (r >= 0) inPage.push((p.decisions / p.ms) * 1000);
        const engine = await loadEngineFromBytes(bytes, simulationEngineOptions(input));
        const t0 = performance.now();
        const n = simulate(engine, model, input);
        const ms = performance.now() - t0;
        if (r >= 0) inNode.push(((n.counts.backend + n.counts.pass + n.counts.reject + n.counts.drop) / ms) * 1000);
      }
      const c = Math.round(median(inPage));
      const nd = Math.round(median(inNode));
      rows.push({ measure: 'connect decisions/s (simulation loop)', scheduler, chromium: c, node: nd, unit: 'decisions/s', 'chromium/node': +(c / nd).toFixed(2) });
    }
    await page.close();
    const PHASES: [string, string][] = [
      ['vipwasm:analyzed', 'navigation → manifests analysed, tables and rules drawn'],
      ['vipwasm:wasm-compiled', 'navigation → engine.wasm fetched and compiled'],
      ['vipwasm:first-simulation', 'navigation → first simulation on screen'],
    ];
    for (const [mark, measure] of PHASES) {
      const xs = phases[mark] ?? [];
      if (xs.length === 0) throw new Error(`bench browser: the page never set the performance mark ${mark}`);
      rows.push({ measure: `${measure} (median of ${xs.length})`, scheduler: '', chromium: +median(xs).toFixed(1), node: NaN, unit: 'ms', 'chromium/node': NaN });
    }
  } finally {
    await browser.close();
    await served.close();
  }
  report('browser', rows);
}
