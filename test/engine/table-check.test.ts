/**
 * The tables' own invariants (Engine#checkTables: engine/table.ts tableCheck for the flow and
 * affinity tables, engine/service-table.ts matchTableCheck for the match table) and what a broken
 * one does. The differential tests check them after every step, so a bug that corrupts a table
 * fails at the step that made it; here: they hold through full tables, evictions, expiry, many
 * affinity timeouts and swaps; the check names each kind of corruption; and a walk over a list
 * that loops traps (a RuntimeError) instead of spinning forever inside Wasm, where no test
 * timeout could stop it.
 */
import { describe, expect, it } from 'vitest';
import { Verdict } from '../../host/engine/api.js';
import type { Engine } from '../../host/engine/engine.js';
import { loadEngine } from '../../host/engine/node.js';
import { backend, ip, model, servicePort, TCP, UDP } from './fixtures.js';

const VIP = ip('10.96.0.10');
const three = ['10.0.0.1', '10.0.0.2', '10.0.0.3'].map((a) => backend(a));

/** Table header and flow key offsets (engine/table.ts B_*, engine/flows.ts F_*). */
const B_HASH = 0;
const B_PREV = 8;
const B_NEXT = 12;
const F_SRC = 20;
const F_DST = 36;
const F_PORTS = 52;
const F_META = 56;

/** The engine's linear memory as words. */
function memoryWords(engine: Engine): Uint32Array {
  return new Uint32Array((engine as unknown as { ex: { memory: WebAssembly.Memory } }).ex.memory.buffer);
}

/**
 * The engine's memory as words, and the word index of the flow bucket holding (client, sport → VIP:80)
 * (found by its key: buckets are 64-byte aligned).
 */
function flowBucket(engine: Engine, client: string, sport: number): { words: Uint32Array; at: number } {
  const words = memoryWords(engine);
  const src = ip(client).w0;
  const ports = ((sport << 16) | 80) >>> 0;
  const found: number[] = [];
  for (let at = 0; at + 16 <= words.length; at += 16) {
    if (words[at + F_SRC / 4] === src && words[at + F_PORTS / 4] === ports && words[at + F_DST / 4] === VIP.w0) found.push(at);
  }
  expect(found).toHaveLength(1);
  return { words, at: found[0]! };
}

/** web (10.96.0.10:80), dns (10.96.0.53:53/UDP), and 20 ClientIP ports with 20 timeouts (10.96.1.1-20:80), more than the affinity table's 16 timeout lists. */
function busyModel(backends = three) {
  const ports = Array.from({ length: 20 }, (_, i) =>
    servicePort(`s${i}`, { clusterIPs: [`10.96.1.${i + 1}`], backends, sessionAffinity: 'ClientIP', affinityTimeoutSeconds: 10 + i }));
  const dns = servicePort('dns', { clusterIPs: ['10.96.0.53'], protocol: 'UDP', port: 53, backends });
  return model([servicePort('web', { clusterIPs: ['10.96.0.10'], backends }), dns, ...ports]);
}

async function busyEngine(): Promise<Engine> {
  const engine = await loadEngine({ flowCapacity: 200, affinityCapacity: 100, hashKey: [1, 2, 3, 4] });
  engine.load(busyModel());
  return engine;
}

