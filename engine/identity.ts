/**
 * Service port identities without strings (issue 10): an open-addressing index of a generation's
 * service ports by (namespace, name, portName, protocol), hashed and compared over the UTF-8
 * bytes in place. A full load matches each new service port to its old self through it
 * (remap.ts sameIdentity decides equality), in steps when the build is staged (build.ts).
 */
import { Generation } from './generation';
import { finishHash, mixWord } from './hash';
import { SP_NAME_LENS, SP_NAME_PTR, SP_PORTNAME_LEN } from './layout';
import { sameIdentity } from './remap';
import { probeBound } from './table';

function identityHash(gen: Generation, s: i32): u32 {
  const lens = gen.spWord(s, SP_NAME_LENS);
  const n = <i32>((lens & 0xffff) + (lens >>> 16) + (gen.spWord(s, SP_PORTNAME_LEN) & 0xffff));
  const p = <usize>gen.spWord(s, SP_NAME_PTR);
  let h = mixWord(0x2c1b3c6d, lens);
  let i = 0;
  for (; i + 4 <= n; i += 4) h = mixWord(h, load<u32>(p + <usize>i));
  for (; i < n; i++) h = mixWord(h, <u32>load<u8>(p + <usize>i));
  return finishHash(mixWord(h, gen.spProtocol(s) | (<u32>n << 8)));
}

/** The index: slots hold service port + 1 (0 = empty), at load factor ≤ 1/2. */
export function newIdentityIndex(gen: Generation): StaticArray<i32> {
  let size = 16;
  while (size < gen.spCount * 2) size <<= 1;
  return new StaticArray<i32>(size);
}

/** Adds service ports [from, to) of `gen`. */
export function identityInsertStep(gen: Generation, index: StaticArray<i32>, from: i32, to: i32): void {
  const mask = <u32>index.length - 1;
  for (let s = from; s < to; s++) {
    let i = identityHash(gen, s) & mask;
    for (let n: u32 = 0; unchecked(index[i]) != 0; n++) {
      probeBound(n + 1, mask);
      i = (i + 1) & mask;
    }
    unchecked((index[i] = s + 1));
  }
}

/** The service port of `old` (indexed) with the identity of `gen`'s `s`, or -1 (the last in snapshot order when two share one, as the string map did). */
export function identityFind(old: Generation, index: StaticArray<i32>, gen: Generation, s: i32): i32 {
  const mask = <u32>index.length - 1;
  let i = identityHash(gen, s) & mask;
  let found = -1;
  let n: u32 = 0;
  while (true) {
    probeBound(n++, mask);
    const v = unchecked(index[i]);
    if (v == 0) return found;
    if (sameIdentity(old, v - 1, gen, s) && v - 1 > found) found = v - 1;
    i = (i + 1) & mask;
  }
}
