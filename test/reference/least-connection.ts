/**
 * lc, wlc, sed, nq (reference/ipvs-schedulers.md §5). Stateless: each reads the counters and
 * weights of the list, head first. All comparisons are strict, so the earlier server wins ties.
 */
import { connOverhead, eligible, NONE, type RefChoice, type RefDest, type RefScheduler } from './dest.js';

/** Base for the stateless schedulers: no hooks do anything. */
abstract class Stateless implements RefScheduler {
  init(): void {}
  added(): void {}
  deleted(): void {}
  updated(): void {}
  abstract schedule(list: readonly RefDest[]): RefChoice;
}

const choose = (dest: RefDest | null): RefChoice => (dest ? { dest, detail: -1 } : NONE);

/** lc: the eligible server with the least 256·a + i; weights matter only as "0 = skip". */
export class LeastConnection extends Stateless {
  schedule(list: readonly RefDest[]): RefChoice {
    let least: RefDest | null = null;
    for (const d of list) {
      if (!eligible(d)) continue;
      if (least === null || connOverhead(d) < connOverhead(least)) least = d;
    }
    return choose(least);
  }
}

/**
 * wlc and sed share one shape: stage 1 takes the first eligible server; stage 2 lets a later
 * non-OVERLOADed server (weight not re-checked) replace it when loh·w(d) > doh·w(least).
 */
abstract class WeightedLeast extends Stateless {
  protected abstract overhead(d: RefDest): number;
  schedule(list: readonly RefDest[]): RefChoice {
    const first = list.findIndex(eligible);
    if (first < 0) return NONE;
    let least = list[first]!;
    for (const d of list.slice(first + 1)) {
      if (d.overloaded) continue;
      if (this.overhead(least) * d.weight > this.overhead(d) * least.weight) least = d;
    }
    return choose(least);
  }
}

/** wlc: overhead 256·a + i, weighted. */
export class WeightedLeastConnection extends WeightedLeast {
  protected overhead(d: RefDest): number {
    return connOverhead(d);
  }
}

/** sed: overhead a + 1 (inactive connections ignored), weighted. */
export class ShortestExpectedDelay extends WeightedLeast {
  protected overhead(d: RefDest): number {
    return d.active + 1;
  }
}

/** nq: the first idle (a = 0) eligible server at once; otherwise the sed rule among the eligible. */
export class NeverQueue extends Stateless {
  schedule(list: readonly RefDest[]): RefChoice {
    let least: RefDest | null = null;
    for (const d of list) {
      if (!eligible(d)) continue;
      if (d.active === 0) return choose(d);
      if (least === null || (least.active + 1) * d.weight > (d.active + 1) * least.weight) least = d;
    }
    return choose(least);
  }
}
