/**
 * `npm run bench -- engine-paired [--baseline <engine.wasm> | --baseline-rev <git rev>] [--sizes 100,100000] [--rounds N]`:
 * two engine builds in one process, each in two instances holding the same 1M resident flows,
 * measured in rounds (each instance takes each place in the round once every four rounds), so the
 * machine's load moves both builds alike. The `engine` bench's ratios to the memory floor swing
 * ±20% between runs on a shared 2-core machine; per-round ratios between two builds resolve a few
 * percent. This is how the README's build-to-build numbers are measured (issue 10).
 *
 * The candidate is build/engine.wasm. The baseline is a built file (`--baseline`), or the engine
 * of a git revision (`--baseline-rev`, built from a temporary worktree with this checkout's
 * AssemblyScript); with neither, the candidate is paired with itself, which shows the noise.
 * Cases: established lookup, `lookupMany` 16, new connection (rr), `connectMany` 16 (rr). Writes
 * rows {case, services, baselineNs, candidateNs, ratio} (ratio = median of per-round
 * candidate / baseline) to bench/results/engine-paired.json.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Engine } from '../host/engine/engine.js';
import { engineWasmPath, loadEngine } from '../host/engine/node.js';
import type { Address } from '../host/engine/address.js';
import {
  BENCH_TIMEOUTS, CAPACITY, MANY, PREFILL, buildModel, client, measuredClients, option, prefillClients, releaseMeasured, sourcePort, spread, v4, type MutableAddress,
} from './engine.js';
import { median } from './forwarder/verdict.js';
import { cpuClock, report } from './report.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const TCP = 6;
/** Operations per case per round. */
const OPS = 64_000;

/** The engine of git revision `rev`, built in a temporary worktree (removed after). */
function buildRevision(rev: string) {
  const dir = mkdtempSync(join(tmpdir(), 'vipwasm-baseline-'));
  const tree = join(dir, 'tree');
  try {
    execFileSync('git', ['worktree', 'add', '--detach', tree, rev], { cwd: root, stdio: 'ignore' });
    symlinkSync(join(root, 'node_modules'), join(tree, 'node_modules'));
    const out = join(dir, 'engine.wasm');
    execFileSync(join(root, 'node_modules/.bin/asc'), ['engine/index.ts', '--config', 'asconfig.json', '--target', 'release', '--outFile', out], { cwd: tree, stdio: 'inherit' });
    return readFileSync(out);
  } finally {
    execFileSync('git', ['worktree', 'remove', '--force', tree], { cwd: root, stdio: 'ignore' });
    rmSync(dir, { recursive: true, force: true });
  }
}

function engineOf(module: WebAssembly.Module): Promise<Engine> {
  return loadEngine({ flowCapacity: CAPACITY, timeouts: BENCH_TIMEOUTS }, module);
}

/**
 * One size's workload over one engine: each case returns CPU ns per decision. Destinations are
 * written into reused Address objects, as a host parses each packet's address into a scratch one
 * (an array of n Address objects would add a JS-heap miss per op that grows with n; engine.ts).
 */
