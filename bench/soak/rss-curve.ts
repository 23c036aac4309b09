/**
 * The forwarder's RSS curve, summarised: start, min, max, end, the least-squares slope after
 * warm-up, a one-line text plot, and whether it counts as flat.
 *
 * "Flat" here: after warm-up (ramp-up done plus a settling period), the fitted line grows by less
 * than max(16 MiB, 10% of the RSS at warm-up) over the rest of the run. Node's heap and the kernel's
 * socket buffers move RSS by several MiB between GCs; a leak per connection, per message or per
 * manifest reload grows without bound and shows as a steady slope.
 */

export interface RssPoint {
  /** Seconds since the soak started. */
  t: number;
  rssMiB: number;
}

export interface RssSummary {
  startMiB: number;
  minMiB: number;
  maxMiB: number;
  endMiB: number;
  warmupEndsAtS: number;
  atWarmupMiB: number;
  slopeMiBPerMin: number;
  /** The fitted growth from warm-up to the end, in MiB. */
  growthMiB: number;
  allowedGrowthMiB: number;
  flat: boolean;
  plot: string;
  /** The mean RSS of each minute of the run (the last one may be partial). */
  perMinuteMiB: number[];
}

const round = (v: number, d = 1): number => Math.round(v * 10 ** d) / 10 ** d;

/** Least-squares slope (MiB/s) and intercept of the points. */
function fit(points: readonly RssPoint[]): { slope: number; intercept: number } {
  const n = points.length;
  const mt = points.reduce((s, p) => s + p.t, 0) / n;
  const mr = points.reduce((s, p) => s + p.rssMiB, 0) / n;
  let num = 0;
  let den = 0;
  for (const p of points) {
    num += (p.t - mt) * (p.rssMiB - mr);
    den += (p.t - mt) ** 2;
  }
  const slope = den ? num / den : 0;
  return { slope, intercept: mr - slope * mt };
}

/** `width` columns of block characters, each the max RSS in its time slice, scaled min..max. */
export function textPlot(points: readonly RssPoint[], width = 60): string {
  if (!points.length) return '';
  const blocks = '▁▂▃▄▅▆▇█';
  const lo = Math.min(...points.map((p) => p.rssMiB));
  const hi = Math.max(...points.map((p) => p.rssMiB));
  const cols = Math.min(width, points.length);
  let out = '';
  for (let c = 0; c < cols; c++) {
    const slice = points.slice(Math.floor((c * points.length) / cols), Math.floor(((c + 1) * points.length) / cols));
    const v = Math.max(...slice.map((p) => p.rssMiB));
    out += blocks[hi > lo ? Math.min(7, Math.floor(((v - lo) / (hi - lo)) * 8)) : 0];
  }
  return `${round(lo)} MiB ${out} ${round(hi)} MiB`;
}

function perMinute(points: readonly RssPoint[]): number[] {
  const sums: { n: number; sum: number }[] = [];
  for (const p of points) {
    const m = (sums[Math.floor(p.t / 60)] ??= { n: 0, sum: 0 });
    m.n++;
    m.sum += p.rssMiB;
  }
  return [...sums].map((m) => (m ? round(m.sum / m.n) : NaN));
}

export function summariseRss(points: readonly RssPoint[], warmupEndsAtS: number): RssSummary {
  const rss = points.map((p) => p.rssMiB);
  const after = points.filter((p) => p.t >= warmupEndsAtS);
  const tail = after.length >= 2 ? after : points.slice(-2);
  const { slope, intercept } = fit(tail);
  const t0 = tail[0]?.t ?? 0;
  const t1 = tail[tail.length - 1]?.t ?? 0;
  const atWarmup = intercept + slope * t0;
  const growth = slope * (t1 - t0);
  const allowed = Math.max(16, 0.1 * atWarmup);
  return {
    startMiB: round(rss[0] ?? 0),
    minMiB: round(Math.min(...rss)),
    maxMiB: round(Math.max(...rss)),
    endMiB: round(rss[rss.length - 1] ?? 0),
    warmupEndsAtS: round(warmupEndsAtS),
    atWarmupMiB: round(atWarmup),
    slopeMiBPerMin: round(slope * 60, 2),
    growthMiB: round(growth),
    allowedGrowthMiB: round(allowed),
    flat: growth < allowed,
    plot: textPlot(points),
    perMinuteMiB: perMinute(points),
  };
}
