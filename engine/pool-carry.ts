/**
 * The order contract (issue 17): how a virtual service's destination list, scheduler state and
 * last_weight go from one generation to the next. The engine, the ipvs exporter
 * (host/rules/ipvs-sync.ts) and the kernel agree on it:
 *
 * - A new virtual service (new address, new service port, or a changed scheduler, which the
 *   exporter applies as `-D` + `-A`) lists its destinations in engine order (address, then port),
 *   head first: the exporter adds them in reverse and the kernel inserts each at the head.
 * - An existing one changes through `-d` (each destination that left, in engine order), `-e`
 *   (each changed weight, in engine order) and `-a` (each destination that joined, in reverse
 *   engine order). The kernel keeps the survivors in their previous order and puts each joiner at
 *   the head (`list_add_rcu(&dest->n_list, &svc->destinations)` in `__ip_vs_update_dest`,
 *   ip_vs_ctl.c), so the new list is: the joiners in engine order, then the survivors as before.
 * - Scheduler state follows each command's hook: rr's position moves to the predecessor of a
 *   deleted position (ip_vs_rr_del_dest) and nothing else touches it; wrr runs
 *   ip_vs_wrr_dest_changed after every `-d`, `-e` and `-a` (cl = head, cw re-clamped to each
 *   intermediate list's mw and di); dh/sh/mh rebuild from the final list. last_weight follows
 *   `__ip_vs_update_dest`: set on add (even to 0), and on edit only to a non-zero weight.
 *
 * Counters are not carried here: core.ts recounts the flows that keep their member.
 */
import { Generation } from './generation';
import {
  H_LOCAL_INDEX, H_WEIGHT, MEMBER_ACTIVE, MEMBER_BACKEND, MEMBER_INACTIVE, MEMBER_LAST_WEIGHT, MEMBER_LOCAL_INDEX,
  MEMBER_WEIGHT, POOL_CW, POOL_DI,
  POOL_FAMILY, POOL_FAMILY_END, POOL_FAMILY_START, POOL_INVERSE, POOL_MEMBER_COUNT, POOL_MEMBER_START,
  POOL_MW, POOL_POS, POOL_SCHED, POOL_SP, POOL_VPORT, POOL_W0, SCHED_RR, SCHED_WRR, SP_POOL_COUNT, SP_POOL_START,
} from './layout';
import { Remap } from './remap';
import { gcd } from './schedulers/common';
import { wrrRecompute } from './schedulers/wrr';

/** The old pool of the same virtual service (service port, address, port), or -1. */
export function oldPoolFor(gen: Generation, pool: i32, old: Generation, remap: Remap): i32 {
  const o = unchecked(remap.spNewToOld[<i32>gen.poolWord(pool, POOL_SP)]);
  if (o < 0) return -1;
  const start = <i32>old.spWord(o, SP_POOL_START);
  const end = start + <i32>old.spWord(o, SP_POOL_COUNT);
  for (let q = start; q < end; q++) {
    let same = old.poolWord(q, POOL_FAMILY) == gen.poolWord(pool, POOL_FAMILY) && old.poolWord(q, POOL_VPORT) == gen.poolWord(pool, POOL_VPORT);
    for (let i = 0; same && i < 4; i++) same = old.poolWord(q, POOL_W0 + i) == gen.poolWord(pool, POOL_W0 + i);
    if (same) return q;
  }
  return -1;
}

/** The new member slot of new backend `nb` in `pool`, or -1 when it is not a member. */
function slotIn(gen: Generation, pool: i32, nb: i32): i32 {
  const from = <i32>gen.poolWord(pool, POOL_FAMILY_START);
  if (nb < from || nb >= <i32>gen.poolWord(pool, POOL_FAMILY_END)) return -1;
  return unchecked(gen.memberOf[<i32>gen.poolWord(pool, POOL_INVERSE) + nb - from]);
}

/** ip_vs_wrr_dest_changed's cw rule over the weights present in `w` (-1 = not in the list). */
function wrrChanged(cw: i32, w: StaticArray<i32>): i32 {
  let g: u32 = 0;
  let max: i32 = 0;
  for (let i = 0; i < w.length; i++) {
    const x = unchecked(w[i]);
    if (x > 0) g = g > 0 ? gcd(<u32>x, g) : <u32>x;
    if (x > max) max = x;
  }
  const di = g > 0 ? <i32>g : 1;
  const mw = max - (di - 1);
  if (cw > mw || cw == 0) return mw;
  return di > 1 ? (cw / di) * di + 1 : cw;
}

/**
 * What wrr's carried cw depends on besides the old cw: which new members (engine order) survive
 * which old member, which joined, and their new weights. Kept by a staged build (build.ts), which
 * carries early and redoes the cw at commit if decisions moved the old cw meanwhile.
 */
