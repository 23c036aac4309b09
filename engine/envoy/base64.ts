/**
 * Base64 decoding (RFC 4648 §4, standard alphabet, padding optional, whitespace ignored) for the
 * snapshot embedded in the configuration and the snapshot endpoint's body. Control path only.
 */

function sextet(c: i32): i32 {
  if (c >= 0x41 && c <= 0x5a) return c - 0x41;
  if (c >= 0x61 && c <= 0x7a) return c - 0x61 + 26;
  if (c >= 0x30 && c <= 0x39) return c - 0x30 + 52;
  if (c == 0x2b) return 62;
  if (c == 0x2f) return 63;
  return -1;
}

/** Decoded bytes, or null when the text is not base64 (`base64Error` says where). */
export let base64Error: string = '';

export function decodeBase64(text: string): Uint8Array | null {
  const out = new Uint8Array((text.length * 3) >> 2);
  let acc: u32 = 0;
  let bits: i32 = 0;
  let n: i32 = 0;
  let padding: i32 = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c == 0x20 || c == 0x0a || c == 0x0d || c == 0x09) continue;
    if (c == 0x3d) {
      padding++;
      continue;
    }
    const v = sextet(c);
    if (v < 0 || padding > 0) {
      base64Error = 'invalid base64 character at offset ' + i.toString();
      return null;
    }
    acc = (acc << 6) | <u32>v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[n++] = <u8>(acc >> <u32>bits);
    }
  }
  if (bits >= 6 || padding > 2) {
    base64Error = 'truncated base64';
    return null;
  }
  return out.subarray(0, n);
}
