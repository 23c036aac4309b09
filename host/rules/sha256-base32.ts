/**
 * base32(sha256(text)) prefixes for kube-proxy's chain names, without allocating per call.
 *
 * A 10k-Service × 10-endpoint ruleset needs ~110k names per cold render. node:crypto's
 * createHash/update/digest costs ~4 µs each (three objects and a Buffer per call); this plain
 * SHA-256 (FIPS 180-4) works in preallocated typed arrays and reads the 80 bits the names need
 * straight from the state words: ~0.5 µs for a one-block name. Pure (browser-safe).
 */

const K = new Int32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
  0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
  0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
  0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);
const H0 = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];

const W = new Int32Array(64);
const H = new Int32Array(8);
const utf8 = new TextEncoder();
/** Message bytes plus padding; grown for long texts. */
let buf = new Uint8Array(256);

/** Compresses the 64-byte block at `off` into H. */
function block(bytes: Uint8Array, off: number): void {
  for (let i = 0; i < 16; i++) {
    const j = off + i * 4;
    W[i] = (bytes[j]! << 24) | (bytes[j + 1]! << 16) | (bytes[j + 2]! << 8) | bytes[j + 3]!;
  }
  for (let i = 16; i < 64; i++) {
    const w15 = W[i - 15]!;
    const w2 = W[i - 2]!;
    const s0 = ((w15 >>> 7) | (w15 << 25)) ^ ((w15 >>> 18) | (w15 << 14)) ^ (w15 >>> 3);
    const s1 = ((w2 >>> 17) | (w2 << 15)) ^ ((w2 >>> 19) | (w2 << 13)) ^ (w2 >>> 10);
    W[i] = (W[i - 16]! + s0 + W[i - 7]! + s1) | 0;
  }
  let a = H[0]!, b = H[1]!, c = H[2]!, d = H[3]!, e = H[4]!, f = H[5]!, g = H[6]!, h = H[7]!;
  for (let i = 0; i < 64; i++) {
    const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
    const t1 = (h + S1 + ((e & f) ^ (~e & g)) + K[i]! + W[i]!) | 0;
    const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
    const t2 = (S0 + ((a & b) ^ (a & c) ^ (b & c))) | 0;
    h = g;
    g = f;
    f = e;
    e = (d + t1) | 0;
    d = c;
    c = b;
    b = a;
    a = (t1 + t2) | 0;
  }
  H[0] = (H[0]! + a) | 0;
  H[1] = (H[1]! + b) | 0;
  H[2] = (H[2]! + c) | 0;
  H[3] = (H[3]! + d) | 0;
  H[4] = (H[4]! + e) | 0;
  H[5] = (H[5]! + f) | 0;
  H[6] = (H[6]! + g) | 0;
  H[7] = (H[7]! + h) | 0;
}

/** UTF-8 bytes of `text` into `buf` (ASCII fast path); returns the byte length. */
function encode(text: string): number {
  const n = text.length;
  if (buf.length < n * 3 + 72) buf = new Uint8Array(n * 3 + 72);
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x80) return utf8.encodeInto(text, buf).written;
    buf[i] = c;
  }
  return n;
}

/** Runs SHA-256 over `text`, leaving the digest in H. */
function digest(text: string): void {
  const len = encode(text);
  const total = ((len + 8) >>> 6) * 64 + 64;
  buf[len] = 0x80;
  buf.fill(0, len + 1, total - 8);
  // Bit length, big-endian 64-bit (texts here are far below 2^29 bytes).
  const bits = len * 8;
  buf[total - 8] = 0;
  buf[total - 7] = 0;
  buf[total - 6] = 0;
  buf[total - 5] = Math.floor(bits / 2 ** 32) & 0xff;
  buf[total - 4] = (bits >>> 24) & 0xff;
  buf[total - 3] = (bits >>> 16) & 0xff;
  buf[total - 2] = (bits >>> 8) & 0xff;
  buf[total - 1] = bits & 0xff;
  H.set(H0);
  for (let off = 0; off < total; off += 64) block(buf, off);
}

/** Character codes of the RFC 4648 base32 alphabet. */
const B32 = Array.from('ABCDEFGHIJKLMNOPQRSTUVWXYZ234567', (ch) => ch.charCodeAt(0));
const chars: number[] = new Array<number>(16).fill(0);

/**
 * The first `n` (≤ 16) characters of base32(sha256(UTF-8 text)), i.e. of the digest's first 80 bits:
 * the 64 bits of H[0..1] and the top 16 of H[2].
 */
export function sha256Base32(text: string, n: number): string {
  digest(text);
  const hi = H[0]!, mid = H[1]!, lo = H[2]! >>> 16;
  // 80 bits = 16 groups of 5: bits 79..0 across hi (79..48), mid (47..16), lo (15..0).
  for (let i = 0; i < 16; i++) {
    const shift = 75 - 5 * i; // position of the group's lowest bit
    let v: number;
    if (shift >= 48) v = hi >>> (shift - 48);
    else if (shift > 43) v = (hi << (48 - shift)) | (mid >>> (shift - 16));
    else if (shift >= 16) v = mid >>> (shift - 16);
    else if (shift > 11) v = (mid << (16 - shift)) | (lo >>> shift);
    else v = lo >>> shift;
    chars[i] = B32[v & 31]!;
  }
  return n >= 16
    ? String.fromCharCode(chars[0]!, chars[1]!, chars[2]!, chars[3]!, chars[4]!, chars[5]!, chars[6]!, chars[7]!, chars[8]!, chars[9]!, chars[10]!, chars[11]!, chars[12]!, chars[13]!, chars[14]!, chars[15]!)
    : String.fromCharCode(...chars.slice(0, n));
}