export class WrrCarry {
  constructor(public survivorOf: StaticArray<i32>, public joined: StaticArray<bool>, public weights: StaticArray<i32>) {}
}

/** The wrr carry of the last `carryPool` whose weights or members changed, else null. */
export let lastWrrCarry: WrrCarry | null = null;

/**
 * wrr's cw after the exporter's commands: `-d` in engine order (old backend index order), `-e` in
 * engine order, `-a` in reverse engine order, each followed by ip_vs_wrr_dest_changed. Ids in `w`:
 * old member k → k, joiner at engine position j → oldCount + j.
 */
export function wrrCarriedCw(old: Generation, oldPool: i32, cw0: i32, carry: WrrCarry): i32 {
  const survivorOf = carry.survivorOf;
  const joined = carry.joined;
  const n = joined.length;
  const on = <i32>old.poolWord(oldPool, POOL_MEMBER_COUNT);
  const os = <i32>old.poolWord(oldPool, POOL_MEMBER_START);
  const w = new StaticArray<i32>(on + n);
  const kept = new StaticArray<bool>(on);
  for (let k = 0; k < on; k++) unchecked((w[k] = <i32>old.memberWord(os + k, MEMBER_WEIGHT)));
  for (let j = 0; j < n; j++) {
    unchecked((w[on + j] = -1));
    if (!unchecked(joined[j])) unchecked((kept[unchecked(survivorOf[j])] = true));
  }
  let cw = cw0;
  // -d: old members that left, smallest old backend index (engine order) first.
  let last = -1;
  while (true) {
    let next = -1;
    for (let k = 0; k < on; k++) {
      const b = old.memberBackend(os + k);
      if (!unchecked(kept[k]) && b > last && (next < 0 || b < old.memberBackend(os + next))) next = k;
    }
    if (next < 0) break;
    last = old.memberBackend(os + next);
    unchecked((w[next] = -1));
    cw = wrrChanged(cw, w);
  }
  // -e: survivors whose weight changed, in engine order.
  for (let j = 0; j < n; j++) {
    if (unchecked(joined[j])) continue;
    const k = unchecked(survivorOf[j]);
    const now = unchecked(carry.weights[j]);
    if (unchecked(w[k]) == now) continue;
    unchecked((w[k] = now));
    cw = wrrChanged(cw, w);
  }
  // -a: joiners in reverse engine order.
  for (let j = n - 1; j >= 0; j--) {
    if (!unchecked(joined[j])) continue;
    unchecked((w[on + j] = unchecked(carry.weights[j])));
    cw = wrrChanged(cw, w);
  }
  return cw;
}

/**
 * Carries `oldPool`'s state into `pool` (same virtual service) and maps its flows' member slots.
 * Returns false when the scheduler changed: the pool then starts afresh (the exporter recreates
 * the virtual service), and only the slot map is filled.
 */
export function carryPool(gen: Generation, pool: i32, old: Generation, oldPool: i32, remap: Remap): bool {
  lastWrrCarry = null;
  const n = <i32>gen.poolWord(pool, POOL_MEMBER_COUNT);
  const first = <i32>gen.poolWord(pool, POOL_MEMBER_START);
  const on = <i32>old.poolWord(oldPool, POOL_MEMBER_COUNT);
  const os = <i32>old.poolWord(oldPool, POOL_MEMBER_START);
  // Members are still in engine order here: position j = slot - first.
  const survivorOf = new StaticArray<i32>(n);
  const joined = new StaticArray<bool>(n);
  for (let j = 0; j < n; j++) unchecked((joined[j] = true));
  const newPosOfOld = new StaticArray<i32>(on);
  for (let k = 0; k < on; k++) {
    const nb = unchecked(remap.backendOldToNew[old.memberBackend(os + k)]);
    const slot = nb < 0 ? -1 : slotIn(gen, pool, nb);
    unchecked((newPosOfOld[k] = slot < 0 ? -1 : slot - first));
    if (slot < 0) continue;
    unchecked((survivorOf[slot - first] = k));
    unchecked((joined[slot - first] = false));
  }
  const sched = gen.poolWord(pool, POOL_SCHED) & 0xff;
  if (sched != (old.poolWord(oldPool, POOL_SCHED) & 0xff)) {
    for (let k = 0; k < on; k++) {
      const j = unchecked(newPosOfOld[k]);
      unchecked((remap.slotOldToNew[os + k] = j < 0 ? -1 : first + j));
    }
    return false;
  }
  let changed = n != on;
  let cw: i32 = 0;
  if (sched == SCHED_WRR) {
    for (let j = 0; !changed && j < n; j++) {
      changed = unchecked(joined[j]) || old.memberWord(os + unchecked(survivorOf[j]), MEMBER_WEIGHT) != gen.memberWord(first + j, MEMBER_WEIGHT);
    }
    if (changed) {
      const weights = new StaticArray<i32>(n);
      for (let j = 0; j < n; j++) unchecked((weights[j] = <i32>gen.memberWord(first + j, MEMBER_WEIGHT)));
      const carry = new WrrCarry(survivorOf, joined, weights);
      lastWrrCarry = carry;
      cw = wrrCarriedCw(old, oldPool, <i32>old.poolWord(oldPool, POOL_CW), carry);
    }
  }
  reorder(gen, pool, old, oldPool, remap, newPosOfOld, joined);
  if (sched == SCHED_RR) carryRRPosition(gen, pool, old, oldPool, remap);
  else if (sched == SCHED_WRR) {
    if (changed) {
      wrrRecompute(gen, pool);
      gen.setPoolWord(pool, POOL_CW, <u32>cw);
      gen.setPoolWord(pool, POOL_POS, 0);
    } else {
      gen.setPoolWord(pool, POOL_POS, old.poolWord(oldPool, POOL_POS));
      gen.setPoolWord(pool, POOL_CW, old.poolWord(oldPool, POOL_CW));
      gen.setPoolWord(pool, POOL_MW, old.poolWord(oldPool, POOL_MW));
      gen.setPoolWord(pool, POOL_DI, old.poolWord(oldPool, POOL_DI));
    }
  }
  return true;
}

