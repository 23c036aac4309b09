/**
 * dh, sh and mh: the table-based schedulers (reference/ipvs-schedulers.md §6 and §7).
 * Tables are plain arrays of servers (null = empty bucket), rebuilt by the kernel's hooks.
 */
import { eligible, NONE, type RefChoice, type RefDest, type RefPacket, type RefScheduler } from './dest.js';
import { fls, fold, gcd, hash32, hsiphashU32 } from './hash.js';

/** dh and sh use 2^8 buckets. */
export const HASH_BITS = 8;
export const HASH_SIZE = 1 << HASH_BITS;

/** dh: bucket j holds server j mod n; the packet's destination address picks the bucket. */
export class DestinationHashing implements RefScheduler {
  buckets: (RefDest | null)[] = new Array<RefDest | null>(HASH_SIZE).fill(null);

  private assign(list: readonly RefDest[]): void {
    for (let j = 0; j < HASH_SIZE; j++) this.buckets[j] = list.length ? list[j % list.length]! : null;
  }
  init(list: readonly RefDest[]): void {
    this.assign(list);
  }
  added(list: readonly RefDest[]): void {
    this.assign(list);
  }
  deleted(list: readonly RefDest[]): void {
    this.assign(list);
  }
  /** dh has no update hook: weights never change its layout. */
  updated(): void {}
  schedule(_list: readonly RefDest[], packet: RefPacket): RefChoice {
    const bucket = hash32(fold(packet.vip), HASH_BITS);
    const d = this.buckets[bucket]!;
    return { dest: d && eligible(d) ? d : null, detail: bucket };
  }
}

/** sh: each server fills w consecutive buckets in turn (w = 0 still takes one); the client picks. */
export class SourceHashing implements RefScheduler {
  buckets: (RefDest | null)[] = new Array<RefDest | null>(HASH_SIZE).fill(null);
  constructor(
    /** sh-port: add the client's source port to the key. */
    public port: boolean,
    /** sh-fallback: probe further buckets when the hashed server is unavailable. */
    public fallback: boolean,
  ) {}

  private assign(list: readonly RefDest[]): void {
    let p = 0;
    let count = 0;
    for (let j = 0; j < HASH_SIZE; j++) {
      if (!list.length) {
        this.buckets[j] = null;
        continue;
      }
      const d = list[p]!;
      this.buckets[j] = d;
      if (++count >= d.weight) {
        p = (p + 1) % list.length;
        count = 0;
      }
    }
  }
  init(list: readonly RefDest[]): void {
    this.assign(list);
  }
  added(list: readonly RefDest[]): void {
    this.assign(list);
  }
  deleted(list: readonly RefDest[]): void {
    this.assign(list);
  }
  updated(list: readonly RefDest[]): void {
    this.assign(list);
  }
  schedule(_list: readonly RefDest[], packet: RefPacket): RefChoice {
    const key = ((this.port ? packet.clientPort : 0) + fold(packet.client)) >>> 0;
    const ihash = hash32(key, HASH_BITS);
    const first = this.buckets[ihash]!;
    if (!first) return { dest: null, detail: ihash };
    if (eligible(first) || !this.fallback) return { dest: eligible(first) ? first : null, detail: ihash };
    for (let k = 0; k < HASH_SIZE; k++) {
      const bucket = (2 * ihash + k) % HASH_SIZE;
      const d = this.buckets[bucket];
      if (!d) break;
      if (eligible(d)) return { dest: d, detail: bucket };
    }
    return { dest: null, detail: ihash };
  }
}

/** mh table size M (CONFIG_IP_VS_MH_TAB_INDEX 12) and TAB_BITS = 12 / 2. */
export const MH_SIZE = 4093;
export const MH_TAB_BITS = 6;
/** The fixed hsiphash keys of ip_vs_mh.c's generate_hash_secret. */
export const MH_KEY1 = 2654435761n;
export const MH_KEY2 = 2654446892n;

/** H(key, v) with both key halves equal, as ip_vs_mh.c sets them. */
export function mhHash(key: bigint, v: number): number {
  return hsiphashU32(key, key, v >>> 0);
}

/** Per-server Maglev setup: preference sequence start, step, and slots claimed per round. */
export interface MhSetup {
  readonly offset: number;
  readonly skip: number;
  readonly turns: number;
}

/** mh: Maglev lookup table of M slots filled from each server's preference sequence. */
export class MaglevHashing implements RefScheduler {
  slots: (RefDest | null)[] = new Array<RefDest | null>(MH_SIZE).fill(null);
  gcd = 0;
  rshift = 0;
  setups: MhSetup[] = [];
  constructor(
    public port: boolean,
    public fallback: boolean,
  ) {}

  private rebuild(list: readonly RefDest[]): void {
    // More servers than slots: the kernel refuses and keeps the old table.
    if (list.length > MH_SIZE) return;
    let g = 0;
    for (const d of list) if (d.lastWeight > 0) g = g > 0 ? gcd(d.lastWeight, g) : d.lastWeight;
    this.gcd = g;
    const maxLw = Math.max(0, ...list.map((d) => d.lastWeight));
    this.rshift = g < 1 ? 0 : Math.max(0, fls(Math.floor(maxLw / g)) - MH_TAB_BITS);
    this.slots.fill(null);
    if (g < 1) {
      this.setups = [];
      return;
    }
    this.setups = list.map((d) => {
      const v = (d.port + fold(d.addr)) >>> 0;
      const turns = Math.floor(d.lastWeight / g) >> this.rshift;
      return {
        offset: mhHash(MH_KEY1, v) % MH_SIZE,
        skip: (mhHash(MH_KEY2, v) % (MH_SIZE - 1)) + 1,
        turns: turns || (d.lastWeight !== 0 ? 1 : 0),
      };
    });
    const next = this.setups.map((s) => s.offset);
    let filled = 0;
    // Every round fills at least one slot (gcd ≥ 1 means some server has turns ≥ 1).
    while (filled < MH_SIZE) {
      for (let i = 0; i < list.length; i++) {
        for (let t = 0; t < this.setups[i]!.turns; t++) {
          while (this.slots[next[i]!] !== null) next[i] = (next[i]! + this.setups[i]!.skip) % MH_SIZE;
          this.slots[next[i]!] = list[i]!;
          if (++filled === MH_SIZE) return;
        }
      }
    }
  }
  init(list: readonly RefDest[]): void {
    this.rebuild(list);
  }
  added(list: readonly RefDest[]): void {
    this.rebuild(list);
  }
  deleted(list: readonly RefDest[]): void {
    this.rebuild(list);
  }
  updated(list: readonly RefDest[]): void {
    this.rebuild(list);
  }
  /** hashkey(client, port, key1, offset) mod M. */
  slotOf(packet: RefPacket, offset: number): number {
    const port = this.port ? packet.clientPort : 0;
    return mhHash(MH_KEY1, (offset + port + fold(packet.client)) >>> 0) % MH_SIZE;
  }
  schedule(_list: readonly RefDest[], packet: RefPacket): RefChoice {
    const ihash = this.slotOf(packet, 0);
    const first = this.slots[ihash]!;
    if (!first) return { dest: null, detail: ihash };
    if (eligible(first) || !this.fallback) return { dest: eligible(first) ? first : null, detail: ihash };
    for (let k = 0; k < MH_SIZE; k++) {
      const slot = this.slotOf(packet, (ihash + k) % MH_SIZE);
      const d = this.slots[slot];
      if (!d) break;
      if (eligible(d)) return { dest: d, detail: slot };
    }
    return { dest: null, detail: ihash };
  }
}

export { NONE };
