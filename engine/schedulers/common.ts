/**
 * What every scheduler shares: a pool's members in kernel destination-list order (engine order,
 * head first), their weights and connection counters. The engine models no u_threshold/l_threshold,
 * so OVERLOAD never sets and "eligible" is just weight > 0 (reference/ipvs-schedulers.md §1.2, §2.4).
 */
import { Generation } from '../generation';
import { H_ACTIVE, H_INACTIVE, H_WEIGHT } from '../layout';

/** Scheduler detail of the last decision: dh/sh bucket or mh slot, -1 otherwise. */
export let schedDetail: i32 = -1;

export function setDetail(detail: i32): void {
  schedDetail = detail;
}

// @ts-ignore: decorator
@inline export function weightOf(gen: Generation, b: i32): u32 {
  return gen.hotWord(b, H_WEIGHT);
}

// @ts-ignore: decorator
@inline export function activeOf(gen: Generation, b: i32): u32 {
  return gen.hotWord(b, H_ACTIVE);
}

/** `ip_vs_dest_conn_overhead`: (activeconns << 8) + inactconns. */
// @ts-ignore: decorator
@inline export function overhead(gen: Generation, b: i32): u32 {
  return (gen.hotWord(b, H_ACTIVE) << 8) + gen.hotWord(b, H_INACTIVE);
}

/** Greatest common divisor of two positive integers. */
export function gcd(a: u32, b: u32): u32 {
  while (b != 0) {
    const t = a % b;
    a = b;
    b = t;
  }
  return a;
}
