/**
 * Writes a new connection leaves for later (issue 10): the +1 on its member's connection counter
 * and, for rr through a match slot, the pool record's copy of the position. At 100k Services
 * each is a miss on a line of its own (a member record, a pool record) that the decision does not
 * need; queued, they are applied together when the queue is full, so the misses overlap instead
 * of each new connection waiting on its own.
 *
 * Counters and pool positions are exact whenever anything reads them: every reader settles the
 * queue first (the count-reading schedulers lc, wlc, sed and nq; the counter and position views;
 * every swap, before it carries state; init). Writes that are not queued (a flow that closes,
 * expires or is rebound) add and subtract on the same u32 counters, so the order does not matter.
 *
 * The queue lives in static memory, as the flow epoch count does, so instances over a shared
 * memory (lock.ts) see one queue; it names member slots and pools of the serving generation,
 * which no swap replaces before settling it.
 */
import { POOL_POS } from './layout';
import { current } from './state';

/** Entries the queue holds; a new connection adds one or two. */
// @ts-ignore: decorator
@inline const PENDING_CAPACITY: i32 = 128;
/** Entry: target << 2 | op, then the value (rr position) for OP_POSITION. */
// @ts-ignore: decorator
@inline const OP_INACTIVE: u32 = 0;
// @ts-ignore: decorator
@inline const OP_ACTIVE: u32 = 1;
// @ts-ignore: decorator
@inline const OP_POSITION: u32 = 2;

/** Word 0: entries queued; then PENDING_CAPACITY entries of two words. */
const PENDING: usize = memory.data(8 + PENDING_CAPACITY * 8, 8);

// @ts-ignore: decorator
@inline function queue(target: u32, op: u32, value: u32): void {
  let n = load<i32>(PENDING);
  if (n == PENDING_CAPACITY) {
    settle();
    n = 0;
  }
  const at = PENDING + 8 + (<usize>n << 3);
  store<u32>(at, (target << 2) | op);
  store<u32>(at, value, 4);
  store<i32>(PENDING, n + 1);
}

/** +1 on member `slot`'s active (TCP: SYN_RECV counts as active) or inactive counter, later. */
// @ts-ignore: decorator
@inline export function countLater(slot: i32, active: bool): void {
  queue(<u32>slot, active ? OP_ACTIVE : OP_INACTIVE, 0);
}

/** The pool record's rr position = `pos`, later (the match slot's copy is already written). */
// @ts-ignore: decorator
@inline export function positionLater(pool: i32, pos: u32): void {
  queue(<u32>pool, OP_POSITION, pos);
}

/** Applies every queued write to the serving generation, in order. */
export function settle(): void {
  const n = load<i32>(PENDING);
  if (n == 0) return;
  const gen = current;
  for (let i = 0; i < n; i++) {
    const at = PENDING + 8 + (<usize>i << 3);
    const w = load<u32>(at);
    const target = <i32>(w >>> 2);
    const op = w & 3;
    if (op == OP_POSITION) gen.setPoolWord(target, POOL_POS, load<u32>(at, 4));
    else gen.count(target, op == OP_ACTIVE, 1);
  }
  store<i32>(PENDING, 0);
}

/** Queued writes not yet applied (tests). */
export function pendingWrites(): i32 {
  return load<i32>(PENDING);
}
