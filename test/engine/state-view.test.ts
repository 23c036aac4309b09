/**
 * The engine's read-only explain views (engine/explain-views.ts through host/engine/state-view.ts,
 * issue 13): they report the real state — pool members in list order with the engine's own
 * counters, the rr position, wrr cw/mw/di, flow and affinity entries with their ages and
 * timeouts, the random stream — and reading them changes nothing: an engine that is read between
 * every decision decides exactly as a twin that is never read.
 */
import { describe, expect, it } from 'vitest';
import { loadEngine } from '../../host/engine/node.js';
import { SCHEDULERS } from '../../host/engine/model.js';
import { abc, backend, ip, model, servicePort, TCP } from './fixtures.js';

const VIP = ip('10.96.0.10');
const opts = { seed: 7, flowCapacity: 256, affinityCapacity: 256 };

describe('engine state views', () => {
  it('match a destination to its service port, address kind and pool', async () => {
    const e = await loadEngine(opts);
    e.load(model([servicePort('web', { clusterIPs: ['10.96.0.10'], externalIPs: ['192.0.2.1'], backends: abc() })]));
    const view = e.stateView();
    expect(view.match(TCP, VIP, 80)).toEqual({ servicePortIndex: 0, kind: 'clusterIP', pool: 0 });
    expect(view.match(TCP, ip('192.0.2.1'), 80)).toEqual({ servicePortIndex: 0, kind: 'externalIP', pool: 1 });
    expect(view.match(TCP, VIP, 81)).toBeNull();
    expect(view.pools(0)).toEqual({ first: 0, count: 2 });
  });

  it('report wrr cw/mw/di, the rr position and per-member counters as the engine keeps them', async () => {
    const e = await loadEngine(opts);
    e.load(model([servicePort('web', { clusterIPs: ['10.96.0.10'], scheduler: 'wrr', backends: abc([2, 4, 6]) })]));
    const view = e.stateView();
    const before = view.pool(0);
    expect(before).toMatchObject({ scheduler: 'wrr', mw: 6 - (2 - 1), di: 2, position: 0, affinity: false });
    expect(before.members.map((m) => [m.backendIndex, m.weight])).toEqual([[0, 2], [1, 4], [2, 6]]);
    for (let i = 0; i < 5; i++) e.connect(TCP, ip('10.1.0.1'), 40000 + i, VIP, 80, 1000 + i);
    const after = view.pool(0);
    const counters = e.counters(0);
    expect(after.members.map((m) => ({ active: m.active, inactive: m.inactive }))).toEqual(after.members.map((m) => counters[m.backendIndex]));
    expect(after.members.reduce((n, m) => n + m.active, 0)).toBe(5);
    expect(after.position).toBeGreaterThan(0);
  });

  it('report a flow and an affinity entry with last-used time and timeout, expired or not', async () => {
    const e = await loadEngine({ ...opts, timeouts: { tcp: 60 } });
    e.load(model([servicePort('web', { clusterIPs: ['10.96.0.10'], sessionAffinity: 'ClientIP', affinityTimeoutSeconds: 30, backends: abc() })]));
    const view = e.stateView();
    const client = ip('10.1.0.1');
    expect(view.flow(TCP, client, 40000, VIP, 80)).toBeNull();
    const d = e.connect(TCP, client, 40000, VIP, 80, 5000);
    const b = d.backendIndex;
    // Not established yet: the engine keeps it in the short SYN class (IPVS SYN_RECV, 60 s).
    expect(view.flow(TCP, client, 40000, VIP, 80)).toEqual({ pool: 0, servicePortIndex: 0, backendIndex: b, lastUsedMs: 5000, timeoutMs: 60_000, timeoutClass: 'tcpsyn', decisionCached: true });
    expect(view.affinity(0, client)).toEqual({ backendIndex: b, lastUsedMs: 5000, timeoutMs: 30_000 });
    e.close(TCP, client, 40000, VIP, 80, 6000);
    expect(view.flow(TCP, client, 40000, VIP, 80)).toMatchObject({ lastUsedMs: 6000, timeoutMs: 120_000, timeoutClass: 'tcpfin' });
    // Reading an entry long expired neither removes nor refreshes it.
    expect(view.affinity(0, client)).toEqual({ backendIndex: b, lastUsedMs: 5000, timeoutMs: 30_000 });
    expect(e.stats().affinities).toBe(1);
  });

  it('say whether a flow answers from its own bucket: IPv4 yes, also after a full load renumbers it; IPv6 never', async () => {
    const e = await loadEngine(opts);
    const m = model([servicePort('web', { clusterIPs: ['10.96.0.10', 'fd00::10'], backends: [...abc(), backend('fd00::a')] })]);
    e.load(m);
    const view = e.stateView();
    const firstIndex = e.connect(TCP, ip('10.1.0.1'), 40000, VIP, 80, 1000).backendIndex; // the Decision object is reused
    const ipOf = (mm: typeof m, k: number) => mm.servicePorts[0]!.backends[k]!.ip;
    const chosen = ipOf(m, firstIndex);
    e.connect(TCP, ip('fd00:1::1'), 40000, ip('fd00::10'), 80, 1000);
    expect(view.flow(TCP, ip('10.1.0.1'), 40000, VIP, 80)?.decisionCached).toBe(true);
    expect(view.flow(TCP, ip('fd00:1::1'), 40000, ip('fd00::10'), 80)?.decisionCached).toBe(false);
    // A full load whose first backend is new: every kept backend's index moves up by one. The
    // commit caches each carried flow's new decision, so the bucket answers, with the new index.
    const m2 = model([servicePort('web', { clusterIPs: ['10.96.0.10', 'fd00::10'], backends: [backend('10.0.0.0'), ...abc(), backend('fd00::a')] })]);
    e.load(m2);
    expect(view.flow(TCP, ip('10.1.0.1'), 40000, VIP, 80)?.decisionCached).toBe(true);
    const after = e.lookup(TCP, ip('10.1.0.1'), 40000, VIP, 80, 2000);
    expect(after.backendIndex).toBe(firstIndex + 1);
    expect(ipOf(m2, after.backendIndex)).toBe(chosen);
  });

  it('change nothing: an engine read between decisions decides exactly like one never read', async () => {
    for (const scheduler of SCHEDULERS) {
      const m = model([servicePort('web', { clusterIPs: ['10.96.0.10'], scheduler, sessionAffinity: 'ClientIP', affinityTimeoutSeconds: 1, backends: abc([1, 0, 3]) })]);
      const read = await loadEngine(opts);
      const twin = await loadEngine(opts);
      read.load(m);
      twin.load(m);
      const view = read.stateView();
      for (let i = 0; i < 60; i++) {
        const src = ip(`10.1.0.${1 + (i % 5)}`);
        const sport = 40000 + (i % 7);
        const now = 1000 + i * 97;
        const match = view.match(TCP, VIP, 80)!;
        view.pool(match.pool);
        view.flow(TCP, src, sport, VIP, 80);
        view.affinity(match.pool, src);
        view.randomState();
        for (let k = 0; k < 256; k++) view.tableEntry(match.pool, k);
        const a = { ...read.connect(TCP, src, sport, VIP, 80, now) };
        const b = { ...twin.connect(TCP, src, sport, VIP, 80, now) };
        expect([a.verdict, a.via, a.backendIndex, a.detail], `${scheduler} #${i}`).toEqual([b.verdict, b.via, b.backendIndex, b.detail]);
      }
      expect(read.stats()).toEqual(twin.stats());
    }
  });
});
