/**
 * What every scheduler shares: a pool's members in kernel destination-list order (head first;
 * pools.ts), their weights and their own connection counters (one `ip_vs_dest` per virtual
 * service). The accessors take member slots (`Generation.member`). The engine models no u_threshold/l_threshold,
 * so OVERLOAD never sets and "eligible" is just weight > 0 (reference/ipvs-schedulers.md §1.2, §2.4).
 */
import { Generation } from '../generation';
import { MEMBER_ACTIVE, MEMBER_INACTIVE, MEMBER_WEIGHT, NOT_UNIFORM } from '../layout';

/** Scheduler detail of the last decision: dh/sh bucket or mh slot, -1 otherwise. */
export let schedDetail: i32 = -1;
/**
 * The chosen member's local index when the scheduler knew it without reading the member record
 * (rr, dh, sh or mh through a uniform match slot: MATCH_UNIFORM_BASE), -1 otherwise.
 */
export let schedLocal: i32 = -1;

export function setDetail(detail: i32): void {
  schedDetail = detail;
}

export function setLocal(local: i32): void {
  schedLocal = local;
}

/**
 * Whether member `k` is eligible, `base` being the pool's MATCH_UNIFORM_BASE: without reading
 * its member line when the pool is uniform (every member eligible; member k's local index is
 * `base` + k, kept in `schedLocal`).
 */
// @ts-ignore: decorator
@inline export function eligible(gen: Generation, base: u32, first: i32, k: i32): bool {
  if (base != NOT_UNIFORM) {
    schedLocal = <i32>(base + <u32>k);
    return true;
  }
  return weightOf(gen, first + k) > 0;
}

// @ts-ignore: decorator
@inline export function weightOf(gen: Generation, slot: i32): u32 {
  return gen.memberWord(slot, MEMBER_WEIGHT);
}

// @ts-ignore: decorator
@inline export function activeOf(gen: Generation, slot: i32): u32 {
  return gen.memberWord(slot, MEMBER_ACTIVE);
}

/** `ip_vs_dest_conn_overhead`: (activeconns << 8) + inactconns. */
// @ts-ignore: decorator
@inline export function overhead(gen: Generation, slot: i32): u32 {
  return (gen.memberWord(slot, MEMBER_ACTIVE) << 8) + gen.memberWord(slot, MEMBER_INACTIVE);
}

/**
 * Members whose lines `readAhead` reads (2 member records per 64-byte line): a pool of 10, as most
 * Services have, is read whole.
 */
// @ts-ignore: decorator
@inline const READ_AHEAD: i32 = 16;

/**
 * Reads the lines of a pool's first members (up to READ_AHEAD) while the load that picks one is
 * still in flight (rr's position, dh/sh/mh's table entry), so the chosen member's miss does not
 * wait on it (issue 10). Wasm has no prefetch instruction: these are plain loads, and the caller
 * folds the result into its next index as `seen & 0` so no pass drops them.
 */
// @ts-ignore: decorator
@inline export function readAhead(gen: Generation, first: i32, n: i32): u32 {
  const ahead = n < READ_AHEAD ? n : READ_AHEAD;
  let seen: u32 = 0;
  for (let i = 0; i < ahead; i += 2) seen |= weightOf(gen, first + i);
  if (ahead > 1) seen |= weightOf(gen, first + ahead - 1);
  return seen;
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
