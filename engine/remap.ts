/**
 * What carries over from one generation to the next. Service ports are the same when namespace,
 * name, portName and protocol are; backends of a service port are the same when address and port
 * are (the stable backend id of DESIGN.md). Flows, affinity entries and pools (with their order,
 * rr/wrr state, counters and mh's last_weight) follow these maps; anything without a
 * counterpart is dropped (kubernetes #19029).
 */
import { Generation } from './generation';
import { B_PORT, B_W0, B_FAMILY, SP_BACKEND_COUNT, SP_BACKEND_START, SP_NAME_LENS, SP_NAME_PTR, SP_PORTNAME_LEN } from './layout';

export class Remap {
  /** New service port → old one, or -1. */
  spNewToOld: StaticArray<i32>;
  /** Old service port → new one, or -1. */
  spOldToNew: StaticArray<i32>;
  /** Old backend (global index) → new backend, or -1. */
  backendOldToNew: StaticArray<i32>;
  /** Old member slot → new member slot of the same virtual service, or -1 (filled by pools.ts). */
  slotOldToNew: StaticArray<i32>;
  /** Old pool → new pool of the same virtual service, or -1 (filled by pools.ts). */
  poolOldToNew: StaticArray<i32>;

  constructor(newSps: i32, oldSps: i32, oldBackends: i32, oldMembers: i32, oldPools: i32) {
    this.spNewToOld = new StaticArray<i32>(newSps);
    this.spOldToNew = new StaticArray<i32>(oldSps);
    this.backendOldToNew = new StaticArray<i32>(oldBackends);
    this.slotOldToNew = new StaticArray<i32>(oldMembers);
    this.poolOldToNew = new StaticArray<i32>(oldPools);
    // -1 everywhere: all bytes 0xff (a bulk fill; these arrays have one entry per old record).
    memory.fill(changetype<usize>(this.poolOldToNew), 0xff, <usize>oldPools << 2);
    memory.fill(changetype<usize>(this.spNewToOld), 0xff, <usize>newSps << 2);
    memory.fill(changetype<usize>(this.spOldToNew), 0xff, <usize>oldSps << 2);
    memory.fill(changetype<usize>(this.backendOldToNew), 0xff, <usize>oldBackends << 2);
    memory.fill(changetype<usize>(this.slotOldToNew), 0xff, <usize>oldMembers << 2);
  }
}

function compareBackends(a: Generation, x: i32, b: Generation, y: i32): i32 {
  for (let w = B_FAMILY; w <= B_W0 + 3; w++) {
    const p = a.backendWord(x, w);
    const q = b.backendWord(y, w);
    if (p != q) return p < q ? -1 : 1;
  }
  return <i32>a.backendWord(x, B_PORT) - <i32>b.backendWord(y, B_PORT);
}

/**
 * Records that service port `s` of `gen` is `o` of `old`, and matches their backends by address
 * and port. Both backend lists are in strictly ascending engine order: a merge.
 */
export function matchServicePort(remap: Remap, old: Generation, o: i32, gen: Generation, s: i32): void {
  unchecked((remap.spNewToOld[s] = o));
  unchecked((remap.spOldToNew[o] = s));
  let i = <i32>old.spWord(o, SP_BACKEND_START);
  const iEnd = i + <i32>old.spWord(o, SP_BACKEND_COUNT);
  let j = <i32>gen.spWord(s, SP_BACKEND_START);
  const jEnd = j + <i32>gen.spWord(s, SP_BACKEND_COUNT);
  while (i < iEnd && j < jEnd) {
    const c = compareBackends(old, i, gen, j);
    if (c < 0) i++;
    else if (c > 0) j++;
    else {
      unchecked((remap.backendOldToNew[i] = j));
      i++;
      j++;
    }
  }
}

/** Whether two service ports have the same identity: protocol, namespace, name and portName. */
export function sameIdentity(a: Generation, x: i32, b: Generation, y: i32): bool {
  if (a.spProtocol(x) != b.spProtocol(y)) return false;
  const lens = a.spWord(x, SP_NAME_LENS);
  const portLen = a.spWord(x, SP_PORTNAME_LEN) & 0xffff;
  if (lens != b.spWord(y, SP_NAME_LENS) || portLen != (b.spWord(y, SP_PORTNAME_LEN) & 0xffff)) return false;
  const n = <usize>((lens & 0xffff) + (lens >>> 16) + portLen);
  return memory.compare(<usize>a.spWord(x, SP_NAME_PTR), <usize>b.spWord(y, SP_NAME_PTR), n) == 0;
}
