/**
 * Each scheduler's own arithmetic, recomputed in TypeScript from the pool state the engine holds
 * (host/engine/state-view.ts), following the kernel definitions in reference/ipvs-schedulers.md
 * (§3 rr, §4 wrr, §5 lc/wlc/sed/nq, §6 dh/sh, §7 mh). The result names the member the scheduler
 * will pick and the comparisons that made it win; explain.ts checks the pick against the engine's.
 */
import type { PoolMember, PoolState } from '../engine/state-view.js';
import { HASH_TAB_BITS, HASH_TAB_SIZE, MH_TAB_SIZE, hash32, mhHash } from './hash.js';

/** What the hashing schedulers hash, and the random scheduler's stream state. */
export interface SchedulerInput {
  readonly srcFold: number;
  readonly srcPort: number;
  readonly dstFold: number;
  readonly randomState: number;
  /** Member position in a dh/sh bucket or mh slot, -1 when empty. */
  readonly tableEntry: (index: number) => number;
  /** `ip:port` of the member at a list position. */
  readonly label: (position: number) => string;
}

export interface SchedulerArithmetic {
  /** Member list position the scheduler picks, -1 for none. */
  readonly pick: number;
  /** dh/sh bucket or mh slot (the engine's Decision.detail), -1 otherwise. */
  readonly detail: number;
  /** The arithmetic, one fact per line. */
  readonly lines: string[];
}

const hex = (n: number): string => `0x${(n >>> 0).toString(16).padStart(8, '0')}`;

function rr(p: PoolState, x: SchedulerInput): SchedulerArithmetic {
  const n = p.members.length;
  let j = p.position >= n ? 0 : p.position;
  const where = p.position === 0 ? 'list head' : `after list position ${p.position - 1}, chosen last${p.position >= n ? ': past the end, wraps to the head' : ''}`;
  const lines = [`rr position ${p.position} (${where}); scan starts at list position ${j} of ${n}`];
  for (let i = 0; i < n; i++) {
    const m = p.members[j]!;
    if (m.weight > 0) {
      lines.push(`list position ${j} ${x.label(j)}: weight ${m.weight} > 0 → picked; position becomes ${j + 1}`);
      return { pick: j, detail: -1, lines };
    }
    lines.push(`list position ${j} ${x.label(j)}: weight 0, skipped`);
    j = j + 1 === n ? 0 : j + 1;
  }
  return { pick: -1, detail: -1, lines: [...lines, 'no destination has weight > 0'] };
}

/** ip_vs_wrr_schedule, step by step as engine/schedulers/wrr.ts runs it. */
function wrr(p: PoolState, x: SchedulerInput): SchedulerArithmetic {
  const n = p.members.length;
  const { mw, di } = p;
  const lines = [`wrr state: cw ${p.cw}, mw ${mw} (max weight − (gcd − 1)), di ${di} (gcd of weights), position ${p.position}`];
  if (mw === 0) return { pick: -1, detail: -1, lines: [...lines, 'mw 0: every weight is 0, no destination'] };
  let cw = p.cw;
  const last = p.position;
  let cur = last;
  let stop = -1;
  let lastPass = false;
  let restarted = false;
  for (let pass = 0; pass < 0x20000; pass++) {
    for (let j = cur; j < n; j++) {
      if (p.members[j]!.weight >= cw) {
        lines.push(`cw ${cw}: list position ${j} ${x.label(j)} has weight ${p.members[j]!.weight} ≥ ${cw} → picked; position becomes ${j + 1}`);
        return { pick: j, detail: -1, lines };
      }
      if (j + 1 === stop) return { pick: -1, detail: -1, lines: [...lines, `cw ${cw}: back at position ${stop}, no destination`] };
    }
    const below = p.members.slice(cur).map((m, i) => `${cur + i}:${m.weight}`).join(' ');
    cur = 0;
    cw -= di;
    lines.push(`no weight ≥ ${cw + di} from position ${pass === 0 ? last : 0} (${below || 'end of list'}): cw ${cw + di} − di ${di} = ${cw}${cw <= 0 ? ` ≤ 0 → cw = mw ${mw}` : ''}`);
    if (cw <= 0) {
      cw = mw;
      if (lastPass || last === 0) return { pick: -1, detail: -1, lines: [...lines, 'a full round found no destination'] };
      restarted = true;
    }
    lastPass = cw <= di;
    if (lastPass && restarted && last !== 0) stop = last;
  }
  return { pick: -1, detail: -1, lines };
}

