/** The allocation-free SHA-256 behind chain names agrees with OpenSSL on every length and on non-ASCII text. */
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { base32 } from '../../host/rules/names.js';
import { sha256Base32 } from '../../host/rules/sha256-base32.js';

const reference = (text: string, n: number) => base32(createHash('sha256').update(text).digest().subarray(0, 10)).slice(0, n);

describe('sha256Base32', () => {
  it('matches node:crypto across block boundaries (0-200 bytes)', () => {
    for (let len = 0; len <= 200; len++) {
      const text = Array.from({ length: len }, (_, i) => String.fromCharCode(33 + ((i * 31 + len) % 90))).join('');
      expect(sha256Base32(text, 16), `length ${len}`).toBe(reference(text, 16));
    }
  });

  it('matches node:crypto on arbitrary Unicode text and prefix lengths', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 120 }), fc.integer({ min: 1, max: 16 }), (text, n) => {
        expect(sha256Base32(text, n)).toBe(reference(text, n));
      }),
      { numRuns: 300 },
    );
  });
});
