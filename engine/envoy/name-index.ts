/**
 * Service name → service ports, for routing by `:authority`. Built once per snapshot generation
 * (allocating is fine there); looked up per request on raw bytes without allocating.
 *
 * Layout:
 *   keys     "<ns>\0<name>" lower-cased, concatenated         (Uint8Array)
 *   groups   per distinct Service, GROUP_WORDS i32 words:
 *              0 key offset | 1 ns length | 2 name length | 3 first member | 4 member count | 5 hash
 *   members  service port indexes, grouped                     (i32[])
 *   slots    open addressing (linear probe), group + 1, 0 = empty; capacity a power of two ≥ 2×groups
 */

// @ts-ignore: decorator
@inline const GROUP_WORDS: i32 = 6;

// @ts-ignore: decorator
@inline function lower(c: u32): u32 {
  return c >= 0x41 && c <= 0x5a ? c | 0x20 : c;
}

/** FNV-1a over lower-cased ns, a NUL, lower-cased name. */
function hashKey(nsPtr: usize, nsLen: usize, namePtr: usize, nameLen: usize): u32 {
  let h: u32 = 0x811c9dc5;
  for (let i: usize = 0; i < nsLen; i++) h = (h ^ lower(<u32>load<u8>(nsPtr + i))) * 0x01000193;
  h = (h ^ 0) * 0x01000193;
  for (let i: usize = 0; i < nameLen; i++) h = (h ^ lower(<u32>load<u8>(namePtr + i))) * 0x01000193;
  return h;
}

export class NameIndex {
  private keys: Uint8Array = new Uint8Array(0);
  private groups: StaticArray<i32> = new StaticArray<i32>(0);
  private members: StaticArray<i32> = new StaticArray<i32>(0);
  private slots: StaticArray<i32> = new StaticArray<i32>(0);
  private mask: u32 = 0;
  /** First member / count of the last successful lookup. */
  first: i32 = 0;
  count: i32 = 0;

  /**
   * Builds the index from parallel lists (one entry per service port): namespace, name, and the
   * service port index each belongs to.
   */
  static build(namespaces: string[], names: string[], indexes: i32[]): NameIndex {
    const idx = new NameIndex();
    const byKey = new Map<string, i32[]>();
    const order: string[] = [];
    for (let i = 0; i < names.length; i++) {
      const key = namespaces[i].toLowerCase() + '\0' + names[i].toLowerCase();
      if (!byKey.has(key)) {
        byKey.set(key, []);
        order.push(key);
      }
      byKey.get(key).push(indexes[i]);
    }
    let keyBytes = 0;
    const encoded: ArrayBuffer[] = [];
    for (let g = 0; g < order.length; g++) {
      const b = String.UTF8.encode(order[g]);
      encoded.push(b);
      keyBytes += b.byteLength;
    }
    idx.keys = new Uint8Array(keyBytes);
    idx.groups = new StaticArray<i32>(order.length * GROUP_WORDS);
    idx.members = new StaticArray<i32>(indexes.length);
    let cap: u32 = 8;
    while (cap < <u32>order.length * 2) cap <<= 1;
    idx.slots = new StaticArray<i32>(<i32>cap);
    idx.mask = cap - 1;
    let off = 0;
    let m = 0;
    for (let g = 0; g < order.length; g++) {
      const b = encoded[g];
      const base = idx.keys.dataStart + <usize>off;
      memory.copy(base, changetype<usize>(b), b.byteLength);
      const nsLen = order[g].indexOf('\0');
      const nameLen = b.byteLength - nsLen - 1;
      const list = byKey.get(order[g]);
      const h = hashKey(base, <usize>nsLen, base + <usize>nsLen + 1, <usize>nameLen);
      const w = g * GROUP_WORDS;
      idx.groups[w] = off;
      idx.groups[w + 1] = nsLen;
      idx.groups[w + 2] = nameLen;
      idx.groups[w + 3] = m;
      idx.groups[w + 4] = list.length;
      idx.groups[w + 5] = <i32>h;
      for (let k = 0; k < list.length; k++) idx.members[m++] = list[k];
      let s = h & idx.mask;
      while (idx.slots[<i32>s] != 0) s = (s + 1) & idx.mask;
      idx.slots[<i32>s] = g + 1;
      off += b.byteLength;
    }
    return idx;
  }

  /** Finds the Service; on success `first`/`count` select its ports via member(). */
  lookup(nsPtr: usize, nsLen: usize, namePtr: usize, nameLen: usize): bool {
    if (this.mask == 0) return false;
    const h = hashKey(nsPtr, nsLen, namePtr, nameLen);
    let s = h & this.mask;
    for (let probes: u32 = 0; probes <= this.mask; probes++) {
      const g = unchecked(this.slots[<i32>s]) - 1;
      if (g < 0) return false;
      const w = g * GROUP_WORDS;
      if (<u32>unchecked(this.groups[w + 5]) == h && this.equals(w, nsPtr, nsLen, namePtr, nameLen)) {
        this.first = unchecked(this.groups[w + 3]);
        this.count = unchecked(this.groups[w + 4]);
        return true;
      }
      s = (s + 1) & this.mask;
    }
    return false;
  }

  /** The k-th service port index of the last lookup's Service. */
  member(k: i32): i32 {
    return unchecked(this.members[this.first + k]);
  }

  private equals(w: i32, nsPtr: usize, nsLen: usize, namePtr: usize, nameLen: usize): bool {
    const gNs = <usize>unchecked(this.groups[w + 1]);
    const gName = <usize>unchecked(this.groups[w + 2]);
    if (gNs != nsLen || gName != nameLen) return false;
    const base = this.keys.dataStart + <usize>unchecked(this.groups[w]);
    for (let i: usize = 0; i < nsLen; i++) if (load<u8>(base + i) != <u8>lower(<u32>load<u8>(nsPtr + i))) return false;
    const nb = base + nsLen + 1;
    for (let i: usize = 0; i < nameLen; i++) if (load<u8>(nb + i) != <u8>lower(<u32>load<u8>(namePtr + i))) return false;
    return true;
  }
}
