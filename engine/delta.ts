/**
 * Delta snapshots (docs/snapshot.md, "Delta snapshots"): the service ports that changed since the
 * serving generation, applied to it in place, so a one-service change costs what that service
 * costs and not what the cluster costs (issue 10: a full reload at 100k services took 1.35-1.64 s).
 * Unchanged service ports keep their records, pools, scheduler tables, flows and affinity entries
 * untouched; no string is created. One host call applies the whole delta, so no decision ever sees
 * half of it (one Wasm instance, one thread).
 *
 *   offset  size  header (32 bytes)
 *   ------  ----  ------------------------------------------------------------
 *        0     4  magic "VIPD" (0x44504956 read as u32)
 *        4     2  delta format version (DELTA_VERSION)
 *        6     2  header size (32)
 *        8     4  total length in bytes, header included
 *       12     4  op count (K)
 *       16     4  base generation: the delta applies to this serving generation only
 *       20     4  offset of the embedded snapshot (32 + 8 K)
 *       24     4  reserved, 0
 *       28     4  FNV-1a 32 of bytes [32, total)
 *
 *   then K ops of 8 bytes: u32 kind (OP_*), u32 service port index in the base generation
 *   (0 for OP_APPEND); then a full snapshot (snapshot.ts, no node IPs) whose service ports are
 *   the OP_REPLACE and OP_APPEND ops' new records, in op order.
 *
 * Order of application: replaces in place (same index), appends at the end, then removes in
 * descending index order, each moving the last service port into the hole (the host mirrors this
 * to keep decision indexes and its model in step; host/engine/delta.ts).
 */
import { Generation } from './generation';
import { MEMBER_ACTIVE, MEMBER_INACTIVE, SP_BACKEND_COUNT, SP_BACKEND_START } from './layout';
import { SNAP_BAD_CHECKSUM, SNAP_BAD_COUNT, SNAP_BAD_HEADER, SNAP_BAD_LENGTH, SNAP_BAD_MAGIC, SNAP_BAD_VERSION, SNAP_OK,
  SNAP_TOO_SHORT, decodeSnapshot, fnv1a, snapshotErrorOffset, validateSnapshot, setSnapshotError } from './snapshot';
import { KEYS_CHECK, buildServiceTable, servicePortKeys, setReleased } from './service-table';
import { buildPools } from './pools';
import { matchServicePort, sameIdentity } from './remap';
import { Change, carryCounts, changeOf, deltaRemap, ensureDeltaRemap, planChanges, resetDeltaRemap, writeChanges } from './splice';
import { flowListHead, flowListNext, flowMember, flowRemove, flowWatch, flowWatched, moveFlowMember } from './flows';
import { renewSpEpoch } from './flow-decisions';
import { affinityCount } from './affinity';
import { FLOW_CLASS_COUNT, stats } from './state';
import { AffinityMaps } from './splice-affinity';

// @ts-ignore: decorator
@inline export const DELTA_MAGIC: u32 = 0x44504956;
// @ts-ignore: decorator
@inline export const DELTA_VERSION: u32 = 1;
// @ts-ignore: decorator
@inline const DELTA_HEADER: i32 = 32;
export const OP_REPLACE: u32 = 1;
export const OP_APPEND: u32 = 2;
export const OP_REMOVE: u32 = 3;

/** The delta's base generation is not the serving one (or nothing was loaded yet). */
export const SNAP_STALE_BASE: i32 = 18;
/** Unknown op kind, index out of range, an index named twice, or op and record counts disagree. */
export const SNAP_BAD_OP: i32 = 19;
/** The delta is well formed but only a full snapshot can express it (two service ports claim one match key). */
export const SNAP_NEEDS_FULL: i32 = 20;

