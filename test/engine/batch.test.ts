/**
 * Issue 10: the batched entry points decide exactly as one-by-one calls. Two engines with the same
 * options and model see the same stream of tuples — new connections, repeats of live flows, misses
 * (no such service, no such flow), ClientIP affinity, IPv6, a full table evicting, expiry — one
 * through `connectMany`/`lookupMany` in bursts of 1 to 150 (past the engine's 64 per call), the
 * other through `connect`/`lookup`. Every decision, every backend's counters and the stats must
 * be equal.
 */
import { describe, expect, it } from 'vitest';
import type { Decision, FlowTuple } from '../../host/engine/api.js';
import { Verdict, Via } from '../../host/engine/api.js';
import { loadEngine } from '../../host/engine/node.js';
import type { Engine } from '../../host/engine/engine.js';
import { abc, backend, ip, model, servicePort, TCP, UDP } from './fixtures.js';

const services = model([
  servicePort('web', { clusterIPs: ['10.96.0.10'], backends: abc([1, 2, 3]), scheduler: 'wlc' }),
  servicePort('sticky', { clusterIPs: ['10.96.0.11'], sessionAffinity: 'ClientIP', affinityTimeoutSeconds: 30, backends: abc([1, 1, 1]) }),
  servicePort('dns', { protocol: 'UDP', port: 53, clusterIPs: ['10.96.0.53', 'fd00::53'], backends: [...abc(), backend('fd00:244::1', 53), backend('fd00:244::2', 53)], scheduler: 'random' }),
]);
const DESTINATIONS: [number, string, number][] = [
  [TCP, '10.96.0.10', 80], [TCP, '10.96.0.11', 80], [UDP, '10.96.0.53', 53], [UDP, 'fd00::53', 53], [TCP, '10.96.0.99', 80],
];

/** A deterministic stream: mostly a small set of clients and ports, so flows and pins repeat. */
function tuples(seed: number, n: number): FlowTuple[] {
  let s = seed >>> 0;
  const next = (m: number) => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return (s >>> 8) % m;
  };
  return Array.from({ length: n }, () => {
    const [protocol, dst, dstPort] = DESTINATIONS[next(DESTINATIONS.length)]!;
    const v6 = dst.includes(':');
    const client = v6 ? `fd00:1::${next(6) + 1}` : `172.16.0.${next(6) + 1}`;
    return { protocol, src: ip(client), srcPort: 1000 + next(12), dst: ip(dst), dstPort };
  });
}

type Seen = Pick<Decision, 'verdict' | 'via' | 'servicePortIndex' | 'backendIndex' | 'detail'>;
const copy = (d: Decision): Seen => ({ verdict: d.verdict, via: d.via, servicePortIndex: d.servicePortIndex, backendIndex: d.backendIndex, detail: d.detail });

async function pair(): Promise<[Engine, Engine]> {
  const options = { flowCapacity: 40, affinityCapacity: 8, seed: 7, timeouts: { udp: 20 } };
  const a = await loadEngine(options);
  const b = await loadEngine(options);
  a.load(services);
  b.load(services);
  return [a, b];
}

function sameState(a: Engine, b: Engine): void {
  for (let sp = 0; sp < services.servicePorts.length; sp++) expect(a.counters(sp)).toEqual(b.counters(sp));
  expect(a.stats()).toEqual(b.stats());
}

describe('lookupMany / connectMany equal one-by-one calls', () => {
  it('connectMany: new connections, repeats, misses, affinity, IPv6, evictions, in bursts of 1..150', async () => {
    const [batched, single] = await pair();
    let now = 1000;
    const seen = new Set<string>();
    for (const [i, size] of [1, 3, 8, 16, 64, 65, 150, 7, 33, 64].entries()) {
      const burst = tuples(100 + i, size);
      const got = batched.connectMany(burst, now).map(copy);
      const want = burst.map((t) => copy(single.connect(t.protocol, t.src, t.srcPort, t.dst, t.dstPort, now)));
      expect(got).toEqual(want);
      for (const d of want) seen.add(`${d.verdict}/${d.via}`);
      burst.forEach((t, k) => {
        if (t.dst.family === 6 && want[k]!.verdict === Verdict.Backend) seen.add('IPv6 backend');
      });
      sameState(batched, single);
      now += 4000; // the UDP timeout is 20 s and affinity 30 s: some run out between bursts
    }
    // The stream did exercise every path the batch must reproduce.
    for (const path of ['IPv6 backend', `${Verdict.Backend}/${Via.Scheduler}`, `${Verdict.Backend}/${Via.Flow}`, `${Verdict.Backend}/${Via.Affinity}`, `${Verdict.Pass}/${Via.None}`]) {
      expect(seen).toContain(path);
    }
    expect(single.stats().flowEvictions).toBeGreaterThan(0);
  });

  it('lookupMany: hits refresh as lookup does, misses pass, and later evictions agree', async () => {
    const [batched, single] = await pair();
    let now = 1000;
    for (let i = 0; i < 8; i++) {
      const opened = tuples(200 + i, 24);
      batched.connectMany(opened, now);
      for (const t of opened) single.connect(t.protocol, t.src, t.srcPort, t.dst, t.dstPort, now);
      now += 3000;
      // Lookups of the same and of other tuples: some hit (refreshing LRU order), some miss.
      const probe = [...tuples(200 + i, 12), ...tuples(900 + i, 12)];
      const got = batched.lookupMany(probe, now).map(copy);
      const want = probe.map((t) => copy(single.lookup(t.protocol, t.src, t.srcPort, t.dst, t.dstPort, now)));
      expect(got).toEqual(want);
      expect(got.some((d) => d.via === Via.Flow)).toBe(true);
      expect(got.some((d) => d.verdict === Verdict.Pass)).toBe(true);
      sameState(batched, single);
      now += 3000;
    }
    // The refreshes decided which flows the full table gave up: expiry now removes the same ones.
    expect(batched.expire(now + 20_000)).toBe(single.expire(now + 20_000));
    sameState(batched, single);
  });

  it('returns one reused Decision per tuple, with the model objects resolved', async () => {
    const [engine] = await pair();
    const burst = tuples(5, 70);
    const out = engine.connectMany(burst, 1000);
    expect(out).toHaveLength(70);
    const backendHit = out.find((d) => d.verdict === Verdict.Backend)!;
    expect(backendHit.servicePort).toBe(services.servicePorts[backendHit.servicePortIndex]);
    expect(backendHit.backend).toBe(services.servicePorts[backendHit.servicePortIndex]!.backends[backendHit.backendIndex]);
    expect(engine.lookupMany([], 1000)).toHaveLength(0);
  });
});
