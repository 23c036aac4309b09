/**
 * `npm run bench -- soak [--connections=10000] [--duration=300] [...]`: issue 14's soak. Many
 * concurrent long-lived TCP connections through one Service port of the real `vipwasm forward`,
 * byte-exact echoes of random sizes, while endpoints are added, removed and retired and the
 * manifest file is broken and fixed every few seconds. Loopback only (127.0.0.0/8, every port
 * picked by the kernel), bounded by --duration, every child stopped by its pid on any way out.
 *
 * Asserts the issue's three criteria and prints a verdict: zero connections lost whose backend was
 * still alive, zero bytes corrupted, the forwarder's RSS flat after warm-up (./soak/rss-curve.ts).
 * Writes everything, the per-second RSS/CPU curve included, to bench/results/soak.json.
 *
 * Options (`--name=value` or `--name value`): connections (10000), duration in s (300),
 * churn-every in s (2), endpoints at start (8), backend-procs (2), retire-after in s (10),
 * max-bytes (65536), rate in messages/s over all connections (1000; or think-max-ms, the longest
 * pause between one connection's echoes), connect-per-second (1000), stall-ms (30000), seed (1),
 * and `--forwarder-node-args="..."` (node flags for the forwarder, e.g. `--max-semi-space-size=1`).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { resultsDir } from './report.js';
import { Churn } from './soak/churn.js';
import { scrape, scrapeHeap, startForwarder, type ForwarderLog } from './soak/forwarder-process.js';
import { ask, hardNofile, killAllNow, sample, start, stop, stopAll, type ProcSample } from './soak/processes.js';
import type { BackendReply, BackendStats, ClientReply, ClientStats } from './soak/protocol.js';
import { summariseRss, type RssPoint } from './soak/rss-curve.js';
import { verdict } from './soak/verdict.js';

const here = dirname(fileURLToPath(import.meta.url));
const VIP = '127.98.0.1';
/** Descriptors the forwarder holds besides two per connection (listeners, watches, epoll, stdio, metrics). */
const FORWARDER_FD_RESERVE = 64;
/** Churn waits for the ramp-up at most this long (connections that never open are counted anyway). */
const RAMP_LIMIT_S = 60;

export interface SoakOptions {
  connections: number;
  durationS: number;
  churnEveryS: number;
  endpoints: number;
  backendProcs: number;
  retireAfterS: number;
  maxBytes: number;
  /** Messages per second over all connections: each pauses uniform [0, 2·connections/rate] s between echoes. */
  rate: number;
  thinkMaxMs: number;
  connectPerSecond: number;
  stallMs: number;
  seed: number;
  /** Extra node flags for the forwarder process (space-separated). */
  forwarderNodeArgs: string[];
}

function option(args: string[], name: string, fallback: number): number {
  const i = args.findIndex((a) => a === `--${name}` || a.startsWith(`--${name}=`));
  if (i < 0) return fallback;
  const raw = args[i]!.includes('=') ? args[i]!.slice(name.length + 3) : args[i + 1];
  const v = Number(raw);
  if (!Number.isFinite(v) || v <= 0) throw new Error(`bench soak: --${name}: "${raw}" is not a positive number`);
  return v;
}

function parseOptions(args: string[]): SoakOptions {
  const o: SoakOptions = {
    connections: Math.floor(option(args, 'connections', 10_000)),
    durationS: option(args, 'duration', 300),
    churnEveryS: option(args, 'churn-every', 2),
    endpoints: Math.floor(option(args, 'endpoints', 8)),
    backendProcs: Math.floor(option(args, 'backend-procs', 2)),
    retireAfterS: option(args, 'retire-after', 10),
    maxBytes: Math.floor(option(args, 'max-bytes', 65_536)),
    rate: option(args, 'rate', 1000),
    thinkMaxMs: NaN,
    connectPerSecond: option(args, 'connect-per-second', 1000),
    stallMs: option(args, 'stall-ms', 30_000),
    seed: Math.floor(option(args, 'seed', 1)),
    forwarderNodeArgs: (args.find((a) => a.startsWith('--forwarder-node-args='))?.slice('--forwarder-node-args='.length) ?? '').split(' ').filter(Boolean),
  };
  o.thinkMaxMs = option(args, 'think-max-ms', NaN);
  return o;
}

