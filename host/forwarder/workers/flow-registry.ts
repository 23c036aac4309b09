/**
 * Which engine flows a worker thread holds open, in memory the main thread can read after the
 * worker died (issue 14, part 2): main then closes each of them on the engine, so lc/wlc/sed/nq
 * counts stay exact while the worker's sockets are gone.
 *
 * A fixed open-addressing hash set of 5-tuples in a SharedArrayBuffer, written by its worker only
 * (connect → add, close → remove; no allocation per connection) and read by main once the worker
 * has exited. When `capacity` flows are recorded, further ones are not recorded but counted
 * (`overflow`): if that worker dies, their engine flows stay counted until the engine expires
 * them (tcp timeout), and main says so in its log.
 *
 * Layout (Int32 words):
 * ```
 *  header: | slots | capacity | used | overflow |
 *  slot:   | state | protocol | srcPort | dstPort | family | src w0..w3 | dst w0..w3 | pad |
 *            0 free, 1 used                         (dst family = src family, as the engine's tuples)
 * ```
 */
import type { Address } from '../../engine/address.js';
import { formatAddressWords } from './address-words.js';

/** Default flows recorded per worker (3.1 MiB of shared memory). */
export const DEFAULT_FLOW_REGISTRY_CAPACITY = 1 << 15;

const HEADER = 4;
const SLOT = 16;
const H_SLOTS = 0;
const H_CAPACITY = 1;
const H_USED = 2;
const H_OVERFLOW = 3;

export interface RecordedFlow {
  readonly protocol: number;
  readonly src: Address;
  readonly srcPort: number;
  readonly dst: Address;
  readonly dstPort: number;
}

export class FlowRegistry {
  private readonly words: Int32Array;
  private readonly mask: number;

  /** A new, empty registry for `capacity` flows; hand `.buffer` to the worker. */
  static create(capacity = DEFAULT_FLOW_REGISTRY_CAPACITY): FlowRegistry {
    let slots = 16;
    while (slots < capacity * 2) slots *= 2;
    const buffer = new SharedArrayBuffer((HEADER + slots * SLOT) * 4);
    const words = new Int32Array(buffer);
    words[H_SLOTS] = slots;
    words[H_CAPACITY] = capacity;
    return new FlowRegistry(buffer);
  }

  constructor(readonly buffer: SharedArrayBuffer) {
    this.words = new Int32Array(buffer);
    this.mask = this.words[H_SLOTS]! - 1;
  }

  /** Flows recorded now. */
  get size(): number {
    return this.words[H_USED]!;
  }

  /** Flows not recorded because the registry was full (cumulative). */
  get overflow(): number {
    return this.words[H_OVERFLOW]!;
  }

  /**
   * Records an open flow (idempotent: a flow already recorded stays once). True when it was not
   * recorded before (so a caller that recorded ahead of a refused connect knows to forget it).
   */
  add(protocol: number, src: Address, srcPort: number, dst: Address, dstPort: number): boolean {
    const w = this.words;
    let i = this.home(protocol, src, srcPort, dst, dstPort);
    while (w[HEADER + i * SLOT] === 1) {
      if (this.matches(i, protocol, src, srcPort, dst, dstPort)) return false;
      i = (i + 1) & this.mask;
    }
    if (w[H_USED]! >= w[H_CAPACITY]!) {
      w[H_OVERFLOW]!++;
      return false;
    }
    const o = HEADER + i * SLOT;
    w[o + 1] = protocol;
    w[o + 2] = srcPort;
    w[o + 3] = dstPort;
    w[o + 4] = src.family;
    w[o + 5] = src.w0; w[o + 6] = src.w1; w[o + 7] = src.w2; w[o + 8] = src.w3;
    w[o + 9] = dst.w0; w[o + 10] = dst.w1; w[o + 11] = dst.w2; w[o + 12] = dst.w3;
    Atomics.store(w, o, 1);
    w[H_USED]!++;
    return true;
  }

  /**
   * Whether a flow is recorded (main reads a live worker's registry while that worker writes it:
   * a slot is published by its state word, and a backward shift copies an entry before it clears
   * the old slot, so a recorded flow is always found).
   */
  has(protocol: number, src: Address, srcPort: number, dst: Address, dstPort: number): boolean {
    let i = this.home(protocol, src, srcPort, dst, dstPort);
    for (let n = 0; n <= this.mask; n++) {
      if (Atomics.load(this.words, HEADER + i * SLOT) !== 1) return false;
      if (this.matches(i, protocol, src, srcPort, dst, dstPort)) return true;
      i = (i + 1) & this.mask;
    }
    return false;
  }

