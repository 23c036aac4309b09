/**
 * Read-only views of the serving generation and the tables, for hosts and tools (counters, backend
 * addresses, sizes, name and destination lookups). Re-exported by core.ts; nothing here changes
 * state or sits on the per-packet path.
 */
import {
  MEMBER_ACTIVE, MEMBER_INACTIVE, SP_AFFINITY_MS, SP_BACKEND_COUNT, SP_BACKEND_START, SP_POOL_COUNT, SP_POOL_START,
} from './layout';
import { memberSlotOf } from './pools';
import { current } from './state';
import { matchService } from './service-table';
import { findServicePort } from './names';
import { flowCapacity, flowCount, flowTableBytes } from './flows';
import { affinityCapacity, affinityCount } from './affinity';
import { settle } from './pending';

/** Generation number of the serving snapshot (0 before the first load). */
export function generation(): u32 {
  return current.id;
}

export function servicePortCount(): i32 {
  return current.spCount;
}

/** Backends of the serving service ports (records orphaned by deltas not counted). */
export function backendCount(): i32 {
  return current.backendCount - current.garbageBackends;
}

/**
 * Backend and member records orphaned by deltas since the last full snapshot, plus a record per 64
 * bytes of delta snapshots kept (even a weight change keeps its bytes): a host compacts with a
 * full load when this outgrows `memberRecords`.
 */
export function garbageRecords(): i32 {
  const arenas = current.arenaBytes >> 6;
  return current.garbageBackends + current.garbageMembers + <i32>(arenas < 0x40000000 ? arenas : 0x40000000);
}

/** Member records in use: a compaction hint to compare `garbageRecords` with. */
export function memberRecords(): i32 {
  return current.memberCount - current.garbageMembers;
}

/** Number of backends of service port `sp`. */
export function servicePortBackends(sp: i32): i32 {
  return <i32>current.spWord(sp, SP_BACKEND_COUNT);
}

/**
 * A counter (MEMBER_ACTIVE or MEMBER_INACTIVE) of backend `k` of service port `sp`, summed over
 * its destinations in the port's pools. The data path counts only in member records (the
 * destination it just read), so a new connection writes no backend record (issue 10); a view pays
 * one inverse lookup per service address instead, after applying the queued +1s (pending.ts).
 */
function backendCounter(sp: i32, k: i32, word: i32): u32 {
  settle();
  const gen = current;
  const b = <i32>gen.spWord(sp, SP_BACKEND_START) + k;
  const start = <i32>gen.spWord(sp, SP_POOL_START);
  const end = start + <i32>gen.spWord(sp, SP_POOL_COUNT);
  let sum: u32 = 0;
  for (let p = start; p < end; p++) {
    const slot = memberSlotOf(gen, p, b);
    if (slot >= 0) sum += gen.memberWord(slot, word);
  }
  return sum;
}

/** Active connections of backend `k` of service port `sp`. */
export function backendActive(sp: i32, k: i32): u32 {
  return backendCounter(sp, k, MEMBER_ACTIVE);
}

/** Inactive connections of backend `k` of service port `sp`. */
export function backendInactive(sp: i32, k: i32): u32 {
  return backendCounter(sp, k, MEMBER_INACTIVE);
}

/** Service port by Service name and port (names.ts), or -1. Names are UTF-8 at the pointers. */
export function servicePortByName(nsPtr: usize, nsLen: i32, namePtr: usize, nameLen: i32, port: u32, proto: u32): i32 {
  const gen = current;
  return findServicePort(gen, gen.names, nsPtr, nsLen, namePtr, nameLen, port, proto);
}

/** Which service port and kind a destination matches (`sp << 2 | kind`), or -1. No side effects. */
export function matchDestination(proto: u32, df: u32, d0: u32, d1: u32, d2: u32, d3: u32, dport: u32): i32 {
  return matchService(current, proto, df, d0, d1, d2, d3, dport);
}

/** The service port's backend `k`: address family, words and port, for hosts that connect to it. */
export function backendFamily(sp: i32, k: i32): u32 {
  return current.backendWord(<i32>current.spWord(sp, SP_BACKEND_START) + k, 0);
}
export function backendWord(sp: i32, k: i32, i: i32): u32 {
  return current.backendWord(<i32>current.spWord(sp, SP_BACKEND_START) + k, 1 + i);
}
export function backendPort(sp: i32, k: i32): u32 {
  return current.backendWord(<i32>current.spWord(sp, SP_BACKEND_START) + k, 5);
}

export function flows(): i32 {
  return flowCount();
}
export function flowsCapacity(): i32 {
  return flowCapacity();
}
export function flowBytes(): usize {
  return flowTableBytes();
}
export function affinities(): i32 {
  return affinityCount();
}
export function affinitiesCapacity(): i32 {
  return affinityCapacity();
}

/** Affinity timeout of a service port in ms (for tools). */
export function affinityTimeoutMs(sp: i32): u32 {
  return current.spWord(sp, SP_AFFINITY_MS);
}
