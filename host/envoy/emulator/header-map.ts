/**
 * Proxy-Wasm header-map serialization (ABI v0.2.1 spec, "Serialization"): a u32 count N, then N
 * pairs of u32 (key length, value length), then each key and value followed by a NUL that the
 * lengths do not count. All integers little-endian. An empty map may be 0 bytes or a single 0x00.
 * The Rust SDK (hostcalls.rs serialize_map/deserialize_map) and Go proxytest use the same layout.
 */

/** Header pairs in order; names may repeat. */
export type HeaderPairs = Array<[string, string]>;

const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: false });

export function serializeHeaderMap(pairs: HeaderPairs): Uint8Array {
  const encoded = pairs.map(([k, v]) => [utf8.encode(k), utf8.encode(v)] as const);
  let size = 4 + 8 * encoded.length;
  for (const [k, v] of encoded) size += k.length + 1 + v.length + 1;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  view.setUint32(0, encoded.length, true);
  let off = 4;
  for (const [k, v] of encoded) {
    view.setUint32(off, k.length, true);
    view.setUint32(off + 4, v.length, true);
    off += 8;
  }
  for (const [k, v] of encoded) {
    out.set(k, off);
    off += k.length + 1;
    out.set(v, off);
    off += v.length + 1;
  }
  return out;
}

/** Throws an Error naming the offset when the bytes are not a well-formed map. */
export function deserializeHeaderMap(bytes: Uint8Array): HeaderPairs {
  if (bytes.length === 0 || (bytes.length === 1 && bytes[0] === 0)) return [];
  if (bytes.length < 4) throw new Error(`header map: ${bytes.length} bytes is too short for the pair count`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = view.getUint32(0, true);
  let lenOff = 4;
  let dataOff = 4 + 8 * n;
  if (dataOff > bytes.length) throw new Error(`header map: count ${n} needs ${dataOff} bytes, have ${bytes.length}`);
  const pairs: HeaderPairs = [];
  for (let i = 0; i < n; i++) {
    const kl = view.getUint32(lenOff, true);
    const vl = view.getUint32(lenOff + 4, true);
    lenOff += 8;
    if (dataOff + kl + 1 + vl + 1 > bytes.length) throw new Error(`header map: pair ${i} overruns the buffer`);
    const k = utf8Decoder.decode(bytes.subarray(dataOff, dataOff + kl));
    dataOff += kl + 1;
    const v = utf8Decoder.decode(bytes.subarray(dataOff, dataOff + vl));
    dataOff += vl + 1;
    pairs.push([k, v]);
  }
  return pairs;
}
