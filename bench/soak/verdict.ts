/**
 * The soak's verdict against issue 14's three criteria — zero connections lost that had a live
 * backend, zero bytes corrupted, RSS flat — plus what the churn itself asserts: a broken manifest
 * leaves the last good state serving (probe connections answered, the listener kept), and the
 * forwarder did not crash. Also says when the run was smaller than the issue asks.
 */
import type { ChurnTally } from './churn.js';
import type { ForwarderLog } from './forwarder-process.js';
import type { BackendStats, ClientStats } from './protocol.js';
import type { RssSummary } from './rss-curve.js';

export interface Verdict {
  lostLive: number;
  corruptedBytes: number;
  rssFlat: boolean;
  badUpdatesKeptServing: boolean;
  crashed: boolean;
  pass: boolean;
  line: string;
}

const sum = (r: Record<string, number>): number => Object.values(r).reduce((a, b) => a + b, 0);

export function verdict(
  o: { connections: number; durationS: number },
  c: ClientStats,
  rss: RssSummary,
  churn: ChurnTally,
  backends: BackendStats[],
  log: ForwarderLog,
  crashed: string | null,
): Verdict {
  const lostLive = sum(c.lostLive);
  const brokenProbeFailures = sum(churn.probes.break?.failed ?? {});
  const listenerDropped = churn.listenersWhileBroken.some((n) => n !== 1);
  // Every bad update is reported: the file held back (invalid YAML) or the edit refused (invalid field).
  const unreported = (churn.broken['invalid YAML'] ?? 0) - log.keptLastGood + (churn.broken['invalid field'] ?? 0) - log.refusedUpdates;
  const badUpdatesKeptServing = brokenProbeFailures === 0 && !listenerDropped && unreported <= 0;
  const pass = lostLive === 0 && c.bytesCorrupted === 0 && rss.flat && badUpdatesKeptServing && !crashed;
  const mark = (ok: boolean): string => (ok ? 'ok' : 'FAIL');
  const stale = backends.reduce((a, b) => a + b.acceptedAfterRemoval, 0);
  const size = o.connections < 10_000 || o.durationS < 300 ? ` [smaller than the issue's 10,000 connections × 5 min: ${o.connections} × ${o.durationS} s]` : '';
  const line =
    `verdict: ${pass ? 'PASS' : 'FAIL'}${size} — lost with a live backend: ${lostLive} (${mark(lostLive === 0)}); ` +
    `bytes corrupted: ${c.bytesCorrupted} (${mark(c.bytesCorrupted === 0)}); ` +
    `RSS ${rss.slopeMiBPerMin} MiB/min after warm-up, growth ${rss.growthMiB} of ${rss.allowedGrowthMiB} MiB allowed (${mark(rss.flat)}); ` +
    `bad manifests kept serving: ${brokenProbeFailures} probe failures, listener ${listenerDropped ? 'dropped' : 'kept'}, ` +
    `logged ${log.keptLastGood} kept-last-good + ${log.refusedUpdates} refused for ${JSON.stringify(churn.broken)} (${mark(badUpdatesKeptServing)}); ` +
    `forwarder ${crashed ? 'CRASHED' : 'stayed up'}; new connections to removed endpoints after 3 s: ${stale}`;
  return { lostLive, corruptedBytes: c.bytesCorrupted, rssFlat: rss.flat, badUpdatesKeptServing, crashed: crashed !== null, pass, line };
}
