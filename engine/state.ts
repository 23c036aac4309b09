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

/** Flow idle timeouts per class, milliseconds (IPVS: tcp 900 s, tcpfin 120 s, udp 300 s; sctp 900 s). */
export const CLASS_TCP: u32 = 0;
export const CLASS_TCP_FIN: u32 = 1;
export const CLASS_UDP: u32 = 2;
export const CLASS_SCTP: u32 = 3;
export const timeoutMs = new StaticArray<u32>(4);
unchecked((timeoutMs[0] = 900_000));
unchecked((timeoutMs[1] = 120_000));
unchecked((timeoutMs[2] = 300_000));
unchecked((timeoutMs[3] = 900_000));

/** Counters reported by stats(). */
export class Stats {
  flowEvictions: u64 = 0;
  affinityEvictions: u64 = 0;
  flowExpirations: u64 = 0;
  affinityExpirations: u64 = 0;
  flowsDroppedOnSwap: u64 = 0;
  affinitiesDroppedOnSwap: u64 = 0;
}
export const stats = new Stats();

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
