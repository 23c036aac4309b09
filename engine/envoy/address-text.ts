/**
 * Writes `ip:port` (IPv4) or `[ipv6]:port` (RFC 5952 canonical text: lower case, longest run of
 * two or more zero groups compressed, leftmost on ties) into a fixed scratch buffer, for the
 * endpoint header and the original_dst_address filter state. No allocation.
 */

/** Large enough for `[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535`. */
export const TEXT: usize = memory.data(64);
export let textLen: usize = 0;

const HEX: usize = memory.data<u8>([0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66]);

function putByte(c: u32): void {
  store<u8>(TEXT + textLen, <u8>c);
  textLen++;
}

function putDecimal(v: u32): void {
  if (v >= 10) putDecimal(v / 10);
  putByte(0x30 + v % 10);
}

function putHex16(v: u32): void {
  let started = false;
  for (let shift: i32 = 12; shift >= 0; shift -= 4) {
    const d = (v >>> <u32>shift) & 0xf;
    if (d != 0 || started || shift == 0) {
      putByte(<u32>load<u8>(HEX + <usize>d));
      started = true;
    }
  }
}

// @ts-ignore: decorator
@inline function group(w0: u32, w1: u32, w2: u32, w3: u32, i: i32): u32 {
  const word = i < 2 ? w0 : i < 4 ? w1 : i < 6 ? w2 : w3;
  return (i & 1) == 0 ? word >>> 16 : word & 0xffff;
}

/** Formats the address and port into TEXT/textLen. */
export function formatAddressPort(family: u32, w0: u32, w1: u32, w2: u32, w3: u32, port: u32): void {
  textLen = 0;
  if (family == 4) {
    putDecimal(w0 >>> 24);
    putByte(0x2e);
    putDecimal((w0 >>> 16) & 0xff);
    putByte(0x2e);
    putDecimal((w0 >>> 8) & 0xff);
    putByte(0x2e);
    putDecimal(w0 & 0xff);
  } else {
    putByte(0x5b);
    // Longest run of zero groups (length ≥ 2), leftmost on ties.
    let bestStart = -1;
    let bestLen = 1;
    let runStart = -1;
    for (let i = 0; i <= 8; i++) {
      const zero = i < 8 && group(w0, w1, w2, w3, i) == 0;
      if (zero) {
        if (runStart < 0) runStart = i;
      } else if (runStart >= 0) {
        if (i - runStart > bestLen) {
          bestStart = runStart;
          bestLen = i - runStart;
        }
        runStart = -1;
      }
    }
    for (let i = 0; i < 8; i++) {
      if (i == bestStart) {
        putByte(0x3a);
        putByte(0x3a);
        i += bestLen - 1;
        continue;
      }
      if (i > 0 && i != bestStart + bestLen) putByte(0x3a);
      putHex16(group(w0, w1, w2, w3, i));
    }
    putByte(0x5d);
  }
  putByte(0x3a);
  putDecimal(port);
}