const oh = (m: PoolMember): number => m.active * 256 + m.inactive;

function lc(p: PoolState, x: SchedulerInput): SchedulerArithmetic {
  const lines = ['lc: overhead = 256 × active + inactive; the least wins, ties go to the earlier'];
  let least = -1;
  let loh = 0;
  p.members.forEach((m, k) => {
    if (m.weight === 0) {
      lines.push(`list position ${k} ${x.label(k)}: weight 0, skipped`);
      return;
    }
    const doh = oh(m);
    const wins = least < 0 || doh < loh;
    lines.push(`list position ${k} ${x.label(k)}: 256 × ${m.active} + ${m.inactive} = ${doh}${least < 0 ? ' (first)' : ` ${wins ? '<' : '≥'} ${loh}`}${wins ? ' → least so far' : ''}`);
    if (wins) {
      least = k;
      loh = doh;
    }
  });
  if (least >= 0) lines.push(`picked list position ${least} ${x.label(least)} (overhead ${loh})`);
  return { pick: least, detail: -1, lines };
}

/**
 * wlc and sed share the rule: d replaces least when loh × w(d) > doh × w(least); wlc's overhead
 * is 256 × active + inactive, sed's active + 1. nq first takes any idle destination.
 */
function weighted(p: PoolState, x: SchedulerInput, kind: 'wlc' | 'sed' | 'nq'): SchedulerArithmetic {
  const cost = kind === 'wlc' ? oh : (m: PoolMember): number => m.active + 1;
  const lines = [kind === 'wlc'
    ? 'wlc: overhead = 256 × active + inactive; d beats least when overhead(least) × w(d) > overhead(d) × w(least)'
    : `${kind}: overhead = active + 1; d beats least when overhead(least) × w(d) > overhead(d) × w(least)${kind === 'nq' ? '; an idle destination (0 active) wins at once' : ''}`];
  let least = -1;
  for (let k = 0; k < p.members.length; k++) {
    const m = p.members[k]!;
    if (m.weight === 0) {
      lines.push(`list position ${k} ${x.label(k)}: weight 0, skipped`);
      continue;
    }
    if (kind === 'nq' && m.active === 0) {
      lines.push(`list position ${k} ${x.label(k)}: 0 active (idle) → picked`);
      return { pick: k, detail: -1, lines };
    }
    const doh = cost(m);
    if (least < 0) {
      least = k;
      lines.push(`list position ${k} ${x.label(k)}: overhead ${doh}, weight ${m.weight} (first with weight > 0)`);
      continue;
    }
    const l = p.members[least]!;
    const left = BigInt(cost(l)) * BigInt(m.weight);
    const right = BigInt(doh) * BigInt(l.weight);
    const wins = left > right;
    lines.push(`list position ${k} ${x.label(k)}: overhead ${doh}, weight ${m.weight}: ${cost(l)} × ${m.weight} = ${left} ${wins ? '>' : '≤'} ${doh} × ${l.weight} = ${right}${wins ? ' → least so far' : ''}`);
    if (wins) least = k;
  }
  if (least >= 0) lines.push(`picked list position ${least} ${x.label(least)}`);
  return { pick: least, detail: -1, lines };
}

/** The member in a table entry if it has weight > 0; the probe sequence with sh/mh-fallback. */
function hashed(p: PoolState, x: SchedulerInput, index: number, what: string, probe: ((off: number) => number) | null): SchedulerArithmetic {
  const lines: string[] = [];
  const k = x.tableEntry(index);
  if (k < 0) return { pick: -1, detail: index, lines: [`${what} ${index} is empty`] };
  const w = p.members[k]!.weight;
  lines.push(`${what} ${index} holds list position ${k} ${x.label(k)} (weight ${w})`);
  if (w > 0) return { pick: k, detail: index, lines: [...lines, `weight > 0 → picked`] };
  if (!probe) return { pick: -1, detail: index, lines: [...lines, 'weight 0 and no fallback flag: no destination'] };
  const size = p.scheduler === 'mh' ? MH_TAB_SIZE : HASH_TAB_SIZE;
  for (let off = 0; off < size; off++) {
    const slot = probe(off);
    const m = x.tableEntry(slot);
    if (m < 0) return { pick: -1, detail: index, lines: [...lines, `fallback: ${what} ${slot} is empty, no destination`] };
    if (p.members[m]!.weight > 0) return { pick: m, detail: slot, lines: [...lines, `fallback probe ${off}: ${what} ${slot} → list position ${m} ${x.label(m)}, weight > 0 → picked`] };
  }
  return { pick: -1, detail: index, lines };
}

