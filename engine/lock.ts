/**
 * One engine state for several Wasm instances over one shared memory (issue 14: `vipwasm forward
 * --workers N`, where every worker thread instantiates engine.shared.wasm over the memory the
 * main thread's leader instance owns). Compiled only with the threads feature
 * (asconfig.shared.json); in engine.wasm every function here is an empty inline.
 *
 * Concurrency design: one engine lock, a futex mutex in linear memory (Drepper's three states: 0
 * free, 1 held, 2 held with waiters), taken by every export for the whole call (re-entrant within
 * an instance: `depth` below). A decision holds
 * it for well under a microsecond while a connection costs the host tens of microseconds, so the
 * lock is uncontended nearly always (`lockContended` counts the exceptions); one lock makes a
 * snapshot swap, an expiry pass and a flow's lc/wlc counter update atomic for every worker at once
 * without per-bucket locks on the hot path. A waiter spins briefly, then sleeps in
 * `memory.atomic.wait32` (at most 1 ms at a time, so a lock freed by `releaseLockOf` wakes it).
 *
 * What makes instances share one state: everything the tables and schedulers keep is in linear
 * memory (table headers, buckets, stats, timeouts, the hash key) except four module globals, which
 * live per instance: the serving generation, the flow table's pending LRU moves, the affinity
 * touch sequence and the random scheduler's state. `enter` loads them from the shared block after
 * taking the lock and `leave` stores them back before releasing it. Only the leader (the instance
 * that ran `_initialize`) allocates, loads snapshots and collects garbage; workers decide.
 *
 *   shared block (64 bytes, static memory)
 *   0 lock state | 4 owner id | 8 current generation | 12 pending hits | 16 affinity seq |
 *   20 random state | 24 contended acquisitions | 28 acquisitions
 */
import { current, setCurrent } from './state';
import { Generation } from './generation';
import { pendingHits, setPendingHits } from './flows';
import { affinitySeq, setAffinitySeq } from './affinity';
import { randomState, setRandomState } from './schedulers/random';

const SHARED: usize = memory.data(64, 64);
// @ts-ignore: decorator
@inline const S_OWNER: usize = 4;
// @ts-ignore: decorator
@inline const S_CURRENT: usize = 8;
// @ts-ignore: decorator
@inline const S_HITS: usize = 12;
// @ts-ignore: decorator
@inline const S_SEQ: usize = 16;
// @ts-ignore: decorator
@inline const S_RANDOM: usize = 20;
// @ts-ignore: decorator
@inline const S_CONTENDED: usize = 24;
// @ts-ignore: decorator
@inline const S_ACQUIRED: usize = 28;
/** The leader's owner id; workers are 1..255. */
// @ts-ignore: decorator
@inline export const LEADER_ID: i32 = 256;
/** Spins before sleeping on a held lock. */
// @ts-ignore: decorator
@inline const SPINS: i32 = 64;

/** This instance's owner id (per instance: a module global). */
let ownerId: i32 = LEADER_ID;
/**
 * How deep this instance is in `enter` (per instance: one instance is one thread). The lock is
 * re-entrant: a host that holds it with `lockEngine` (one view over several exports) may call
 * exports that take it themselves, and a host wrapper may lock an export that also locks.
 */
let depth: i32 = 0;

/** Makes this instance worker `id` (1..255): it decides, it never allocates or loads. */
export function setOwnerId(id: i32): void {
  ownerId = id;
}

// @ts-ignore: decorator
@inline export function enter(): void {
  if (ASC_FEATURE_THREADS) {
    if (depth++ != 0) return;
    if (atomic.cmpxchg<i32>(SHARED, 0, 1) != 0) acquireSlow();
    atomic.store<i32>(SHARED, ownerId, S_OWNER);
    syncIn();
  }
}

// @ts-ignore: decorator
@inline export function leave(): void {
  if (ASC_FEATURE_THREADS) {
    if (--depth != 0) return;
    syncOut();
    atomic.store<i32>(SHARED, 0, S_OWNER);
    if (atomic.sub<i32>(SHARED, 1) != 1) {
      atomic.store<i32>(SHARED, 0);
      atomic.notify(SHARED, 1);
    }
  }
}

function acquireSlow(): void {
  atomic.add<u32>(SHARED, 1, S_CONTENDED);
  for (let i = 0; i < SPINS; i++) {
    if (atomic.cmpxchg<i32>(SHARED, 0, 1) == 0) return;
  }
  // Mark "held with waiters" and sleep until it is free; whoever frees a 2 wakes one sleeper.
  while (atomic.xchg<i32>(SHARED, 2) != 0) atomic.wait<i32>(SHARED, 2, 1_000_000);
}

function syncIn(): void {
  atomic.add<u32>(SHARED, 1, S_ACQUIRED);
  const gen = load<usize>(SHARED, S_CURRENT);
  if (gen != 0 && gen != changetype<usize>(current)) setCurrent(changetype<Generation>(gen));
  setPendingHits(load<i32>(SHARED, S_HITS));
  setAffinitySeq(load<u32>(SHARED, S_SEQ));
  setRandomState(load<u32>(SHARED, S_RANDOM));
}

function syncOut(): void {
  store<usize>(SHARED, changetype<usize>(current), S_CURRENT);
  store<i32>(SHARED, pendingHits(), S_HITS);
  store<u32>(SHARED, affinitySeq(), S_SEQ);
  store<u32>(SHARED, randomState(), S_RANDOM);
}

/** Takes the engine lock for a host that reads several exports as one view (explain). */
export function lockEngine(): void {
  enter();
}

export function unlockEngine(): void {
  leave();
}

/**
 * Frees the lock if worker `id` holds it: that worker's thread died inside a call (the main thread
 * calls this on the worker's exit). What the dead call left half done in the tables stays; every
 * other call goes on. True when the lock was freed.
 */
export function releaseLockOf(id: i32): bool {
  if (!ASC_FEATURE_THREADS) return false;
  if (atomic.load<i32>(SHARED, S_OWNER) != id) return false;
  atomic.store<i32>(SHARED, 0, S_OWNER);
  atomic.store<i32>(SHARED, 0);
  atomic.notify(SHARED, -1);
  return true;
}

/** Lock acquisitions, and those that found it held (shared build; 0 in engine.wasm). */
export function lockAcquisitions(): f64 {
  if (!ASC_FEATURE_THREADS) return 0;
  return <f64>atomic.load<u32>(SHARED, S_ACQUIRED);
}

export function lockContentions(): f64 {
  if (!ASC_FEATURE_THREADS) return 0;
  return <f64>atomic.load<u32>(SHARED, S_CONTENDED);
}

/** Address of the shared block (tests and diagnostics read it). */
export function sharedBlock(): usize {
  return SHARED;
}
