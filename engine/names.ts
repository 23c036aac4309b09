/**
 * The name index: (namespace, name, port, protocol) → service port, for hosts that route by
 * Service DNS name instead of address (the Envoy filter: `name.namespace.svc…:port`). Built per
 * generation; lookups compare the snapshot's UTF-8 bytes, no strings are created.
 */
import { Generation } from './generation';
import { finishHash, mixWord } from './hash';
import { SP_NAME_LENS, SP_NAME_PTR } from './layout';
import { probeBound } from './table';

function bytesHash(h: u32, ptr: usize, len: i32): u32 {
  for (let i = 0; i < len; i++) h = mixWord(h, <u32>load<u8>(ptr + <usize>i));
  return mixWord(h, <u32>len);
}

function nameHash(nsPtr: usize, nsLen: i32, namePtr: usize, nameLen: i32, port: u32, proto: u32): u32 {
  let h = bytesHash(0x1b873593, nsPtr, nsLen);
  h = bytesHash(h, namePtr, nameLen);
  h = mixWord(h, port | (proto << 16));
  return finishHash(h);
}

function spNamePtr(gen: Generation, sp: i32): usize {
  return <usize>gen.spWord(sp, SP_NAME_PTR);
}

/** The home slot of service port `s` in a name index of `mask + 1` slots. */
function homeOf(gen: Generation, s: i32, mask: u32): u32 {
  const p = spNamePtr(gen, s);
  const lens = gen.spWord(s, SP_NAME_LENS);
  const nsLen = <i32>(lens & 0xffff);
  return nameHash(p, nsLen, p + <usize>nsLen, <i32>(lens >>> 16), gen.spPort(s), gen.spProtocol(s)) & mask;
}

/**
 * Builds `names` (slots hold sp + 1; 0 = empty) for a generation, with room for `extra` more
 * service ports (0 on a full load; delta.ts asks for room when it has to rebuild it).
 */
export function buildNameIndex(gen: Generation, extra: i32 = 0): StaticArray<i32> {
  let size = 16;
  while (size < (gen.spCount + extra) * 2) size <<= 1;
  const table = new StaticArray<i32>(size);
  const mask = <u32>size - 1;
  for (let s = 0; s < gen.spCount; s++) {
    let i = homeOf(gen, s, mask);
    for (let n: u32 = 0; unchecked(table[i]) != 0; n++) {
      probeBound(n + 1, mask);
      i = (i + 1) & mask;
    }
    unchecked((table[i] = s + 1));
  }
  gen.nameCount = gen.spCount;
  return table;
}

/** Adds service port `s` to `gen.names` (the caller keeps the load factor ≤ 1/2). */
export function insertName(gen: Generation, s: i32): void {
  const table = gen.names;
  const mask = <u32>table.length - 1;
  let i = homeOf(gen, s, mask);
  for (let n: u32 = 0; unchecked(table[i]) != 0; n++) {
    probeBound(n + 1, mask);
    i = (i + 1) & mask;
  }
  unchecked((table[i] = s + 1));
  gen.nameCount++;
}

/** The slot of service port `s` in `gen.names`, or -1. */
function nameSlot(gen: Generation, s: i32): i32 {
  const table = gen.names;
  const mask = <u32>table.length - 1;
  let i = homeOf(gen, s, mask);
  let n: u32 = 0;
  while (true) {
    probeBound(n++, mask);
    const v = unchecked(table[i]);
    if (v == 0) return -1;
    if (v == s + 1) return <i32>i;
    i = (i + 1) & mask;
  }
}

/** Removes service port `s` (backward-shift deletion, as flows.ts does). */
export function removeName(gen: Generation, s: i32): void {
  const table = gen.names;
  const mask = <u32>table.length - 1;
  const at = nameSlot(gen, s);
  if (at < 0) return;
  let hole = <u32>at;
  let j = hole;
  let n: u32 = 0;
  while (true) {
    probeBound(n++, mask);
    j = (j + 1) & mask;
    const v = unchecked(table[j]);
    if (v == 0) break;
    const home = homeOf(gen, v - 1, mask);
    const between = hole <= j ? home > hole && home <= j : home > hole || home <= j;
    if (!between) {
      unchecked((table[hole] = v));
      hole = j;
    }
  }
  unchecked((table[hole] = 0));
  gen.nameCount--;
}

/** Service port `s`'s record moved to index `to`: its entry now says so (its names did not change). */
export function renumberName(gen: Generation, s: i32, to: i32): void {
  const at = nameSlot(gen, s);
  if (at >= 0) unchecked((gen.names[at] = to + 1));
}

/**
 * The first service port (snapshot order) of Service `namespace/name` with this port number and
 * protocol, or -1. Names are UTF-8 bytes at the given pointers.
 */
export function findServicePort(gen: Generation, names: StaticArray<i32>, nsPtr: usize, nsLen: i32, namePtr: usize, nameLen: i32, port: u32, proto: u32): i32 {
  const mask = <u32>names.length - 1;
  let i = nameHash(nsPtr, nsLen, namePtr, nameLen, port, proto) & mask;
  let n: u32 = 0;
  while (true) {
    probeBound(n++, mask);
    const v = unchecked(names[i]);
    if (v == 0) return -1;
    const s = v - 1;
    const lens = gen.spWord(s, SP_NAME_LENS);
    if (gen.spPort(s) == port && gen.spProtocol(s) == proto && <i32>(lens & 0xffff) == nsLen && <i32>(lens >>> 16) == nameLen) {
      const p = spNamePtr(gen, s);
      if (memory.compare(p, nsPtr, nsLen) == 0 && memory.compare(p + <usize>nsLen, namePtr, nameLen) == 0) return s;
    }
    i = (i + 1) & mask;
  }
}
