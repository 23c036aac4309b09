/**
 * Hand-written differential scenarios for paths random runs reach only rarely. Each one is played
 * on engine.wasm and on the reference (every answer, counter and statistic compared, as in
 * differential.test.ts), and the reference's picks are also checked against the kernel rule by
 * hand, so a scenario that stopped exercising its path would fail.
 */
import { describe, expect, it } from 'vitest';
import { Verdict, Via } from '../../host/engine/api.js';
import { loadEngine } from '../../host/engine/node.js';
import { RefEngine, type RefDecision } from '../reference/engine.js';
import { BACKEND_POOL, play, type FlowOp, type Op, type Scenario } from '../reference/differential-driver.js';
import type { BackendSpec } from '../reference/model-builder.js';

const at = (i: number, weight: number): BackendSpec => ({ ...BACKEND_POOL[i]!, weight });
/** A new TCP connection to the web port (service port 1) from client `client`, source port `port`. */
const tcp = (port: number, client = 0, kind: FlowOp['kind'] = 'connect'): Op => ({ kind, sp: 1, client, clientPort: port });
const swap = (...edits: [number, number | null][]): Op => ({ kind: 'swap', edits: edits.map(([backend, weight]) => ({ backend, weight })) });

/** Plays `s` on both engines (asserting agreement) and returns the reference's connect answers. */
async function agreeing(s: Scenario): Promise<RefDecision[]> {
  const reference = new RefEngine({ flowCapacity: 1024, affinityCapacity: 256 });
  const seen: RefDecision[] = [];
  const connect = reference.connect.bind(reference);
  reference.connect = (...args) => {
    const d = connect(...args);
    seen.push({ ...d });
    return d;
  };
  const mismatch = play(await loadEngine({ flowCapacity: 1024, affinityCapacity: 256 }), reference, s);
  expect(mismatch).toBeNull();
  return seen;
}

const scenario = (scheduler: Scenario['scheduler'], backends: BackendSpec[], ops: Op[], extra: Partial<Scenario> = {}): Scenario => ({
  scheduler,
  flags: { port: false, fallback: false },
  affinitySeconds: undefined,
  backends,
  ops,
  ...extra,
});
const picks = (ds: RefDecision[], names: string): string => ds.map((d) => (d.verdict === Verdict.Backend ? names[d.backendIndex] : '-')).join('');

describe('targeted differential scenarios', () => {
  it('wrr: a change that raises di rounds cw up to ⌊cw/di⌋·di + 1 (ip_vs_wrr_dest_changed)', async () => {
    // X (w 2), Y (w 3) added Y first: Y alone has di 3, mw 1, so cw starts at 1. X Y | Y | X
    // leaves cw 2. Y → 4 makes di 2, mw 3, so cw becomes 3: Y | X Y | Y | X Y, where an
    // unrounded cw 2 would give X Y | Y | X Y Y.
    const ops = [tcp(1), tcp(2), tcp(3), tcp(4), swap([1, 4]), tcp(5), tcp(6), tcp(7), tcp(8), tcp(9), tcp(10)];
    const ds = await agreeing(scenario('wrr', [at(0, 2), at(1, 3)], ops));
    expect(picks(ds, 'XY')).toBe('XYYX' + 'YXYYXY');
  });

  it('mh: a quiesced server keeps its last_weight, so the gcd and turns are those of 4 and 6', async () => {
    // mh-port, so the 4 IPv4 clients × 12 source ports probe 48 slots (X and Y are IPv4, and
    // only IPv4 backends serve IPv4 traffic).
    const ops: Op[] = [swap([0, 0])];
    for (let c = 0; c < 4; c++) for (let port = 1; port <= 12; port++) ops.push(tcp(port, c));
    const mhPort = { flags: { port: true, fallback: false } };
    const withHistory = await agreeing(scenario('mh', [at(0, 4), at(1, 6)], ops, mhPort));
    // The same final list loaded fresh (X added at weight 0, so no slots) answers differently.
    const fresh = await agreeing(scenario('mh', [at(0, 0), at(1, 6)], ops.slice(1), mhPort));
    expect(withHistory.some((d) => d.verdict === Verdict.Reject)).toBe(true);
    expect(fresh.every((d) => d.verdict === Verdict.Backend)).toBe(true);
  });

  it('rr: deleting the last chosen server and its predecessor falls back to the nearest survivor', async () => {
    const ds = await agreeing(scenario('rr', [0, 1, 2, 3, 4].map((i) => at(i, 1)), [tcp(1), tcp(2), tcp(3), swap([1, null], [2, null]), tcp(4), tcp(5)]));
    // Old list 0 1 2 3 4, last chosen 2; survivors 0 3 4, position 0, so 3 then 4.
    expect(ds.map((d) => d.backendIndex)).toEqual([0, 1, 2, 1, 2]);
  });

  it('flows: a quiesced backend keeps its flows and counters; a removed one loses them', async () => {
    const ds = await agreeing(
      scenario('lc', [at(0, 1), at(1, 1)], [tcp(1), swap([0, 0]), tcp(1, 0, 'lookup'), tcp(2), swap([0, null]), tcp(1, 0, 'lookup'), tcp(1)]),
    );
    expect(ds.map((d) => [d.backendIndex, d.via])).toEqual([
      [0, Via.Scheduler],
      [1, Via.Scheduler],
      [0, Via.Scheduler],
    ]);
  });

  it('affinity: weight 0 does not break ClientIP affinity; removal does', async () => {
    const ds = await agreeing(
      scenario('rr', [at(0, 1), at(1, 1)], [tcp(1), swap([0, 0]), tcp(2), swap([0, null]), tcp(3)], { affinitySeconds: 600 }),
    );
    expect(ds.map((d) => [d.backendIndex, d.via])).toEqual([
      [0, Via.Scheduler],
      [0, Via.Affinity],
      [0, Via.Scheduler],
    ]);
  });

  it('a closed TCP flow seeing a new SYN is active again; UDP established stays inactive', async () => {
    await agreeing(
      scenario('wlc', [at(0, 1)], [tcp(1), tcp(1, 0, 'close'), tcp(1), tcp(1, 0, 'established'), { kind: 'connect', sp: 0, client: 0, clientPort: 9 }, { kind: 'established', sp: 0, client: 0, clientPort: 9 }]),
    );
  });

  it('lazy expiry: an idle flow and affinity entry run out when next touched, without expire()', async () => {
    const ds = await agreeing(
      scenario('rr', [at(0, 1), at(1, 1)], [tcp(1), { kind: 'advance', ms: 900_000, expire: false }, tcp(1, 0, 'lookup'), tcp(1)], { affinitySeconds: 60 }),
    );
    expect(ds.map((d) => [d.backendIndex, d.via])).toEqual([
      [0, Via.Scheduler],
      [1, Via.Scheduler],
    ]);
  });
});
