/**
 * Swapping in what the host sends: a full snapshot in one call or in steps (build.ts), or a
 * delta applied in place (delta.ts). Decisions keep using the serving generation until the call
 * that switches returns; a rejected snapshot or delta changes nothing. Each call first applies
 * the writes decisions queued (pending.ts): a swap carries counters and rr positions.
 */
import { current } from './state';
import { SNAP_OK } from './snapshot';
import { BUILD_MORE, StagedBuild, buildStep, commit } from './build';
import { applyDelta as applyDeltaTo } from './delta';
import { ensureInit } from './init';
import { settle } from './pending';

/** `snapshotStep` / `commitSnapshot`: no staged build (none begun, or dropped by a load, a delta or a rejection). */
export const SNAP_NO_BUILD: i32 = 21;

/** A full snapshot being built in steps (build.ts), or null. */
let staged: StagedBuild | null = null;

/**
 * Validates and loads a snapshot (snapshot.ts), builds its indexes and tables, carries flows,
 * affinity entries and scheduler state over, and swaps it in: the staged build's steps run in one
 * go. Returns SNAP_OK or a rejection code; on rejection nothing changes and the previous
 * generation keeps serving. The engine keeps `bytes`. Discards a staged build in progress.
 */
export function loadSnapshot(bytes: StaticArray<u8>): i32 {
  ensureInit();
  settle();
  staged = null;
  const b = new StagedBuild(bytes, current);
  const code = buildStep(b, i32.MAX_VALUE);
  return code != SNAP_OK ? code : commit(b);
}

/**
 * Starts building a full snapshot in steps (build.ts) while the serving generation keeps deciding;
 * `snapshotStep` advances it, `commitSnapshot` switches. Replaces a staged build in progress.
 */
export function beginSnapshot(bytes: StaticArray<u8>): void {
  ensureInit();
  settle();
  staged = new StagedBuild(bytes, current);
}

/** BUILD_MORE (-1), SNAP_OK (ready), a rejection code (the build is dropped), or SNAP_NO_BUILD. */
export function snapshotStep(budget: i32): i32 {
  const b = staged;
  if (b === null) return SNAP_NO_BUILD;
  // Decisions between the steps queued counter and position writes the build carries from.
  settle();
  const code = buildStep(b, budget > 0 ? budget : 1);
  if (code > 0) staged = null;
  return code;
}

/** Switches to the staged build: SNAP_OK, BUILD_MORE (not ready), BUILD_STALE or SNAP_NO_BUILD (dropped). */
export function commitSnapshot(): i32 {
  const b = staged;
  if (b === null) return SNAP_NO_BUILD;
  settle();
  const code = commit(b);
  if (code != BUILD_MORE) staged = null;
  return code;
}

/** Drops a staged build. */
export function abortSnapshot(): void {
  staged = null;
}

/**
 * Applies a delta snapshot (delta.ts, docs/snapshot.md) to the serving generation in place:
 * only the service ports it names are rebuilt; flows, affinity entries and scheduler state carry
 * over exactly as a full load with the same result would carry them. Returns SNAP_OK or a
 * rejection code (nothing changed; SNAP_NEEDS_FULL: send a full snapshot instead).
 */
export function applyDelta(bytes: StaticArray<u8>): i32 {
  ensureInit();
  settle();
  staged = null;
  return applyDeltaTo(current, bytes);
}
