/**
 * Engine set-up: capacities, the random seed, the table hash key and flow timeouts. Validated
 * here, inside the engine, so a host that calls the raw export gets a status code instead of
 * overflowed timeouts (issue 10). Re-exported by core.ts.
 */
import { affinityCapacity, affinityInit } from './affinity';
import { flowCapacity, flowsInit } from './flows';
import { seedTableKey } from './hash';
import { seedRandom } from './schedulers/random';
import { settle } from './pending';
import { CLASS_SCTP, CLASS_TCP, CLASS_TCP_FIN, CLASS_TCP_SYN, CLASS_UDP, timeoutMs } from './state';

/** Default flow capacity (like nf_conntrack_max). */
// @ts-ignore: decorator
@inline export const DEFAULT_FLOW_CAPACITY: i32 = 1 << 20;
/** Default affinity capacity. */
// @ts-ignore: decorator
@inline export const DEFAULT_AFFINITY_CAPACITY: i32 = 1 << 16;

/**
 * Keys the flow and affinity table hashes with 128 bits from the host (e.g. crypto random), and
 * forgets every flow and affinity entry (their stored hashes no longer hold).
 */
export function seedTables(a: u32, b: u32, c: u32, d: u32): void {
  settle();
  seedTableKey(a, b, c, d);
  flowsInit(flowCapacity());
  affinityInit(affinityCapacity());
}

let initialized = false;

/**
 * Largest flow timeout `init` accepts, in seconds. Timeouts are kept in u32 milliseconds and
 * compared as i32 differences (state.ts `elapsed`), so ×1000 must stay below 2^31: 3,000,000 s
 * would read as negative (every flow expired at once) and 5,000,000 s would wrap to about 8 days.
 */
// @ts-ignore: decorator
@inline export const MAX_TIMEOUT_S: u32 = 2_000_000;
/** `init` status: applied. */
// @ts-ignore: decorator
@inline export const INIT_OK: i32 = 0;
/** `init` status: a timeout above MAX_TIMEOUT_S; nothing was changed. */
// @ts-ignore: decorator
@inline export const INIT_BAD_TIMEOUT: i32 = 1;

/**
 * Sets capacities (clamped to 1..2^24 − 2), the random seed and flow timeouts (seconds, at most
 * MAX_TIMEOUT_S; 0 keeps the current value; `synS` is the not-yet-established TCP timeout, IPVS
 * SYN_RECV 60 s), and forgets every flow and affinity entry. Returns INIT_OK, or
 * INIT_BAD_TIMEOUT with nothing changed. Call once before `loadSnapshot` (it is called with
 * defaults otherwise).
 */
export function init(flowCap: i32, affinityCap: i32, seed: u32, tcpS: u32, tcpFinS: u32, udpS: u32, sctpS: u32, synS: u32): i32 {
  if (tcpS > MAX_TIMEOUT_S || tcpFinS > MAX_TIMEOUT_S || udpS > MAX_TIMEOUT_S || sctpS > MAX_TIMEOUT_S || synS > MAX_TIMEOUT_S) return INIT_BAD_TIMEOUT;
  settle();
  flowsInit(flowCap > 0 ? flowCap : DEFAULT_FLOW_CAPACITY);
  affinityInit(affinityCap > 0 ? affinityCap : DEFAULT_AFFINITY_CAPACITY);
  seedRandom(seed);
  // A deterministic key from the seed; hosts that face untrusted clients call seedTables with
  // real randomness right after init.
  seedTableKey(seed, 0x5eed7ab1, ~seed, 0x0c0ffee5);
  if (tcpS) unchecked((timeoutMs[CLASS_TCP] = tcpS * 1000));
  if (tcpFinS) unchecked((timeoutMs[CLASS_TCP_FIN] = tcpFinS * 1000));
  if (udpS) unchecked((timeoutMs[CLASS_UDP] = udpS * 1000));
  if (sctpS) unchecked((timeoutMs[CLASS_SCTP] = sctpS * 1000));
  if (synS) unchecked((timeoutMs[CLASS_TCP_SYN] = synS * 1000));
  initialized = true;
  return INIT_OK;
}

/** Runs `init` with defaults unless the host already has. */
export function ensureInit(): void {
  if (!initialized) init(0, 0, 1, 0, 0, 0, 0, 0);
}

