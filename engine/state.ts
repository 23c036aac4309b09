/**
 * The engine's global state: the serving generation and the tunables set at init. One engine per
 * Wasm instance; every host call runs to completion, so a swap of `current` is atomic.
 */
import { Generation } from './generation';

/** The generation lookups use. Starts empty (generation 0: nothing matches, every verdict Pass). */
export let current: Generation = new Generation();

export function setCurrent(gen: Generation): void {
  current = gen;
}

/**
 * Flow idle timeouts per class, milliseconds (IPVS: tcp 900 s, tcpfin 120 s, udp 300 s; sctp
 * 900 s; SYN_RECV 60 s). The class number is also the tie-break among equally old eviction
 * candidates (lower first).
 */
export const CLASS_TCP: u32 = 0;
export const CLASS_TCP_FIN: u32 = 1;
export const CLASS_UDP: u32 = 2;
export const CLASS_SCTP: u32 = 3;
/** A TCP connection not yet established (IPVS SYN_RECV): short timeout, first to go when full. */
export const CLASS_TCP_SYN: u32 = 4;
/** Number of flow classes (each has its own LRU list). */
// @ts-ignore: decorator
@inline export const FLOW_CLASS_COUNT: i32 = 5;
/**
 * Four u32 words in static memory, indexed like a StaticArray (`timeoutMs[c]`, `unchecked(...)`).
 * Unmanaged on purpose: a managed global read on the hot path makes every caller keep a shadow
 * stack frame (a `memory.fill` per call under the incremental runtime).
 */
@unmanaged
export class ClassTimeouts {
  // @ts-ignore: decorator
  @inline @operator('[]') get(c: u32): u32 {
    return load<u32>(changetype<usize>(this) + (<usize>c << 2));
  }
  // @ts-ignore: decorator
  @inline @operator('[]=') set(c: u32, value: u32): void {
    store<u32>(changetype<usize>(this) + (<usize>c << 2), value);
  }
  // @ts-ignore: decorator
  @inline @operator('{}') getUnchecked(c: u32): u32 {
    return load<u32>(changetype<usize>(this) + (<usize>c << 2));
  }
  // @ts-ignore: decorator
  @inline @operator('{}=') setUnchecked(c: u32, value: u32): void {
    store<u32>(changetype<usize>(this) + (<usize>c << 2), value);
  }
}
export const timeoutMs = changetype<ClassTimeouts>(memory.data<u32>([900_000, 120_000, 300_000, 900_000, 60_000]));

/** Counters reported by stats(). Unmanaged (static memory) for the same reason as ClassTimeouts. */
@unmanaged
export class Stats {
  flowEvictions: u64 = 0;
  affinityEvictions: u64 = 0;
  flowExpirations: u64 = 0;
  affinityExpirations: u64 = 0;
  flowsDroppedOnSwap: u64 = 0;
  affinitiesDroppedOnSwap: u64 = 0;
  /** New connections served but not tracked: their probe chain was MAX_PROBE long (flows.ts). */
  flowsUntracked: u64 = 0;
  /** New ClientIP pinnings not kept: their probe chain was MAX_PROBE long (affinity.ts). */
  affinitiesUntracked: u64 = 0;
}
export const stats = changetype<Stats>(memory.data(offsetof<Stats>(), 8));

/** Host time in ms as the tables store it: u32, compared with wrap-safe differences. */
// @ts-ignore: decorator
@inline export function toTick(nowMs: f64): u32 {
  return <u32><u64>nowMs;
}

/** `now - then` ≥ `span`, wrap-safe (valid while entries are younger than ~24 days). */
// @ts-ignore: decorator
@inline export function elapsed(now: u32, then: u32, span: u32): bool {
  return <i32>(now - then) >= <i32>span;
}