/** Checks the header, the ops and the embedded snapshot against the serving generation `gen`. */
function validateDelta(base: usize, len: i32, gen: Generation): i32 {
  if (len < DELTA_HEADER) return setSnapshotError(SNAP_TOO_SHORT, 0);
  if (load<u32>(base) != DELTA_MAGIC) return setSnapshotError(SNAP_BAD_MAGIC, 0);
  if (<u32>load<u16>(base, 4) != DELTA_VERSION) return setSnapshotError(SNAP_BAD_VERSION, 4);
  if (<i32>load<u16>(base, 6) != DELTA_HEADER || load<u32>(base, 24) != 0) return setSnapshotError(SNAP_BAD_HEADER, 6);
  if (load<u32>(base, 8) != <u32>len) return setSnapshotError(SNAP_BAD_LENGTH, 8);
  if (fnv1a(base + DELTA_HEADER, len - DELTA_HEADER) != load<u32>(base, 28)) return setSnapshotError(SNAP_BAD_CHECKSUM, 28);
  if (gen.id == 0 || load<u32>(base, 16) != gen.id) return setSnapshotError(SNAP_STALE_BASE, 16);
  const ops = load<u32>(base, 12);
  const embedded = load<u32>(base, 20);
  if (<u64>embedded != <u64>DELTA_HEADER + <u64>ops * 8 || embedded > <u32>len) return setSnapshotError(SNAP_BAD_COUNT, 20);
  const code = validateSnapshot(base + embedded, len - <i32>embedded);
  if (code != SNAP_OK) return setSnapshotError(code, snapshotErrorOffset + <i32>embedded);
  if (load<u32>(base + embedded, 12) != 0) return setSnapshotError(SNAP_BAD_COUNT, <i32>embedded + 12);
  const marks = new StaticArray<u8>(gen.spCount);
  let records: u32 = 0;
  for (let k: u32 = 0; k < ops; k++) {
    const kind = load<u32>(base + DELTA_HEADER + (<usize>k << 3));
    const index = load<u32>(base + DELTA_HEADER + (<usize>k << 3), 4);
    const at = DELTA_HEADER + <i32>k * 8;
    if (kind == OP_APPEND) {
      if (index != 0) return setSnapshotError(SNAP_BAD_OP, at + 4);
      records++;
      continue;
    }
    if ((kind != OP_REPLACE && kind != OP_REMOVE) || index >= <u32>gen.spCount || unchecked(marks[index]) != 0) return setSnapshotError(SNAP_BAD_OP, at);
    unchecked((marks[index] = 1));
    if (kind == OP_REPLACE) records++;
  }
  if (records != load<u32>(base + embedded, 16)) return setSnapshotError(SNAP_BAD_OP, 12);
  setReleased(marks);
  return SNAP_OK;
}

/**
 * Whether any key of the delta's service ports is held by a service port the delta keeps, or
 * two of them share one: the first-in-snapshot-order rule then needs the whole table, so the
 * host sends a full snapshot instead.
 */
function conflicts(gen: Generation, mini: Generation): bool {
  if (gen.matchConflicts != 0) return true;
  buildServiceTable(mini);
  if (mini.matchConflicts != 0) return true;
  for (let j = 0; j < mini.spCount; j++) {
    if (servicePortKeys(gen, j, KEYS_CHECK, 0, mini) != 0) return true;
  }
  return false;
}

/**
 * Validates and applies a delta to the serving generation `gen`; SNAP_OK or a rejection code (then
 * nothing changed). Keeps `bytes` (service ports point into it).
 */
export function applyDelta(gen: Generation, bytes: StaticArray<u8>): i32 {
  const base = changetype<usize>(bytes);
  const code = validateDelta(base, bytes.length, gen);
  if (code != SNAP_OK) return code;
  const embedded = <i32>load<u32>(base, 20);
  const ops = <i32>load<u32>(base, 12);
  // The embedded snapshot's service ports live where the host put them: decode in place.
  const miniBytes = new StaticArray<u8>(bytes.length - embedded);
  memory.copy(changetype<usize>(miniBytes), base + <usize>embedded, <usize>miniBytes.length);
  const mini = new Generation();
  decodeSnapshot(miniBytes, mini);
  mini.nodeIPs = gen.nodeIPs;
  mini.nodeIPCount = gen.nodeIPCount;
  if (conflicts(gen, mini)) return setSnapshotError(SNAP_NEEDS_FULL, 0);
  const changes = new Array<Change>();
  let j = 0;
  for (let k = 0; k < ops; k++) {
    const kind = load<u32>(base + DELTA_HEADER + (<usize>k << 3));
    const index = <i32>load<u32>(base + DELTA_HEADER + (<usize>k << 3), 4);
    if (kind == OP_REMOVE) changes.push(changeOf(gen, index, -1));
    else changes.push(changeOf(gen, kind == OP_REPLACE ? index : -1, j++));
  }
  // Carry through the same code a full load uses (pools.ts, pool-carry.ts), old = the serving
  // generation itself: the remap arrays are indexed by its global record numbers.
  ensureDeltaRemap(gen, mini.spCount);
  const remap = deltaRemap;
  for (let c = 0; c < changes.length; c++) {
    const ch = unchecked(changes[c]);
    if (ch.next >= 0 && ch.old >= 0 && sameIdentity(gen, ch.old, mini, ch.next)) matchServicePort(remap, gen, ch.old, mini, ch.next);
  }
  const shifted = shiftedServicePorts(gen, mini, changes);
  buildPools(mini, gen, remap);
  const oldPools = gen.poolCount;
  const oldBackends = gen.backendCount;
  planChanges(gen, mini, changes, remap);
  const dropped = moveFlows(gen, changes);
  carryCounts(gen, mini, changes, remap);
  const affinity = affinityTouched(changes) ? new AffinityMaps(mini, remap, changes, oldPools, oldBackends) : null;
  writeChanges(gen, mini, changes);
  for (let k = 0; k < shifted.length; k++) renewSpEpoch(gen, unchecked(shifted[k]));
  gen.arenas.push(miniBytes);
  gen.arenaBytes += miniBytes.length;
  stats.flowsDroppedOnSwap += dropped;
  if (affinity !== null) stats.affinitiesDroppedOnSwap += affinity.apply();
  resetDeltaRemap(changes);
  gen.id++;
  return SNAP_OK;
}

