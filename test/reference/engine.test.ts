/**
 * The reference engine's table behaviour, checked by hand so the differential tests compare the
 * Wasm engine against something known to be right: counters, timeouts, affinity, swaps, eviction.
 */
import { describe, expect, it } from 'vitest';
import { parseAddress } from '../../host/engine/address.js';
import { Verdict, Via } from '../../host/engine/api.js';
import { RefEngine } from './engine.js';
import { servicePort, serviceModel, type BackendSpec } from './model-builder.js';

const VIP = parseAddress('10.96.0.10');
const client = (i: number) => parseAddress(`192.168.1.${i}`);
const three: BackendSpec[] = [1, 2, 3].map((i) => ({ ip: `10.0.0.${i}`, port: 8080, weight: 1 }));
const model = (backends = three, affinitySeconds?: number, protocol: 'TCP' | 'UDP' = 'TCP') =>
  serviceModel([servicePort({ scheduler: 'rr', backends, protocol, ...(affinitySeconds ? { affinitySeconds } : {}) })]);

describe('reference engine', () => {
  it('counts TCP as active until close, then inactive until the tcpfin timeout', () => {
    const ref = new RefEngine();
    ref.load(model());
    expect(ref.connect(6, client(1), 1000, VIP, 80, 0)).toMatchObject({ verdict: Verdict.Backend, via: Via.Scheduler, backendIndex: 0 });
    expect(ref.counters(0)[0]).toEqual({ active: 1, inactive: 0 });
    expect(ref.close(6, client(1), 1000, VIP, 80, 1000)).toBe(true);
    expect(ref.counters(0)[0]).toEqual({ active: 0, inactive: 1 });
    expect(ref.expire(1000 + 119_999)).toBe(0);
    expect(ref.expire(1000 + 120_000)).toBe(1);
    expect(ref.counters(0)[0]).toEqual({ active: 0, inactive: 0 });
  });

  it('refreshes a flow on lookup and keeps it until 900 s of idleness', () => {
    const ref = new RefEngine();
    ref.load(model());
    ref.connect(6, client(1), 1000, VIP, 80, 0);
    ref.established(6, client(1), 1000, VIP, 80, 0);
    expect(ref.lookup(6, client(1), 1000, VIP, 80, 800_000)).toMatchObject({ via: Via.Flow, backendIndex: 0 });
    expect(ref.expire(1_600_000)).toBe(0);
    expect(ref.expire(1_700_000)).toBe(1);
    expect(ref.lookup(6, client(1), 1000, VIP, 80, 1_700_000).verdict).toBe(Verdict.Pass);
  });

  it('counts UDP as inactive and removes it on close', () => {
    const ref = new RefEngine();
    ref.load(model(three, undefined, 'UDP'));
    ref.connect(17, client(1), 1000, VIP, 80, 0);
    expect(ref.counters(0)[0]).toEqual({ active: 0, inactive: 1 });
    expect(ref.close(17, client(1), 1000, VIP, 80, 5)).toBe(true);
    expect(ref.counters(0)[0]).toEqual({ active: 0, inactive: 0 });
    expect(ref.flows.size).toBe(0);
  });

  it('pins a client with ClientIP affinity until the timeout, without advancing rr', () => {
    const ref = new RefEngine();
    ref.load(model(three, 60));
    expect(ref.connect(6, client(1), 1000, VIP, 80, 0).backendIndex).toBe(0);
    expect(ref.connect(6, client(1), 1001, VIP, 80, 10_000)).toMatchObject({ via: Via.Affinity, backendIndex: 0 });
    expect(ref.connect(6, client(2), 1000, VIP, 80, 10_000)).toMatchObject({ via: Via.Scheduler, backendIndex: 1 });
    // Each new connection re-arms it: armed at 10 s it still holds at 69.999 s; re-armed there,
    // it is gone at 129.999 s.
    expect(ref.connect(6, client(1), 1002, VIP, 80, 69_999).via).toBe(Via.Affinity);
    expect(ref.connect(6, client(1), 1003, VIP, 80, 129_999)).toMatchObject({ via: Via.Scheduler, backendIndex: 2 });
  });

  it('drops flows and affinity of removed backends on swap and keeps the rest', () => {
    const ref = new RefEngine();
    ref.load(model(three, 600));
    ref.connect(6, client(1), 1000, VIP, 80, 0);
    ref.connect(6, client(2), 1000, VIP, 80, 0);
    ref.load(model(three.slice(1), 600));
    expect(ref.flowsDroppedOnSwap).toBe(1);
    expect(ref.counters(0)).toEqual([{ active: 1, inactive: 0 }, { active: 0, inactive: 0 }]);
    expect(ref.lookup(6, client(2), 1000, VIP, 80, 1)).toMatchObject({ via: Via.Flow, backendIndex: 0 });
    expect(ref.affinity.size).toBe(1);
  });

  /** A table of two flows (clients 1 and 2, at 0 and 1 ms), client 1 looked up at `at`, then client 3 connects: one must go. */
  function fullAfterLookupAt(at: number): RefEngine {
    const ref = new RefEngine({ flowCapacity: 2 });
    ref.load(model());
    ref.connect(6, client(1), 1000, VIP, 80, 0);
    ref.connect(6, client(2), 1000, VIP, 80, 1);
    ref.lookup(6, client(1), 1000, VIP, 80, at);
    ref.connect(6, client(3), 1000, VIP, 80, at + 1);
    return ref;
  }

  it('evicts the least recently used flow when full and releases its counter', () => {
    // A lookup in a later queue epoch (EPOCH_MS) makes the flow the most recently used.
    const ref = fullAfterLookupAt(1500);
    expect(ref.lookup(6, client(2), 1000, VIP, 80, 1502).verdict).toBe(Verdict.Pass);
    expect(ref.counters(0).map((c) => c.active)).toEqual([1, 0, 1]);
  });

  it('keeps a flow looked up within the epoch it was queued in at its place in the use order', () => {
    const ref = fullAfterLookupAt(2);
    expect(ref.lookup(6, client(1), 1000, VIP, 80, 4).verdict).toBe(Verdict.Pass);
    expect(ref.lookup(6, client(2), 1000, VIP, 80, 4).verdict).toBe(Verdict.Backend);
  });

  it('rejects a port without endpoints and passes other destinations', () => {
    const ref = new RefEngine();
    ref.load(model([]));
    expect(ref.connect(6, client(1), 1000, VIP, 80, 0)).toMatchObject({ verdict: Verdict.Reject, servicePortIndex: 0 });
    expect(ref.connect(6, client(1), 1000, VIP, 81, 0)).toMatchObject({ verdict: Verdict.Pass, servicePortIndex: -1 });
  });
});
