/**
 * Cached flow decisions (issue 10). An IPv4 flow's key uses only w0 of each address, so its
 * bucket's src w1..w3 (flows.ts F_CACHE_*) hold the service port and local index its member
 * record holds, and the epoch count when they were read. While the service port has not been
 * renumbered since (`Generation.spEpochs`, read only when some service port was:
 * `flowCachedDecision`), a hit answers from its own bucket and reads no member record: one random
 * cache line per lookup however many Services there are.
 *
 * A delta gives a service port a new epoch when it renumbers what that service port's flows
 * answer with (delta.ts: a backend added or removed before a kept one; splice.ts: a service port
 * moved into a removed one's index, a new index); other service ports' flows keep their caches,
 * and so do flows a delta moves to another slot of their backend (flows.ts `moveFlowMember`). A
 * flow re-pointed by `setFlowMember` (rebind) drops its cache; a full load gives every service
 * port a new epoch (`renewAllSpEpochs`), and its commit, which reads every carried flow's new
 * member record to count it, caches that record's decision afterwards (build.ts).
 * IPv6 (and mixed-family) flows keep every key word and read their member record.
 */
import { Generation } from './generation';
import { current } from './state';
import { F_CACHE_LOCAL, F_CACHE_SP, F_CACHE_TAG, F_META, META_V6, flowPtr, flowSlotCount, flowSlotUsed } from './flows';

/**
 * The last epoch handed out, in static memory so every instance over a shared memory sees one
 * (lock.ts). Epochs are never 0, the tag of no cache.
 */
const EPOCH: usize = memory.data(4, 4);

/** The epoch count when service port `sp` was last renumbered, or 0 (no such service port: no cache matches). */
// @ts-ignore: decorator
@inline export function spEpoch(sp: u32): u32 {
  // Raw reads of the serving generation: a managed local here would give every lookup a shadow
  // stack frame (see uncount).
  const gen = changetype<usize>(current);
  if (sp >= <u32>load<i32>(gen + offsetof<Generation>('spCount'))) return 0;
  return load<u32>(load<usize>(gen + offsetof<Generation>('spEpochs')) + (<usize>sp << 2));
}

/**
 * Flow `e`'s decision from its own bucket: service port << 32 | local index, when it is an IPv4
 * flow whose cache is still right; else -1 (read the member record, then `setFlowDecision`).
 *
 * A cache is tagged with the epoch count when it was written, and each service port's epoch is
 * the count when it was last renumbered, so the cache is right while its service port's epoch is
 * not newer than its tag. While no service port at all was renumbered since (tag == the count) it
 * is right without reading the per-service-port array, which at 100k Services is an L2/L3 miss of
 * its own; otherwise that read decides, and a cache found right takes the current count as its
 * tag, so the flow's next packets take the short way again.
 */
// @ts-ignore: decorator
@inline export function flowCachedDecision(e: i32): i64 {
  const p = flowPtr(e);
  if ((load<u32>(p, F_META) & META_V6) != 0) return -1;
  const tag = load<u32>(p, F_CACHE_TAG);
  const now = load<u32>(EPOCH);
  if (tag != now) {
    if (!cacheOutlived(p, tag)) return -1;
    store<u32>(p, now, F_CACHE_TAG);
  }
  return <i64>(<u64>load<u32>(p, F_CACHE_SP) << 32 | <u64>load<u32>(p, F_CACHE_LOCAL));
}

/** Whether the cache in bucket `p` (tagged `tag`) was written after its service port was last renumbered. */
// @ts-ignore: decorator
@inline function cacheOutlived(p: usize, tag: u32): bool {
  const renumbered = spEpoch(load<u32>(p, F_CACHE_SP));
  // Tag 0 (no cache) is below every epoch; a service port index out of range has epoch 0.
  return renumbered != 0 && tag >= renumbered;
}

/**
 * Caches flow `e`'s decision (the service port and local index of its member record in the
 * serving generation, or in the one a full load's commit is about to serve), if IPv4.
 */
// @ts-ignore: decorator
@inline export function setFlowDecision(e: i32, sp: u32, local: u32): void {
  const p = flowPtr(e);
  if ((load<u32>(p, F_META) & META_V6) != 0) return;
  store<u32>(p, sp, F_CACHE_SP);
  store<u32>(p, local, F_CACHE_LOCAL);
  store<u32>(p, load<u32>(EPOCH), F_CACHE_TAG);
}

/**
 * A new epoch for service port `sp` of `gen` (the serving generation, or one about to be): the
 * cached decisions of its flows stop matching. Once in 2^32 epochs the count wraps: then every
 * cache is dropped and every service port of `gen` gets an epoch from the restarted count, so no
 * old tag can match a new epoch.
 */
export function renewSpEpoch(gen: Generation, sp: i32): void {
  let next = load<u32>(EPOCH) + 1;
  if (next == 0) {
    dropFlowDecisions();
    for (let s = 0; s < gen.spCount; s++) unchecked((gen.spEpochs[s] = <u32>s + 1));
    next = <u32>gen.spCount + 1;
  }
  store<u32>(EPOCH, next);
  unchecked((gen.spEpochs[sp] = next));
}

/**
 * Every service port of a full load's new generation gets its own new epoch. (A delta grows the
 * array with the service port records, splice.ts writeChanges.)
 */
export function renewAllSpEpochs(gen: Generation): void {
  gen.spEpochs = new StaticArray<u32>(gen.spCount);
  for (let s = 0; s < gen.spCount; s++) renewSpEpoch(gen, s);
}

/** Drops every IPv4 flow's decision cache. */
function dropFlowDecisions(): void {
  const n = flowSlotCount();
  for (let e = 0; e < <i32>n; e++) {
    if (!flowSlotUsed(e)) continue;
    const p = flowPtr(e);
    if ((load<u32>(p, F_META) & META_V6) == 0) store<u32>(p, 0, F_CACHE_TAG);
  }
}

/** Whether flow `e` answers from its cached decision now (diagnostics, tests: writes nothing). */
export function flowHasCachedDecision(e: i32): bool {
  const p = flowPtr(e);
  return (load<u32>(p, F_META) & META_V6) == 0 && cacheOutlived(p, load<u32>(p, F_CACHE_TAG));
}

/** The last epoch handed out (tests: the wrap path). */
export function flowDecisionEpoch(): u32 {
  return load<u32>(EPOCH);
}
export function setFlowDecisionEpoch(epoch: u32): void {
  store<u32>(EPOCH, epoch);
}