describe('table invariants (checkTables)', () => {
  it('hold through full tables, evictions, state changes, expiry, overflowing affinity timeouts and swaps', async () => {
    const engine = await busyEngine();
    expect(engine.checkTables()).toBeNull();
    let now = 1_000;
    for (let i = 0; i < 600; i++) {
      now += 50;
      const client = ip(`172.16.${i % 7}.${(i * 13) % 250}`);
      const d = engine.connect(TCP, client, 1024 + i, ip(`10.96.1.${(i % 20) + 1}`), 80, now);
      expect(d.verdict).toBe(Verdict.Backend);
      if (i % 5 === 0) expect(engine.connect(UDP, client, 1024 + i, ip('10.96.0.53'), 53, now).verdict).toBe(Verdict.Backend);
      if (i % 3 === 0) engine.established(TCP, client, 1024 + i, ip(`10.96.1.${(i % 20) + 1}`), 80, now);
      if (i % 4 === 0) engine.close(TCP, client, 1024 + i, ip(`10.96.1.${(i % 20) + 1}`), 80, now);
      if (i % 50 === 0) engine.expire(now);
      if (i % 10 === 0) expect(engine.checkTables()).toBeNull();
    }
    const stats = engine.stats();
    // The point of the workload: both tables filled up and gave entries up.
    expect(stats.flowEvictions + stats.flowExpirations).toBeGreaterThan(0);
    expect(stats.affinityEvictions + stats.affinityExpirations).toBeGreaterThan(0);
    expect(stats.affinities).toBeGreaterThan(16);
    // The swap drops the first backend's flows and affinity entries, and rehashes the rest.
    const before = engine.stats();
    engine.load(busyModel(three.slice(1)));
    const after = engine.stats();
    expect(after.flowsDroppedOnSwap).toBeGreaterThan(before.flowsDroppedOnSwap);
    expect(after.affinities).toBeGreaterThan(0);
    expect(after.affinities).toBeLessThan(before.affinities);
    expect(engine.checkTables()).toBeNull();
    engine.expire(now + 3_600_000);
    expect(engine.stats().flows).toBe(0);
    expect(engine.checkTables()).toBeNull();
  });

  it('name a stored hash that is not its key\'s, a broken prev link and a list that loops', async () => {
    // Flows 1..5 of one client, on the SYN_RECV list newest first: next links run 5 → 1. A bucket's
    // own slot + 1 is what its older neighbour's prev link holds.
    const corruptions: [string, (w: Uint32Array, mid: number, older: number) => void, RegExp][] = [
      ['hash', (w, mid) => { w[mid + B_HASH / 4] = (w[mid + B_HASH / 4]! ^ 0x8000_0000) >>> 0; },
        /^flow table: bucket #\d+: the (stored hash is not the hash of the stored key|entry lies more than MAX_PROBE slots from its home slot)$/],
      ['prev', (w, mid) => { w[mid + B_PREV / 4] = 0; }, /^flow table: list #4: an entry's prev link does not name the entry before it$/],
      ['next to itself', (w, mid, older) => { w[mid + B_NEXT / 4] = w[older + B_PREV / 4]!; }, /^flow table: list #4: an entry's prev link does not name the entry before it$/],
    ];
    for (const [what, corrupt, message] of corruptions) {
      const engine = await busyEngine();
      for (let p = 1; p <= 5; p++) engine.connect(TCP, ip('172.16.9.9'), p, VIP, 80, 1_000 + p);
      expect(engine.checkTables(), what).toBeNull();
      const mid = flowBucket(engine, '172.16.9.9', 3);
      const older = flowBucket(engine, '172.16.9.9', 2);
      corrupt(mid.words, mid.at, older.at);
      expect(engine.checkTables(), what).toMatch(message);
    }
  });

  it('name a counter that is not its flows\' by member slot', async () => {
    const engine = await busyEngine();
    engine.connect(TCP, ip('172.16.9.9'), 1, VIP, 80, 1_000);
    const { words, at } = flowBucket(engine, '172.16.9.9', 1);
    // Flip the flow's active bit (F_META bit 13): its member's active counter no longer matches.
    words[at + F_META / 4] = (words[at + F_META / 4]! ^ (1 << 13)) >>> 0;
    expect(engine.checkTables()).toMatch(/^flow table: member slot #\d+: its active or inactive counter is not the number of its flows that are$/);
  });

  it('name a match slot whose rr position or uniform base is not its pool\'s', async () => {
    for (const [word, message] of [[11, /^match table: slot #\d+: the pool's own slot holds another rr position than the pool record$/],
      [12, /^match table: slot #\d+: its uniform base is not what its pool's members make it$/]] as const) {
      const engine = await busyEngine();
      engine.connect(TCP, ip('172.16.9.9'), 1, VIP, 80, 1_000);
      expect(engine.checkTables()).toBeNull();
      // web's slot: 10.96.0.10 in w0, meta = TCP | port 80 << 16 (layout.ts MATCH_*), on a 64-byte line.
      const words = memoryWords(engine);
      const slots: number[] = [];
      for (let at = 0; at + 16 <= words.length; at += 16) if (words[at] === VIP.w0 && words[at + 4] === ((80 << 16) | TCP)) slots.push(at);
      expect(slots).toHaveLength(1);
      words[slots[0]! + word] = (words[slots[0]! + word]! + 1) >>> 0;
      expect(engine.checkTables()).toMatch(message);
    }
  });

  it('a swap over a flow list that loops traps instead of spinning', async () => {
    const engine = await busyEngine();
    for (let p = 1; p <= 3; p++) engine.connect(TCP, ip('172.16.9.9'), p, VIP, 80, 1_000 + p);
    // The oldest flow (the list's tail) links on to the newest (its head): next links never end.
    const oldest = flowBucket(engine, '172.16.9.9', 1);
    const middle = flowBucket(engine, '172.16.9.9', 2);
    oldest.words[oldest.at + B_NEXT / 4] = middle.words[middle.at + B_PREV / 4]!;
    expect(engine.checkTables()).toMatch(/prev link/);
    expect(() => engine.load(model([servicePort('web', { clusterIPs: ['10.96.0.10'], backends: three.slice(1) })]))).toThrow(/unreachable/);
  });
});
