/**
 * The shared flow registry of a worker (host/forwarder/workers/flow-registry.ts) against a plain
 * Set on random add/remove sequences (fast-check), read back (`flows`, `has`) through another view
 * of the same SharedArrayBuffer as main reads it; and what happens when it is full.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseAddress } from '../../host/engine/address.js';
import { FlowRegistry } from '../../host/forwarder/workers/flow-registry.js';
import type { RecordedFlow } from '../../host/forwarder/workers/flow-registry.js';

const key = (f: RecordedFlow): string => `${f.protocol} ${f.src.text}:${f.srcPort} ${f.dst.text}:${f.dstPort}`;

/** Few distinct tuples, so adds collide with existing ones and removes hit. */
const tuple = fc.record({
  protocol: fc.constantFrom(6, 17),
  src: fc.constantFrom('127.0.0.1', '198.18.0.7', '255.255.255.254', 'fd00::1', '2001:db8::ffff:1'),
  srcPort: fc.integer({ min: 1, max: 40 }),
  dstPort: fc.constantFrom(80, 53, 65535),
});

describe('FlowRegistry', () => {
  it('holds exactly the flows added and not removed (random sequences)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.boolean(), tuple), { maxLength: 400 }), (ops) => {
        const reg = FlowRegistry.create(256);
        const model = new Map<string, RecordedFlow>();
        for (const [add, t] of ops) {
          const src = parseAddress(t.src);
          const dst = parseAddress(src.family === 4 ? '127.97.0.1' : 'fd00::97');
          const f = { protocol: t.protocol, src, srcPort: t.srcPort, dst, dstPort: t.dstPort };
          if (add) {
            expect(reg.add(f.protocol, f.src, f.srcPort, f.dst, f.dstPort), 'add is true only for a flow not recorded yet').toBe(!model.has(key(f)));
            model.set(key(f), f);
          } else {
            reg.remove(f.protocol, f.src, f.srcPort, f.dst, f.dstPort);
            model.delete(key(f));
          }
        }
        const other = new FlowRegistry(reg.buffer);
        const read = other.flows();
        expect(read.map(key).sort()).toEqual([...model.keys()].sort());
        for (const [, t] of ops) {
          const src = parseAddress(t.src);
          const f = { protocol: t.protocol, src, srcPort: t.srcPort, dst: parseAddress(src.family === 4 ? '127.97.0.1' : 'fd00::97'), dstPort: t.dstPort };
          expect(other.has(f.protocol, f.src, f.srcPort, f.dst, f.dstPort)).toBe(model.has(key(f)));
        }
        expect(reg.size).toBe(model.size);
        expect(reg.overflow).toBe(0);
      }),
      { numRuns: 200 },
    );
  });

  it('reads back addresses with their words and text (a tuple has one family)', () => {
    const reg = FlowRegistry.create(16);
    const v6 = { protocol: 17, src: parseAddress('2001:db8::ffff:1'), srcPort: 5353, dst: parseAddress('fd00::10'), dstPort: 53 };
    const v4 = { protocol: 6, src: parseAddress('198.19.255.254'), srcPort: 65535, dst: parseAddress('10.96.0.1'), dstPort: 443 };
    for (const f of [v6, v4]) reg.add(f.protocol, f.src, f.srcPort, f.dst, f.dstPort);
    expect(reg.flows().sort((a, b) => a.protocol - b.protocol)).toEqual([v4, v6]);
  });

  it('counts the flows it could not record once full, and records again after removals', () => {
    const reg = FlowRegistry.create(4);
    const dst = parseAddress('127.97.0.1');
    for (let p = 1; p <= 6; p++) reg.add(6, parseAddress('127.0.0.1'), p, dst, 80);
    expect(reg.size).toBe(4);
    expect(reg.overflow).toBe(2);
    reg.remove(6, parseAddress('127.0.0.1'), 1, dst, 80);
    reg.add(6, parseAddress('127.0.0.1'), 7, dst, 80);
    expect(reg.flows().map((f) => f.srcPort).sort()).toEqual([2, 3, 4, 7]);
  });
});
