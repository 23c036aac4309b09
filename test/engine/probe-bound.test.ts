/**
 * Issue 10: probe chains in the flow and affinity indexes are bounded. The test knows the table key (a fixed
 * host key) and recomputes the engine's keyed flow hash (engine/hash.ts: splitmix64 key schedule,
 * NH terms, finishNH) in BigInt, so it can pick 400 tuples whose home slots fall in the same 8 of
 * 8192 slots — what an attacker who learned the key could do. Without a bound they form one
 * chain (displacement ~n²/2, every lookup walks it); with it, keys past MAX_PROBE (128) are served
 * but not tracked, and no entry sits more than 128 slots from home.
 */
import { describe, expect, it } from 'vitest';
import { Verdict } from '../../host/engine/api.js';
import { loadEngine } from '../../host/engine/node.js';
import { abc, ip, model, servicePort, TCP } from './fixtures.js';

const M64 = (1n << 64n) - 1n;
const KEY: [number, number, number, number] = [1, 2, 3, 4];

function splitmix64(state: bigint): bigint {
  let z = (state + 0x9e3779b97f4a7c15n) & M64;
  z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & M64;
  z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & M64;
  return z ^ (z >> 31n);
}

/** engine/hash.ts seedTableKey: sixteen u32 words (each u64 stored little-endian). */
function tableKey([a, b, c, d]: readonly number[]): number[] {
  let x = (BigInt(a!) << 32n) | BigInt(b!);
  let y = (BigInt(c!) << 32n) | BigInt(d!);
  const words: number[] = [];
  for (let i = 0; i < 8; i++) {
    x = splitmix64(x ^ y);
    y = splitmix64((y + 0x632be59bd9b4e019n) & M64);
    const v = (x ^ (y << 1n)) & M64;
    words.push(Number(v & 0xffffffffn), Number(v >> 32n));
  }
  return words;
}

const K = tableKey(KEY);
const nh = (a: number, k1: number, b: number, k2: number): bigint => BigInt((a + k1) >>> 0) * BigInt((b + k2) >>> 0);

/** engine/flows.ts flowHash for an IPv4 TCP flow src:sport → dst:dport. */
function flowHash(s0: number, sport: number, d0: number, dport: number): number {
  const ports = ((sport << 16) | dport) >>> 0;
  const keyMeta = 6;
  let x = nh(s0, K[0]!, ports, K[1]!) + nh(d0, K[2]!, keyMeta, K[3]!) + nh(0, K[4]!, 0, K[5]!) + nh(0, K[6]!, 0, K[7]!) + nh(0, K[8]!, 0, K[9]!);
  x = (x + ((BigInt((s0 ^ K[10]!) >>> 0) << 32n) | BigInt((d0 ^ K[11]!) >>> 0))) & M64;
  x ^= x >> 29n;
  x = (x * 0xbf58476d1ce4e5b9n) & M64;
  x ^= x >> 32n;
  x = (x * 0x94d049bb133111ebn) & M64;
  return Number(x >> 32n);
}

/** engine/affinity.ts affinityHash for an IPv4 client of pool `pool`. */
function affinityHash(pool: number, w0: number): number {
  let x = nh(w0, K[12]!, pool, K[13]!) + nh(0, K[14]!, 4, K[15]!) + nh(0, K[4]!, 0, K[9]!);
  x = (x + ((BigInt((w0 ^ K[10]!) >>> 0) << 32n) | BigInt((pool ^ K[11]!) >>> 0))) & M64;
  x ^= x >> 29n;
  x = (x * 0xbf58476d1ce4e5b9n) & M64;
  x ^= x >> 32n;
  x = (x * 0x94d049bb133111ebn) & M64;
  return Number(x >> 32n);
}

const VIP = ip('10.96.0.10');
const word = (a: string): number => a.split('.').reduce((w, o) => ((w << 8) | Number(o)) >>> 0, 0);

describe('bounded probe chains in the flow index', () => {
  it('400 tuples aimed at 8 home slots: at most 128 probes, the rest served untracked', async () => {
    // flowCapacity 4096 → an index of 8192 slots (load ≤ 3/4), mask 8191.
    const engine = await loadEngine({ flowCapacity: 4096, hashKey: KEY });
    engine.load(model([servicePort('web', { clusterIPs: ['10.96.0.10'], backends: abc([1, 1, 1]) })]));
    const aimed: [string, number][] = [];
    for (let c = 0; aimed.length < 400; c++) {
      const client = `10.${(c >> 16) & 255}.${(c >> 8) & 255}.${c & 255}`;
      for (let port = 1024; port < 1040 && aimed.length < 400; port++) {
        if ((flowHash(word(client), port, word('10.96.0.10'), 80) & 8191) < 8) aimed.push([client, port]);
      }
    }
    // The first 100 share a chain: the recomputed hash is the engine's (displacement ~ n²/2).
    for (const [client, port] of aimed.slice(0, 100)) engine.connect(TCP, ip(client), port, VIP, 80, 0);
    expect(engine.tableDisplacement().flows).toBeGreaterThan(4000);
    for (const [client, port] of aimed.slice(100)) expect(engine.connect(TCP, ip(client), port, VIP, 80, 0).verdict).toBe(Verdict.Backend);
    const st = engine.stats();
    // Slots 0..7 are home; a chain reaches at most slot 7 + 128, so at most 136 are tracked.
    expect(st.flows).toBeLessThanOrEqual(136);
    expect(st.flowsUntracked).toBe(400 - st.flows);
    expect(engine.tableDisplacement().flows).toBeLessThan(136 * 128);
    // Tracked ones are found; untracked ones are not counted as connections.
    expect(engine.lookup(TCP, ip(aimed[0]![0]), aimed[0]![1], VIP, 80, 1).verdict).toBe(Verdict.Backend);
    expect(engine.counters(0).reduce((n, x) => n + x.active, 0)).toBe(st.flows);
  });
});

describe('bounded probe chains in the affinity index', () => {
  it('400 clients aimed at 8 home slots: at most 136 pinned, the rest served unpinned', async () => {
    const engine = await loadEngine({ flowCapacity: 1 << 16, affinityCapacity: 4096, hashKey: KEY });
    engine.load(model([servicePort('web', { clusterIPs: ['10.96.0.10'], sessionAffinity: 'ClientIP', backends: abc([1, 1, 1]) })]));
    const aimed: string[] = [];
    for (let c = 0; aimed.length < 400; c++) {
      const client = `10.${(c >> 16) & 255}.${(c >> 8) & 255}.${c & 255}`;
      // Pool 0: the only service port's clusterIP.
      if ((affinityHash(0, word(client)) & 8191) < 8) aimed.push(client);
    }
    for (const client of aimed.slice(0, 100)) engine.connect(TCP, ip(client), 1, VIP, 80, 0);
    expect(engine.tableDisplacement().affinity).toBeGreaterThan(4000);
    for (const client of aimed.slice(100)) expect(engine.connect(TCP, ip(client), 1, VIP, 80, 0).verdict).toBe(Verdict.Backend);
    const st = engine.stats();
    expect(st.affinities).toBeLessThanOrEqual(136);
    expect(st.affinitiesUntracked).toBe(400 - st.affinities);
    expect(engine.tableDisplacement().affinity).toBeLessThan(136 * 128);
  });
});