/** A port the kernel considers free on `ip` (bound to 0, read, released). */
async function freePort(ip: string): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r, j) => s.once('error', j).listen({ host: ip, port: 0 }, r));
  const { port } = s.address() as net.AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const nodeTs = (file: string): string[] => [process.execPath, '--import', 'tsx', join(here, 'soak', file)];

interface Sampled {
  t: number;
  forwarder: ProcSample;
  clients: ProcSample | null;
  backends: (ProcSample | null)[];
}

export async function run(args: string[]): Promise<void> {
  const o = parseOptions(args);
  const hard = hardNofile();
  const fdCap = Math.floor((hard - FORWARDER_FD_RESERVE) / 2);
  const limitedBy = o.connections > fdCap ? `open-files hard limit ${hard}: the forwarder holds 2 descriptors per connection plus ~${FORWARDER_FD_RESERVE}, so at most ${fdCap} connections (raising the hard limit needs CAP_SYS_RESOURCE)` : null;
  const requested = o.connections;
  if (limitedBy) {
    console.log(`soak: asked for ${requested} connections; ${limitedBy}. Running ${fdCap}.`);
    o.connections = fdCap;
  }
  if (Number.isNaN(o.thinkMaxMs)) o.thinkMaxMs = Math.round((2000 * o.connections) / o.rate);
  const scratch = mkdtempSync(join(tmpdir(), 'vipwasm-soak-'));
  const manifests = join(scratch, 'manifests');
  mkdirSync(manifests);
  const onSignal = (): void => {
    killAllNow();
    rmSync(scratch, { recursive: true, force: true });
    process.exit(130);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    await soak(o, scratch, manifests, { requested, limitedBy });
  } finally {
    await stopAll();
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    rmSync(scratch, { recursive: true, force: true });
  }
}