  /** Forgets a flow (closed); no-op when it was not recorded. */
  remove(protocol: number, src: Address, srcPort: number, dst: Address, dstPort: number): void {
    const w = this.words;
    let i = this.home(protocol, src, srcPort, dst, dstPort);
    while (!this.matches(i, protocol, src, srcPort, dst, dstPort)) {
      if (w[HEADER + i * SLOT] !== 1) return;
      i = (i + 1) & this.mask;
    }
    // Backward-shift deletion (linear probing without tombstones): move later entries of the
    // same probe run into the hole, so lookups never stop early at it.
    let j = i;
    for (;;) {
      j = (j + 1) & this.mask;
      const oj = HEADER + j * SLOT;
      if (w[oj] !== 1) break;
      const k = this.homeOfSlot(j);
      const stays = i <= j ? i < k && k <= j : i < k || k <= j;
      if (stays) continue;
      w.copyWithin(HEADER + i * SLOT, oj, oj + SLOT);
      i = j;
    }
    Atomics.store(w, HEADER + i * SLOT, 0);
    w[H_USED]!--;
  }

  /** Every recorded flow (main thread, after the worker exited). */
  flows(): RecordedFlow[] {
    const w = this.words;
    const out: RecordedFlow[] = [];
    for (let i = 0; i <= this.mask; i++) {
      const o = HEADER + i * SLOT;
      if (Atomics.load(w, o) !== 1) continue;
      const family = w[o + 4] as 4 | 6;
      out.push({
        protocol: w[o + 1]!,
        srcPort: w[o + 2]!,
        dstPort: w[o + 3]!,
        src: formatAddressWords(family, w[o + 5]!, w[o + 6]!, w[o + 7]!, w[o + 8]!),
        dst: formatAddressWords(family, w[o + 9]!, w[o + 10]!, w[o + 11]!, w[o + 12]!),
      });
    }
    return out;
  }

  private matches(i: number, protocol: number, src: Address, srcPort: number, dst: Address, dstPort: number): boolean {
    const w = this.words;
    const o = HEADER + i * SLOT;
    return (
      w[o] === 1 && w[o + 1] === protocol && w[o + 2] === srcPort && w[o + 3] === dstPort && w[o + 4] === src.family &&
      w[o + 5] === (src.w0 | 0) && w[o + 6] === (src.w1 | 0) && w[o + 7] === (src.w2 | 0) && w[o + 8] === (src.w3 | 0) &&
      w[o + 9] === (dst.w0 | 0) && w[o + 10] === (dst.w1 | 0) && w[o + 11] === (dst.w2 | 0) && w[o + 12] === (dst.w3 | 0)
    );
  }

  private home(protocol: number, src: Address, srcPort: number, dst: Address, dstPort: number): number {
    return mix(protocol, srcPort, dstPort, src.w0, src.w1, src.w2, src.w3, dst.w0, dst.w1, dst.w2, dst.w3) & this.mask;
  }

  private homeOfSlot(i: number): number {
    const w = this.words;
    const o = HEADER + i * SLOT;
    return mix(w[o + 1]!, w[o + 2]!, w[o + 3]!, w[o + 5]!, w[o + 6]!, w[o + 7]!, w[o + 8]!, w[o + 9]!, w[o + 10]!, w[o + 11]!, w[o + 12]!) & this.mask;
  }
}

/** FNV-1a over the tuple's 32-bit words, then a murmur3 finaliser (fixed arity: no array per call). */
function mix(p: number, sp: number, dp: number, s0: number, s1: number, s2: number, s3: number, d0: number, d1: number, d2: number, d3: number): number {
  let h = 0x811c9dc5 | 0;
  h = Math.imul(h ^ p, 0x01000193);
  h = Math.imul(h ^ sp, 0x01000193);
  h = Math.imul(h ^ dp, 0x01000193);
  h = Math.imul(h ^ (s0 | 0), 0x01000193);
  h = Math.imul(h ^ (s1 | 0), 0x01000193);
  h = Math.imul(h ^ (s2 | 0), 0x01000193);
  h = Math.imul(h ^ (s3 | 0), 0x01000193);
  h = Math.imul(h ^ (d0 | 0), 0x01000193);
  h = Math.imul(h ^ (d1 | 0), 0x01000193);
  h = Math.imul(h ^ (d2 | 0), 0x01000193);
  h = Math.imul(h ^ (d3 | 0), 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}
