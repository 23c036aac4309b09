/**
 * An engine Address back from its four 32-bit words (the inverse of host/engine/address.ts's
 * parseAddress), for flows read out of a worker's shared flow registry.
 */
import ipaddr from 'ipaddr.js';
import type { Address } from '../../engine/address.js';

export function formatAddressWords(family: 4 | 6, w0: number, w1: number, w2: number, w3: number): Address {
  const words = [w0 >>> 0, w1 >>> 0, w2 >>> 0, w3 >>> 0] as const;
  if (family === 4) {
    const w = words[0];
    const text = `${w >>> 24}.${(w >>> 16) & 255}.${(w >>> 8) & 255}.${w & 255}`;
    return { family, w0: w, w1: 0, w2: 0, w3: 0, text };
  }
  const bytes: number[] = [];
  for (const w of words) bytes.push(w >>> 24, (w >>> 16) & 255, (w >>> 8) & 255, w & 255);
  return { family, w0: words[0], w1: words[1], w2: words[2], w3: words[3], text: ipaddr.fromByteArray(bytes).toString() };
}