function workload(engine: Engine, n: number) {
  const scratch: MutableAddress = { ...v4(0x0a600000) };
  const vip = (svc: number): Address => {
    scratch.w0 = (0x0a600000 + svc) >>> 0;
    return scratch;
  };
  const tuples = Array.from({ length: MANY }, () => ({ protocol: TCP, src: prefillClients[0]!, srcPort: 0, dst: { ...v4(0x0a600000) } as MutableAddress, dstPort: 80 }));
  let now = 1000;
  let li = 0;
  /** Measured new connections so far: each round's are new tuples (a flow left over would be a hit). */
  let ci = 0;
  /** `now` at the last lookup pass over every prefilled flow. */
  let passedAt = -1;
  const timed = (fn: () => void): number => {
    const t0 = cpuClock.fn();
    fn();
    return ((cpuClock.fn() - t0) * 1000) / OPS;
  };
  // The measured connections go again after each case: closed, then expired past tcpFin, so every
  // round meets the 1M prefilled flows alone. (With `now` moved less than tcpFin they stayed, and
  // the next round's connections to the same tuples were hits on them, not new connections.)
  const release = (from: number) => {
    now = releaseMeasured(engine, from, ci, n, vip, now);
    if (engine.stats().flows !== PREFILL) throw new Error(`bench engine-paired: ${engine.stats().flows} flows after a release, not the ${PREFILL} prefilled`);
  };
  /**
   * One lookup of every prefilled flow, untimed, when time moved since the last pass: each flow's
   * first hit in a new queue epoch moves it in its list (engine/flows.ts), and the measured
   * lookups are the steady state of an established flow, as in the `engine` bench.
   */
  const pass = () => {
    if (passedAt === now) return;
    for (let i = 0; i < PREFILL; i++) engine.lookup(TCP, client(prefillClients, i), sourcePort(i), vip(spread(i, n)), 80, now);
    passedAt = now;
  };
  return {
    prefill(): void {
      for (let i = 0; i < PREFILL; i++) engine.connect(TCP, client(prefillClients, i), sourcePort(i), vip(spread(i, n)), 80, now);
      // The flows then have cached decisions.
      pass();
    },
    lookup: () => (pass(), timed(() => {
      for (let j = 0; j < OPS; j++) {
        const i = spread(li++, PREFILL);
        engine.lookup(TCP, client(prefillClients, i), sourcePort(i), vip(spread(i, n)), 80, now);
      }
    })),
    lookupMany: () => (pass(), timed(() => {
      for (let j = 0; j < OPS; j += MANY) {
        for (let k = 0; k < MANY; k++) {
          const i = spread(li++, PREFILL);
          const t = tuples[k]!;
          t.src = client(prefillClients, i);
          t.srcPort = sourcePort(i);
          t.dst.w0 = (0x0a600000 + spread(i, n)) >>> 0;
        }
        engine.lookupMany(tuples, now);
      }
    })),
    connect(): number {
      const from = ci;
      const ns = timed(() => {
        for (let j = 0; j < OPS; j++, ci++) engine.connect(TCP, client(measuredClients, ci), sourcePort(ci), vip(spread(ci + 7, n)), 80, now);
      });
      release(from);
      return ns;
    },
    connectMany(): number {
      const from = ci;
      const ns = timed(() => {
        for (let j = 0; j < OPS; j += MANY) {
          for (let k = 0; k < MANY; k++) {
            const i = ci++;
            const t = tuples[k]!;
            t.src = client(measuredClients, i);
            t.srcPort = sourcePort(i);
            t.dst.w0 = (0x0a600000 + spread(i + 7, n)) >>> 0;
          }
          engine.connectMany(tuples, now);
        }
      });
      release(from);
      return ns;
    },
  };
}

const CASES = ['lookup', 'lookupMany', 'connect', 'connectMany'] as const;
const round = (x: number): number => Math.round(x * 1000) / 1000;

export async function run(args: string[]): Promise<void> {
  const sizes = (option(args, '--sizes') ?? '100,100000').split(',').map(Number);
  const rounds = Number(option(args, '--rounds') ?? 16);
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`bench engine-paired: --rounds: want a positive integer, got "${option(args, '--rounds')}"`);
  const rev = option(args, '--baseline-rev');
  const file = option(args, '--baseline');
  if (rev !== undefined && file !== undefined) throw new Error('bench engine-paired: give --baseline or --baseline-rev, not both');
  const candidate = engineWasmPath();
  const named = file ?? rev;
  console.log(`baseline ${named ?? `${candidate} (the candidate itself: an A/A run, its ratios are the noise)`}; candidate ${candidate}`);
  const modules = await Promise.all([
    WebAssembly.compile(rev !== undefined ? buildRevision(rev) : readFileSync(file ?? candidate)),
    WebAssembly.compile(readFileSync(candidate)),
  ]);
  const rows: { case: string; services: number; baselineNs: number; candidateNs: number; ratio: number }[] = [];
  for (const n of sizes) {
    // Two instances of each build, made in the order baseline, candidate, candidate, baseline,
    // and measured in rotating order: A/A runs with one instance each, always measured in the
    // same places of the round, showed one side up to 5% faster.
    const side = [0, 1, 1, 0];
    const model = buildModel(n, 'rr');
    const loads: ReturnType<typeof workload>[] = [];
    for (const s of side) {
      const e = await engineOf(modules[s]!);
      e.load(model);
      const w = workload(e, n);
      w.prefill();
      loads.push(w);
    }
    const ns = CASES.map(() => [[] as number[], [] as number[]]);
    const ratios = CASES.map(() => [] as number[]);
    for (let r = 0; r < rounds; r++) {
      // Each instance takes each place in the round once every four rounds.
      const order = [0, 1, 2, 3].map((i) => (i + r) % 4);
      CASES.forEach((c, k) => {
        const got = [0, 0];
        for (const i of order) got[side[i]!]! += loads[i]![c]() / 2;
        ns[k]![0]!.push(got[0]!);
        ns[k]![1]!.push(got[1]!);
        ratios[k]!.push(got[1]! / got[0]!);
      });
    }
    CASES.forEach((c, k) => {
      rows.push({ case: c, services: n, baselineNs: round(median(ns[k]![0]!)), candidateNs: round(median(ns[k]![1]!)), ratio: round(median(ratios[k]!)) });
    });
  }
  report('engine-paired', rows);
}