async function soak(o: SoakOptions, scratch: string, manifests: string, limits: { requested: number; limitedBy: string | null }): Promise<void> {
  const loadAtStart = Math.round(loadavg()[0]! * 100) / 100;
  const port = await freePort(VIP);
  const backends = Array.from({ length: o.backendProcs }, (_, i) => start(`echo backends ${i}`, nodeTs('backends.ts'), { ipc: true }));
  const clients = start('soak clients', nodeTs('clients.ts'), { ipc: true });
  const churnConfig = { vip: VIP, port, manifestDir: manifests, scratchDir: scratch, backends: backends.map((b) => b.child), clients: clients.child, metricsUrl: '', minEndpoints: Math.max(2, o.endpoints - 2), retireAfterMs: o.retireAfterS * 1000 };
  const churn = new Churn(churnConfig);
  for (let i = 0; i < o.endpoints; i++) await churn.addEndpoint();
  churn.writeGood();
  const fwd = await startForwarder(manifests, '127.98.0.0/16', o.forwarderNodeArgs);
  churnConfig.metricsUrl = fwd.metricsUrl;
  let crashed: string | null = null;
  let stopping = false;
  fwd.child.once('exit', (code, sig) => {
    if (!stopping) crashed = `vipwasm forward exited (${code ?? sig}) during the soak: ${fwd.stderrTail().slice(-2000)}`;
  });

  console.log(`soak: ${o.connections} connections to ${VIP}:${port} (vipwasm forward pid ${fwd.pid}), ${o.durationS} s, churn every ${o.churnEveryS} s, ${o.endpoints} endpoints at start, ~${o.rate} messages/s (pause 0-${o.thinkMaxMs} ms)`);
  const t0 = performance.now();
  const now = (): number => (performance.now() - t0) / 1000;
  clients.child.send({ type: 'start', settings: { vip: VIP, port, connections: o.connections, minBytes: 1, maxBytes: o.maxBytes, thinkMaxMs: o.thinkMaxMs, stallMs: o.stallMs, connectPerSecond: o.connectPerSecond, seed: o.seed } });

  const samples: Sampled[] = [];
  const progress: Record<string, unknown>[] = [];
  let rampedAt: number | null = null;
  let nextChurn = o.churnEveryS;
  const churnLog: string[] = [];
  const startCpu = sample(fwd.pid)!;
  // Sampled on its own clock: a churn step (file write, settle, probe) must not leave gaps.
  const sampler = setInterval(() => {
    const f = sample(fwd.pid);
    if (f) samples.push({ t: Math.round(now() * 10) / 10, forwarder: f, clients: sample(clients.pid), backends: backends.map((b) => sample(b.pid)) });
  }, 1000);
  let nextProgress = 10;
  try {
    while (now() < o.durationS && !crashed) {
      await sleep(1000);
      const s = (await ask<ClientReply>(clients.child, { type: 'stats' }, (m) => m.type === 'stats', 10_000).catch(() => null)) as { stats: ClientStats } | null;
      if (!s) continue;
      // Churn starts once every connection is open, or after RAMP_LIMIT_S if some never open.
      if (rampedAt === null && (s.stats.open >= o.connections || now() > RAMP_LIMIT_S)) rampedAt = now();
      if (now() >= nextProgress && samples.length) {
        nextProgress += 10;
        const heap = await scrapeHeap(fwd.metricsUrl);
        progress.push({ ...printProgress(now(), s.stats, samples[samples.length - 1]!.forwarder, startCpu, churn.active.length, heap), ...heap });
      }
      if (now() >= nextChurn && rampedAt !== null && now() < o.durationS - 2) {
        nextChurn = now() + o.churnEveryS;
        churnLog.push(`${now().toFixed(1)} ${await churn.next()}`);
      }
    }
  } finally {
    clearInterval(sampler);
  }
  const endAt = now();
  const final = (await ask<ClientReply>(clients.child, { type: 'stop' }, (m) => m.type === 'stopped', 60_000)) as { stats: ClientStats };
  const backendStats = await Promise.all(backends.map((b) => ask<BackendReply>(b.child, { type: 'stats' }, (m) => m.type === 'stats'))) as { stats: BackendStats }[];
  const metricsAtEnd = await scrape(fwd.metricsUrl);
  const lastCpu = samples[samples.length - 1]?.forwarder ?? startCpu;
  stopping = true;
  await stop(fwd.child, 10_000);
  const exit = crashed ?? (fwd.child.exitCode === 0 ? 'exit 0 after SIGTERM' : `exit ${fwd.child.exitCode ?? fwd.child.signalCode}`);

  const warmupEnds = (rampedAt ?? endAt) + Math.min(30, 0.2 * o.durationS);
  const rss = summariseRss(samples.map((s): RssPoint => ({ t: s.t, rssMiB: s.forwarder.rssKiB / 1024 })), warmupEnds);
  const cpu = {
    forwarderSeconds: Math.round((lastCpu.cpuSeconds - startCpu.cpuSeconds) * 10) / 10,
    forwarderPercentOfOneCore: Math.round(((lastCpu.cpuSeconds - startCpu.cpuSeconds) / Math.max(1, endAt)) * 1000) / 10,
    clientsSeconds: samples[samples.length - 1]?.clients?.cpuSeconds ?? NaN,
    backendsSeconds: Math.round((samples[samples.length - 1]?.backends ?? []).reduce((a, b) => a + (b?.cpuSeconds ?? 0), 0) * 10) / 10,
  };
  const result = {
    date: new Date().toISOString(),
    /** The machine is shared: 1-minute load average when the soak started and ended. */
    loadAverage: { start: loadAtStart, end: Math.round(loadavg()[0]! * 100) / 100 },
    options: o,
    limits,
    rampedAtS: rampedAt,
    durationS: Math.round(endAt),
    clients: final.stats,
    backends: backendStats.map((b) => b.stats),
    churn: churn.tally,
    forwarder: { exit, log: fwd.log, metricsAtEnd, maxFds: Math.max(...samples.map((s) => s.forwarder.fds)) },
    rss,
    cpu,
    verdict: verdict(o, final.stats, rss, churn.tally, backendStats.map((b) => b.stats), fwd.log, crashed),
    progress,
    churnLog,
    samples: samples.map((s) => ({ t: s.t, rssMiB: Math.round(s.forwarder.rssKiB / 102.4) / 10, cpuS: s.forwarder.cpuSeconds, fds: s.forwarder.fds })),
  };
  mkdirSync(resultsDir, { recursive: true });
  const file = join(resultsDir, 'soak.json');
  writeFileSync(file, JSON.stringify(result, null, 2) + '\n');
  printReport(result);
  console.log(`wrote ${file}`);
}

