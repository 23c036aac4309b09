/**
 * rr and wrr (reference/ipvs-schedulers.md §3 and §4). Positions are kept as a server object or
 * `null` for the list head, exactly like the kernel's list pointers.
 */
import { gcd } from './hash.js';
import { eligible, NONE, type RefChoice, type RefDest, type RefScheduler } from './dest.js';

/** rr: the first eligible server after the last one chosen, wrapping round to it inclusively. */
export class RoundRobin implements RefScheduler {
  /** The last server chosen, or null for the head. */
  position: RefDest | null = null;

  init(): void {
    this.position = null;
  }
  added(): void {}
  updated(): void {}
  /** Deleting the position moves it to the deleted server's predecessor (or the head). */
  deleted(list: readonly RefDest[], dest: RefDest, index: number): void {
    if (this.position === dest) this.position = index > 0 ? list[index - 1]! : null;
  }
  schedule(list: readonly RefDest[]): RefChoice {
    const start = this.position === null ? 0 : list.indexOf(this.position) + 1;
    for (let k = 0; k < list.length; k++) {
      const d = list[(start + k) % list.length]!;
      if (eligible(d)) {
        this.position = d;
        return { dest: d, detail: -1 };
      }
    }
    return NONE;
  }
}

/** gcd of all weights > 0, or 1 when there are none (ip_vs_wrr_gcd_weight). */
function gcdWeight(list: readonly RefDest[]): number {
  let g = 0;
  for (const d of list) if (d.weight > 0) g = g > 0 ? gcd(d.weight, g) : d.weight;
  return g || 1;
}

/** wrr: interleaved weighted round robin with the kernel's (cl, cw, mw, di) state. */
export class WeightedRoundRobin implements RefScheduler {
  /** Last server chosen, or null for the head. */
  cl: RefDest | null = null;
  /** Current weight threshold, max weight − (di − 1), gcd of the weights. */
  cw = 0;
  mw = 0;
  di = 1;

  init(list: readonly RefDest[]): void {
    this.cl = null;
    this.di = gcdWeight(list);
    this.mw = Math.max(0, ...list.map((d) => d.weight)) - (this.di - 1);
    this.cw = this.mw;
  }
  /** add, delete and update all reset the position and recompute, keeping cw's phase if it fits. */
  private changed(list: readonly RefDest[]): void {
    this.cl = null;
    this.di = gcdWeight(list);
    this.mw = Math.max(0, ...list.map((d) => d.weight)) - (this.di - 1);
    if (this.cw > this.mw || this.cw === 0) this.cw = this.mw;
    else if (this.di > 1) this.cw = Math.floor(this.cw / this.di) * this.di + 1;
  }
  added(list: readonly RefDest[]): void {
    this.changed(list);
  }
  deleted(list: readonly RefDest[]): void {
    this.changed(list);
  }
  updated(list: readonly RefDest[]): void {
    this.changed(list);
  }

  schedule(list: readonly RefDest[]): RefChoice {
    if (this.mw === 0) return NONE;
    const last = this.cl;
    let i = last === null ? 0 : list.indexOf(last) + 1;
    let stop: RefDest | null = null;
    let lastPass = false;
    let restarted = false;
    // Each pass lowers cw by di and a full cycle restarts once, so 2·(mw/di + 1) passes bound it.
    for (let guard = 0; guard < 2 * (this.mw + 2) * (list.length + 1); guard++) {
      for (; i < list.length; i++) {
        const d = list[i]!;
        if (!d.overloaded && d.weight >= this.cw) {
          this.cl = d;
          return { dest: d, detail: -1 };
        }
        if (d === stop) {
          this.cl = d;
          return NONE;
        }
      }
      this.cw -= this.di;
      if (this.cw <= 0) {
        this.cw = this.mw;
        if (lastPass || last === null) {
          this.cl = null;
          return NONE;
        }
        restarted = true;
      }
      lastPass = this.cw <= this.di;
      if (lastPass && restarted && last !== null) stop = last;
      i = 0;
    }
    throw new Error('wrr reference: walk did not terminate');
  }
}
