/**
 * ClientIP affinity entries across a delta (delta.ts). Entries name their pool and backend by
 * global index; a delta moves only the changed service ports' runs, so every other index maps to
 * itself and the changed ones follow the carry (an entry whose backend left its pool goes, as on
 * a full load). Built only when a changed service port had affinity and entries exist.
 */
import { Generation } from './generation';
import { POOL_FAMILY_END, POOL_FAMILY_START, POOL_INVERSE, SP_BACKEND_START, SP_POOL_START } from './layout';
import { Remap } from './remap';
import { Change } from './splice';
import { affinityRemap } from './affinity';
import { current } from './state';

/** An entry stays while its backend is a destination of its pool in the patched generation. */
function keepAfterDelta(pool: i32, b: i32): bool {
  const gen = current;
  const from = <i32>gen.poolWord(pool, POOL_FAMILY_START);
  if (b < from || b >= <i32>gen.poolWord(pool, POOL_FAMILY_END)) return false;
  return unchecked(gen.memberOf[<i32>gen.poolWord(pool, POOL_INVERSE) + b - from]) >= 0;
}

export class AffinityMaps {
  poolMap: StaticArray<i32>;
  backendMap: StaticArray<i32>;

  /** Call after planChanges and before the remap is reset; `pools`/`backends`: the old high-water marks. */
  constructor(mini: Generation, remap: Remap, changes: Array<Change>, pools: i32, backends: i32) {
    this.poolMap = new StaticArray<i32>(pools);
    this.backendMap = new StaticArray<i32>(backends);
    for (let i = 0; i < pools; i++) unchecked((this.poolMap[i] = i));
    for (let i = 0; i < backends; i++) unchecked((this.backendMap[i] = i));
    for (let c = 0; c < changes.length; c++) {
      const ch = unchecked(changes[c]);
      if (ch.old < 0) continue;
      const mp = ch.next >= 0 ? <i32>mini.spWord(ch.next, SP_POOL_START) : 0;
      const mb = ch.next >= 0 ? <i32>mini.spWord(ch.next, SP_BACKEND_START) : 0;
      for (let p = ch.poolStart; p < ch.poolStart + ch.poolCount; p++) {
        const local = ch.next >= 0 ? unchecked(remap.poolOldToNew[p]) : -1;
        unchecked((this.poolMap[p] = local < 0 ? -1 : ch.newPoolStart + local - mp));
      }
      for (let b = ch.backendStart; b < ch.backendStart + ch.backendCount; b++) {
        const local = ch.next >= 0 ? unchecked(remap.backendOldToNew[b]) : -1;
        unchecked((this.backendMap[b] = local < 0 ? -1 : ch.newBackendStart + local - mb));
      }
    }
  }

  /** Remaps every entry (affinity.ts); returns how many were dropped. Call once the new records are written. */
  apply(): i32 {
    return affinityRemap(this.poolMap, this.backendMap, keepAfterDelta);
  }
}