function printProgress(t: number, s: ClientStats, f: ProcSample, cpu0: ProcSample, endpoints: number, heap: { heapUsedMiB: number; externalMiB: number } | null): Record<string, unknown> {
  const lost = Object.values(s.lostLive).reduce((a, b) => a + b, 0);
  const row = { t: Math.round(t), open: s.open, messages: s.messages, lostLive: lost, corrupted: s.bytesCorrupted, retiredEnds: s.endedRetired, endpoints, rssMiB: Math.round(f.rssKiB / 1024), fds: f.fds, cpuS: Math.round((f.cpuSeconds - cpu0.cpuSeconds) * 10) / 10, rttP99: s.rttMs.p99 };
  console.log(`  t=${row.t}s open=${row.open} msgs=${row.messages} lost=${row.lostLive} corrupt=${row.corrupted} retired-ends=${row.retiredEnds} endpoints=${endpoints} rss=${row.rssMiB}MiB fds=${row.fds} cpu=${row.cpuS}s p99=${row.rttP99}ms heap=${heap?.heapUsedMiB}MiB external=${heap?.externalMiB}MiB`);
  return row;
}

function printReport(r: { clients: ClientStats; rss: ReturnType<typeof summariseRss>; cpu: Record<string, number>; churn: Churn['tally']; forwarder: { exit: string; log: ForwarderLog }; verdict: { line: string } }): void {
  const c = r.clients;
  const lines: [string, unknown][] = [
    ['connections opened', c.connected],
    ['messages echoed', c.messages],
    ['bytes echoed', c.bytesEchoed],
    ['bytes corrupted', c.bytesCorrupted],
    ['lost (live backend)', c.lostLive],
    ['ended by retired backend', c.endedRetired],
    ['connect failures', c.connectFailures],
    ['echo rtt ms (last interval)', c.rttMs],
    ['churn added/removed/retired', `${r.churn.added}/${r.churn.removed}/${r.churn.retired} (${r.churn.retiredConnections} connections on retired endpoints)`],
    ['manifest broken', r.churn.broken],
    ['probes after each change', r.churn.probes],
    ['forwarder CPU', `${r.cpu.forwarderSeconds} s (${r.cpu.forwarderPercentOfOneCore}% of a core); clients ${r.cpu.clientsSeconds} s, backends ${r.cpu.backendsSeconds} s`],
    ['forwarder log', { ...r.forwarder.log, lastErrors: undefined }],
    ['forwarder exit', r.forwarder.exit],
  ];
  for (const [k, v] of lines) console.log(`  ${k.padEnd(30)} ${typeof v === 'string' || typeof v === 'number' ? v : JSON.stringify(v)}`);
  console.log(`RSS: start ${r.rss.startMiB} MiB, min ${r.rss.minMiB}, max ${r.rss.maxMiB}, end ${r.rss.endMiB}; after warm-up (${r.rss.warmupEndsAtS} s) ${r.rss.slopeMiBPerMin} MiB/min, fitted growth ${r.rss.growthMiB} MiB (allowed ${r.rss.allowedGrowthMiB})`);
  console.log(`RSS: ${r.rss.plot}; mean per minute ${r.rss.perMinuteMiB.join(', ')} MiB`);
  console.log(r.verdict.line);
}