function dh(p: PoolState, x: SchedulerInput): SchedulerArithmetic {
  const bucket = hash32(x.dstFold, HASH_TAB_BITS);
  const r = hashed(p, x, bucket, 'bucket', null);
  return { ...r, lines: [`dh: bucket = hash_32(fold(daddr) ${hex(x.dstFold)}, 8) = ${bucket}; bucket j holds list position j mod ${p.members.length}`, ...r.lines] };
}

function sh(p: PoolState, x: SchedulerInput): SchedulerArithmetic {
  const port = p.hashPort ? x.srcPort : 0;
  const ihash = hash32((port + x.srcFold) >>> 0, HASH_TAB_BITS);
  const probe = p.fallback ? (off: number): number => (ihash + ((off + ihash) & 255)) & 255 : null;
  const r = hashed(p, x, ihash, 'bucket', probe);
  const input = p.hashPort ? `sport ${port} + fold(saddr) ${hex(x.srcFold)}` : `fold(saddr) ${hex(x.srcFold)}`;
  return { ...r, lines: [`sh: bucket = hash_32(${input}, 8) = ${ihash}; buckets are filled in list order, w(d) each`, ...r.lines] };
}

function mh(p: PoolState, x: SchedulerInput): SchedulerArithmetic {
  const port = p.hashPort ? x.srcPort : 0;
  const slot = mhHash(x.srcFold, port, 0) % MH_TAB_SIZE;
  const probe = p.fallback ? (off: number): number => mhHash(x.srcFold, port, (off + slot) % MH_TAB_SIZE) % MH_TAB_SIZE : null;
  const r = hashed(p, x, slot, 'slot', probe);
  const input = p.hashPort ? `sport ${port} + fold(saddr) ${hex(x.srcFold)}` : `fold(saddr) ${hex(x.srcFold)}`;
  return { ...r, lines: [`mh: slot = hsiphash(${input}) mod ${MH_TAB_SIZE} = ${slot}`, ...r.lines] };
}

/** engine/schedulers/random.ts: xorshift32, then r = ⌊x × Σw / 2^32⌋ walked over the weights. */
function random(p: PoolState, x: SchedulerInput): SchedulerArithmetic {
  const total = p.members.reduce((s, m) => s + m.weight, 0);
  if (total === 0) return { pick: -1, detail: -1, lines: ['random: every weight is 0, no destination'] };
  let s = x.randomState >>> 0;
  s = (s ^ (s << 13)) >>> 0;
  s = (s ^ (s >>> 17)) >>> 0;
  s = (s ^ (s << 5)) >>> 0;
  let r = Number((BigInt(s) * BigInt(total)) >> 32n);
  const lines = [`random: xorshift32 state ${hex(x.randomState)} → ${hex(s)}; r = ⌊${s} × Σweight ${total} / 2^32⌋ = ${r}`];
  for (let k = 0; k < p.members.length; k++) {
    const w = p.members[k]!.weight;
    if (r < w) return { pick: k, detail: -1, lines: [...lines, `r ${r} < weight ${w} of list position ${k} ${x.label(k)} → picked`] };
    lines.push(`r ${r} ≥ weight ${w} of list position ${k} ${x.label(k)}: r = ${r} − ${w} = ${r - w}`);
    r -= w;
  }
  return { pick: -1, detail: -1, lines };
}

/** The scheduler's pick for the pool's current state, with its arithmetic. */
export function schedulerArithmetic(p: PoolState, x: SchedulerInput): SchedulerArithmetic {
  switch (p.scheduler) {
    case 'rr': return rr(p, x);
    case 'wrr': return wrr(p, x);
    case 'lc': return lc(p, x);
    case 'wlc': return weighted(p, x, 'wlc');
    case 'sed': return weighted(p, x, 'sed');
    case 'nq': return weighted(p, x, 'nq');
    case 'dh': return dh(p, x);
    case 'sh': return sh(p, x);
    case 'mh': return mh(p, x);
    case 'random': return random(p, x);
  }
}
