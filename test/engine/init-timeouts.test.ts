/**
 * Issue 10: raw `init` (the Wasm export, as a host other than host/engine/engine.ts may call it)
 * refuses flow timeouts whose milliseconds would overflow: 3,000,000 s reads as a negative span
 * (every flow expired at once), 5,000,000 s wraps to about 8 days. Refused means nothing changes.
 */
import { describe, expect, it } from 'vitest';
import { Verdict } from '../../host/engine/api.js';
import type { Engine } from '../../host/engine/engine.js';
import { loadEngine } from '../../host/engine/node.js';
import { abc, ip, model, servicePort, TCP } from './fixtures.js';

const VIP = ip('10.96.0.10');
const C = ip('172.16.0.1');
const S = 1000;

/** The raw exports behind the typed wrapper. */
const raw = (engine: Engine) => (engine as unknown as { ex: { init(...a: number[]): number } }).ex;

async function engineAfterInit(tcpS: number): Promise<{ engine: Engine; status: number }> {
  const engine = await loadEngine({ flowCapacity: 64 });
  const status = raw(engine).init(64, 64, 1, tcpS, 0, 0, 0, 0);
  engine.load(model([servicePort('web', { clusterIPs: ['10.96.0.10'], backends: abc([1, 1, 1]) })]));
  return { engine, status };
}

describe('init validates flow timeouts inside the engine', () => {
  it.each([
    ['3,000,000 s (negative as i32 ms)', 3_000_000],
    ['5,000,000 s (wraps past u32 ms)', 5_000_000],
    ['2^32 − 1 s', 0xffffffff],
  ])('refuses %s and keeps the 900 s default', async (_, tcpS) => {
    const { engine, status } = await engineAfterInit(tcpS);
    expect(status).toBe(1);
    engine.connect(TCP, C, 1, VIP, 80, 0);
    engine.established(TCP, C, 1, VIP, 80, 0);
    expect(engine.lookup(TCP, C, 1, VIP, 80, 899 * S).verdict).toBe(Verdict.Backend);
    expect(engine.lookup(TCP, C, 1, VIP, 80, 1798 * S).verdict).toBe(Verdict.Backend);
    expect(engine.lookup(TCP, C, 1, VIP, 80, 2698 * S).verdict).toBe(Verdict.Pass);
  });

  it('accepts the largest allowed timeout, 2,000,000 s, and applies it', async () => {
    const { engine, status } = await engineAfterInit(2_000_000);
    expect(status).toBe(0);
    engine.connect(TCP, C, 1, VIP, 80, 0);
    engine.established(TCP, C, 1, VIP, 80, 0);
    expect(engine.lookup(TCP, C, 1, VIP, 80, 1_999_999 * S).verdict).toBe(Verdict.Backend);
    expect(engine.expire(3_999_999 * S)).toBe(1);
  });
});