/**
 * Rewrites the pool's member records in kernel order — joiners in engine order, then survivors in
 * their old order — with last_weight carried for survivors, and fills the slot map.
 */
function reorder(gen: Generation, pool: i32, old: Generation, oldPool: i32, remap: Remap, newPosOfOld: StaticArray<i32>, joined: StaticArray<bool>): void {
  const n = <i32>gen.poolWord(pool, POOL_MEMBER_COUNT);
  const first = <i32>gen.poolWord(pool, POOL_MEMBER_START);
  const on = <i32>old.poolWord(oldPool, POOL_MEMBER_COUNT);
  const os = <i32>old.poolWord(oldPool, POOL_MEMBER_START);
  const backendAt = new StaticArray<i32>(n);
  const lastWeightAt = new StaticArray<u32>(n);
  let at = 0;
  for (let j = 0; j < n; j++) {
    if (!unchecked(joined[j])) continue;
    unchecked((backendAt[at] = gen.memberBackend(first + j)));
    unchecked((lastWeightAt[at++] = gen.memberWord(first + j, MEMBER_WEIGHT)));
  }
  for (let k = 0; k < on; k++) {
    const j = unchecked(newPosOfOld[k]);
    if (j < 0) {
      unchecked((remap.slotOldToNew[os + k] = -1));
      continue;
    }
    const w = gen.memberWord(first + j, MEMBER_WEIGHT);
    unchecked((backendAt[at] = gen.memberBackend(first + j)));
    unchecked((lastWeightAt[at] = w != 0 ? w : old.memberWord(os + k, MEMBER_LAST_WEIGHT)));
    unchecked((remap.slotOldToNew[os + k] = first + at));
    at++;
  }
  const from = <i32>gen.poolWord(pool, POOL_FAMILY_START);
  const inverse = <i32>gen.poolWord(pool, POOL_INVERSE);
  for (let i = 0; i < n; i++) {
    const b = unchecked(backendAt[i]);
    const slot = first + i;
    gen.setMemberWord(slot, MEMBER_BACKEND, b);
    gen.setMemberWord(slot, MEMBER_LOCAL_INDEX, gen.hotWord(b, H_LOCAL_INDEX));
    gen.setMemberWord(slot, MEMBER_WEIGHT, gen.hotWord(b, H_WEIGHT));
    gen.setMemberWord(slot, MEMBER_LAST_WEIGHT, unchecked(lastWeightAt[i]));
    gen.setMemberWord(slot, MEMBER_ACTIVE, 0);
    gen.setMemberWord(slot, MEMBER_INACTIVE, 0);
    unchecked((gen.memberOf[inverse + b - from] = slot));
  }
}

/** rr: the last chosen server, or its nearest surviving predecessor in the old list (ip_vs_rr_del_dest); joiners do not move it. */
export function carryRRPosition(gen: Generation, pool: i32, old: Generation, oldPool: i32, remap: Remap): void {
  const os = <i32>old.poolWord(oldPool, POOL_MEMBER_START);
  const first = <i32>gen.poolWord(pool, POOL_MEMBER_START);
  for (let k = <i32>old.poolWord(oldPool, POOL_POS) - 1; k >= 0; k--) {
    const slot = unchecked(remap.slotOldToNew[os + k]);
    if (slot >= 0) {
      gen.setPoolWord(pool, POOL_POS, slot - first + 1);
      return;
    }
  }
  gen.setPoolWord(pool, POOL_POS, 0);
}
