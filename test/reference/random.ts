/**
 * `random`, which is not an IPVS scheduler: vipwasm's weighted random pick. Modelled exactly from
 * the engine's documented stream (engine/schedulers/random.ts): one xorshift32 generator per engine
 * (shift 13, 17, 5), seeded with EngineOptions.seed (0 becomes 1), one draw per scheduling call
 * with some weight > 0; the draw r = ⌊x · Σw / 2^32⌋ lands on the server whose cumulative weight
 * range holds it, in list order.
 */
import { NONE, type RefChoice, type RefDest, type RefScheduler } from './dest.js';

export class XorShift32 {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0 || 1;
  }
  next(): number {
    let x = this.state;
    x = (x ^ (x << 13)) >>> 0;
    x = (x ^ (x >>> 17)) >>> 0;
    x = (x ^ (x << 5)) >>> 0;
    this.state = x;
    return x;
  }
}

export class WeightedRandom implements RefScheduler {
  constructor(private readonly rng: XorShift32) {}
  init(): void {}
  added(): void {}
  deleted(): void {}
  updated(): void {}
  schedule(list: readonly RefDest[]): RefChoice {
    const total = list.reduce((sum, d) => sum + d.weight, 0);
    if (total === 0) return NONE;
    let r = Number((BigInt(this.rng.next()) * BigInt(total)) >> 32n);
    for (const d of list) {
      if (r < d.weight) return { dest: d, detail: -1 };
      r -= d.weight;
    }
    return NONE;
  }
}
