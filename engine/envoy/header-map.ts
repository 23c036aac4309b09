/**
 * Builds a serialized proxy-wasm header map (spec "Serialization": u32 count, count × (u32 key
 * length, u32 value length), then each key and value NUL-terminated). Control paths only.
 */
export function serializeHeaders(keys: string[], values: string[]): ArrayBuffer {
  const k = new Array<ArrayBuffer>(keys.length);
  const v = new Array<ArrayBuffer>(keys.length);
  let size = 4 + 8 * keys.length;
  for (let i = 0; i < keys.length; i++) {
    k[i] = String.UTF8.encode(keys[i]);
    v[i] = String.UTF8.encode(values[i]);
    size += k[i].byteLength + v[i].byteLength + 2;
  }
  const out = new ArrayBuffer(size);
  const base = changetype<usize>(out);
  store<u32>(base, keys.length);
  let lens = base + 4;
  let data = base + 4 + <usize>(8 * keys.length);
  for (let i = 0; i < keys.length; i++) {
    store<u32>(lens, k[i].byteLength);
    store<u32>(lens, v[i].byteLength, 4);
    lens += 8;
    memory.copy(data, changetype<usize>(k[i]), k[i].byteLength);
    data += <usize>k[i].byteLength;
    store<u8>(data, 0);
    data++;
    memory.copy(data, changetype<usize>(v[i]), v[i].byteLength);
    data += <usize>v[i].byteLength;
    store<u8>(data, 0);
    data++;
  }
  return out;
}