/**
 * The replaced service ports (their indexes, which a replace keeps) whose kept backends get
 * another index within them (one added or removed before them): their flows' cached decisions
 * need a new epoch (flow-decisions.ts). Read before the new records overwrite the old ones. A flow whose
 * member slot moves keeps its cache (`moveFlowMember`): the service port keeps its index, and
 * this covers the backend's. Appends and removes renew the indexes whose occupant changes
 * (splice.ts writeChanges).
 */
function shiftedServicePorts(gen: Generation, mini: Generation, changes: Array<Change>): Array<i32> {
  const out = new Array<i32>();
  const remap = deltaRemap;
  for (let c = 0; c < changes.length; c++) {
    const ch = unchecked(changes[c]);
    if (ch.old < 0 || ch.next < 0) continue;
    const from = <i32>gen.spWord(ch.old, SP_BACKEND_START);
    const to = <i32>mini.spWord(ch.next, SP_BACKEND_START);
    for (let b = from; b < from + <i32>gen.spWord(ch.old, SP_BACKEND_COUNT); b++) {
      const nb = unchecked(remap.backendOldToNew[b]);
      if (nb >= 0 && nb - to != b - from) {
        out.push(ch.old);
        break;
      }
    }
  }
  return out;
}

/**
 * Whether affinity entries may name a changed service port's pools or backends: some exist and
 * the delta replaces or removes a service port. Entries outlive a service port's affinity setting
 * (a full load keeps them while their backend stays), so the current flag does not settle it.
 */
function affinityTouched(changes: Array<Change>): bool {
  if (affinityCount() == 0) return false;
  for (let c = 0; c < changes.length; c++) {
    if (unchecked(changes[c]).old >= 0) return true;
  }
  return false;
}

/**
 * Moves the flows of changed service ports to their member's new slot, or drops them (and counts
 * them) when their destination left its pool (kubernetes #19029), as a full load does. Walks the
 * flow lists only when one of those old slots holds flows and moves: flows of unchanged service
 * ports, and of members that stay put, need nothing. Returns the flows dropped. Runs before the
 * new records overwrite the old ones, so `flowRemove` releases the old member's counts.
 */
export function moveFlows(gen: Generation, changes: Array<Change>): i32 {
  let walk = false;
  for (let c = 0; !walk && c < changes.length; c++) {
    const ch = unchecked(changes[c]);
    for (let s = ch.memberStart; !walk && s < ch.memberStart + ch.memberCount; s++) {
      const held = gen.memberWord(s, MEMBER_ACTIVE) + gen.memberWord(s, MEMBER_INACTIVE);
      walk = held != 0 && unchecked(ch.slotTo[s - ch.memberStart]) != s;
    }
  }
  if (!walk) return 0;
  let dropped = 0;
  for (let cls: u32 = 0; cls < <u32>FLOW_CLASS_COUNT; cls++) {
    let cur = flowListHead(cls);
    while (cur != 0) {
      const e = <i32>cur - 1;
      cur = flowListNext(e);
      const slot = <i32>flowMember(e);
      for (let c = 0; c < changes.length; c++) {
        const ch = unchecked(changes[c]);
        if (slot < ch.memberStart || slot >= ch.memberStart + ch.memberCount) continue;
        const to = unchecked(ch.slotTo[slot - ch.memberStart]);
        if (to < 0) {
          // The removal's backward shift may move the next entry of the walk: follow it.
          flowWatch(cur);
          flowRemove(e);
          cur = flowWatched();
          dropped++;
        } else {
          moveFlowMember(e, <u32>to);
        }
        break;
      }
    }
  }
  return dropped;
}
