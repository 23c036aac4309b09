/**
 * The worked examples of reference/ipvs-schedulers.md §9, replayed on engine.wasm.
 *
 * Mapping: the engine's destination order is address order, so the kernel order C, B, A becomes
 * C = 10.0.0.1 (w 3), B = 10.0.0.2 (w 2), A = 10.0.0.3 (w 1), all port 8080. That changes nothing
 * for rr, wrr, lc, wlc, sed, nq, dh and sh, whose choices depend on order and weights only. mh
 * hashes the servers' own addresses, so its examples keep §9's addresses (engine order A, B, C):
 * slots must equal §9's, owners those of the reference model for that order. Things the engine
 * cannot express are said where they occur (OVERLOAD: the model has no connection thresholds).
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { parseAddress } from '../../host/engine/address.js';
import { Verdict, Via } from '../../host/engine/api.js';
import type { Engine } from '../../host/engine/engine.js';
import { loadEngine } from '../../host/engine/node.js';
import { RefEngine } from '../reference/engine.js';
import { fold, hash32 } from '../reference/hash.js';
import { servicePort, serviceModel, type BackendSpec, type ServicePortSpec } from '../reference/model-builder.js';

const VIP = parseAddress('10.96.0.10');
const CLIENT = parseAddress('192.0.2.1');
/** C, B, A in engine order, with weights (default §9's 3, 2, 1). */
const cba = (c = 3, b = 2, a = 1): BackendSpec[] => [
  { ip: '10.0.0.1', port: 8080, weight: c },
  { ip: '10.0.0.2', port: 8080, weight: b },
  { ip: '10.0.0.3', port: 8080, weight: a },
];
const LETTERS = 'CBA';
/**
 * The same three servers as IPv6 addresses, same order and weights: traffic to an IPv6 address is
 * only balanced over IPv6 backends (one proxier per family, as kube-proxy), so §9's IPv6 packets
 * need them. dh and sh depend on order and weights only, so they behave as C, B, A.
 */
const cba6 = (c = 3, b = 2, a = 1): BackendSpec[] => [
  { ip: 'fd00:e::1', port: 8080, weight: c },
  { ip: 'fd00:e::2', port: 8080, weight: b },
  { ip: 'fd00:e::3', port: 8080, weight: a },
];
/** Letters of a dual-stack list cba() + cba6(). */
const LETTERS2 = 'CBACBA';

let engine: Engine;
let now = 0;
let nextPort = 10000;
beforeEach(async () => {
  engine = await loadEngine({ flowCapacity: 4096, affinityCapacity: 64 });
  now = 1_000_000;
  nextPort = 10000;
});

function load(...ports: ServicePortSpec[]): void {
  engine.load(serviceModel(ports.map(servicePort)));
}

/** `n` new connections from fresh client ports; each stays open (TCP: active; UDP: inactive). */
function pick(n: number, protocol = 6, port = 80, letters = LETTERS): string {
  let out = '';
  for (let k = 0; k < n; k++) {
    const d = engine.connect(protocol, CLIENT, nextPort++, VIP, port, now);
    out += d.verdict === Verdict.Backend ? letters[d.backendIndex] : '-';
  }
  return out;
}

/** Active connection counts, C B A. */
const active = (sp = 0): number[] => engine.counters(sp).map((c) => c.active);

describe('§9.1 rr on the engine', () => {
  it('C B A C B A C; B quiesced by a swap: A C A C', () => {
    load({ scheduler: 'rr', backends: cba() });
    expect(pick(7)).toBe('CBACBAC');
    load({ scheduler: 'rr', backends: cba(3, 0, 1) });
    expect(pick(4)).toBe('ACAC');
  });
  it('C B, then B deleted by a swap: the position falls back to C, so A C A', () => {
    load({ scheduler: 'rr', backends: cba() });
    expect(pick(2)).toBe('CB');
    load({ scheduler: 'rr', backends: cba().filter((b) => b.ip !== '10.0.0.2') });
    expect(pick(3, 6, 80, 'CA')).toBe('ACA');
  });
});

describe('§9.2 wrr on the engine', () => {
  it('a fresh pool is built as the exporter adds servers (A, B, C): cw 1', () => {
    load({ scheduler: 'wrr', backends: cba() });
    expect(pick(12)).toBe('CBACCBCBACCB');
  });
  it('weights 2, 4, 6 give the same sequence', () => {
    load({ scheduler: 'wrr', backends: cba(6, 4, 2) });
    expect(pick(12)).toBe('CBACCBCBACCB');
  });
  it('cw = mw = 3 (as when the scheduler is bound to existing servers): C C B C B A …', () => {
    // The engine reaches this state the way the kernel does through the exporter's commands:
    // four picks bring cw down to 1 and wrap it to mw = 3 (C chosen at cw 3); adding a server and
    // removing it again runs ip_vs_wrr_dest_changed twice, which moves cl to the head and keeps cw.
    load({ scheduler: 'wrr', backends: cba() });
    expect(pick(4)).toBe('CBAC');
    load({ scheduler: 'wrr', backends: [...cba(), { ip: '10.0.0.4', port: 8080, weight: 1 }] });
    load({ scheduler: 'wrr', backends: cba() });
    expect(pick(12)).toBe('CCBCBACCBCBA');
  });
  it('weights given to a pool whose servers all had weight 0: one `-e` each, cw 0 → 1 → 1 → 1', () => {
    // -e C 3: di 3, mw 1, cw 0 → 1; -e B 2 and -e A 1: di 1, mw 3, cw 1 stays (ip_vs_wrr_dest_changed).
    load({ scheduler: 'wrr', backends: cba(0, 0, 0) });
    expect(pick(1)).toBe('-');
    load({ scheduler: 'wrr', backends: cba() });
    expect(pick(12)).toBe('CBACCBCBACCB');
  });
  it('all weights 0: rejected, no flow created', () => {
    load({ scheduler: 'wrr', backends: cba(0, 0, 0) });
    const d = engine.connect(6, CLIENT, 1, VIP, 80, now);
    expect([d.verdict, d.via]).toEqual([Verdict.Reject, Via.None]);
    expect(engine.stats().flows).toBe(0);
  });
});

describe('§9.3 lc, wlc, sed, nq on the engine from zero counters', () => {
  it.each([
    ['lc', 'CBACBACB', [3, 3, 2]],
    ['wlc', 'CBACBCCB', [4, 3, 1]],
    ['sed', 'CBCCBACB', [4, 3, 1]],
    ['nq', 'CBACCBCB', [4, 3, 1]],
  ] as const)('%s picks %s', (scheduler, picks, end) => {
    load({ scheduler, backends: cba() });
    expect(pick(8)).toBe(picks);
    expect(active()).toEqual(end);
  });
});

describe('§9.4 from C(a1, i5), B(a0, i300), A(a1, i0)', () => {
  /** Open `open` connections and open-then-close `closed` ones on the only server with weight. */
  function feed(weights: [number, number, number], open: number, closed: number, scheduler: 'lc' | 'wlc' | 'sed' | 'nq'): void {
    load({ scheduler, backends: cba(...weights) });
    for (let k = 0; k < closed; k++) {
      const port = nextPort++;
      expect(engine.connect(6, CLIENT, port, VIP, 80, now).verdict).toBe(Verdict.Backend);
      expect(engine.close(6, CLIENT, port, VIP, 80, now)).toBe(true);
    }
    pick(open);
  }
  it.each([
    ['lc', 'ACBACB'],
    ['wlc', 'CBCACB'],
    ['sed', 'BCCBCB'],
    ['nq', 'BCCBCB'],
  ] as const)('%s picks %s', (scheduler, picks) => {
    // Quiesced servers keep their connections across swaps, so each is fed on its own.
    feed([0, 1, 0], 0, 300, scheduler);
    feed([1, 0, 0], 1, 5, scheduler);
    feed([0, 0, 1], 1, 0, scheduler);
    load({ scheduler, backends: cba() });
    expect(engine.counters(0)).toEqual([
      { active: 1, inactive: 5 },
      { active: 0, inactive: 300 },
      { active: 1, inactive: 0 },
    ]);
    expect(pick(6)).toBe(picks);
  });
});

describe('§9.5 UDP flows (inactive only)', () => {
  it.each([
    ['nq', 'CCCCC'],
    ['sed', 'CCCCC'],
    ['wlc', 'CBACBC'],
  ] as const)('%s picks %s', (scheduler, picks) => {
    load({ scheduler, protocol: 'UDP', port: 53, backends: cba() });
    expect(pick(picks.length, 17, 53)).toBe(picks);
    expect(engine.counters(0).map((c) => c.inactive).reduce((a, b) => a + b)).toBe(picks.length);
  });
});

describe('§9.6 dh on the engine: the packet destination picks the bucket', () => {
  it.each([
    ['203.0.113.10', 162, 'C'],
    ['203.0.113.11', 3, 'C'],
    ['203.0.113.12', 101, 'A'],
    ['203.0.113.13', 199, 'B'],
    ['198.51.100.7', 171, 'C'],
    ['10.96.0.10', 242, 'A'],
    ['2001:db8::1', 63, 'C'],
  ] as const)('daddr %s: bucket %i, server %s', (vip, bucket, server) => {
    load({
      scheduler: 'dh',
      clusterIPs: ['10.96.0.10', '2001:db8::1'],
      externalIPs: ['203.0.113.10', '203.0.113.11', '203.0.113.12', '203.0.113.13', '198.51.100.7'],
      backends: [...cba(), ...cba6()],
    });
    const d = engine.connect(6, CLIENT, 40000, parseAddress(vip), 80, now);
    expect([d.detail, LETTERS2[d.backendIndex]]).toEqual([bucket, server]);
    // The pool is the destination's family: IPv4 servers for IPv4 addresses, IPv6 for IPv6.
    expect(d.backendIndex >= 3).toBe(vip.includes(':'));
  });
});

describe('§9.7 sh on the engine', () => {
  const clients = [
    ['192.168.1.10', 248, 'C'],
    ['192.168.1.11', 90, 'C'],
    ['192.168.1.15', 225, 'B'],
    ['192.168.1.25', 179, 'A'],
    ['10.1.2.3', 2, 'C'],
    ['172.16.5.77', 108, 'C'],
    ['2001:db8::1', 63, 'B'],
  ] as const;
  const from = (client: string, port = 40000, vip = VIP) => engine.connect(6, parseAddress(client), port, vip, 80, now);

  it.each(clients)('client %s: bucket %i, server %s', (client, bucket, server) => {
    load({ scheduler: 'sh', clusterIPs: ['10.96.0.10', 'fd00::10'], backends: [...cba(), ...cba6()] });
    const d = from(client, 40000, client.includes(':') ? parseAddress('fd00::10') : VIP);
    expect([d.detail, LETTERS2[d.backendIndex]]).toEqual([bucket, server]);
    expect(d.backendIndex >= 3).toBe(client.includes(':'));
  });
  it('sh-port: 192.168.1.10 from ports 40000..40003 hashes to 156, 254, 96, 194, all C', () => {
    load({ scheduler: 'sh', flags: { port: true, fallback: false }, backends: cba() });
    const got = [40000, 40001, 40002, 40003].map((p) => ({ ...from('192.168.1.10', p) }));
    expect(got.map((d) => d.detail)).toEqual([156, 254, 96, 194]);
    expect(got.map((d) => LETTERS[d.backendIndex]).join('')).toBe('CCCC');
  });
  it('quiescing B rebuilds the layout (CCCBA repeated): every client lands as the reference says', () => {
    load({ scheduler: 'sh', backends: cba(3, 0, 1) });
    const ref = new RefEngine();
    ref.load(serviceModel([servicePort({ scheduler: 'sh', backends: cba(3, 0, 1) })]));
    const layout: string[] = [];
    let rejected = 0;
    for (let host = 0; host < 256; host++) {
      const client = parseAddress(`192.168.2.${host}`);
      const d = { ...engine.connect(6, client, 40000, VIP, 80, now) };
      const r = ref.connect(6, client, 40000, VIP, 80, now);
      expect([d.verdict, d.backendIndex, d.detail]).toEqual([r.verdict, r.backendIndex, r.detail]);
      layout[d.detail] = d.verdict === Verdict.Backend ? LETTERS[d.backendIndex]! : '-';
      if (d.verdict === Verdict.Reject) rejected++;
    }
    // Where B's one bucket per cycle was hit, the client is refused (B has weight 0).
    expect(rejected).toBeGreaterThan(0);
    for (let j = 0; j < 256; j++) if (layout[j]) expect(layout[j]).toBe('CCC-A'[j % 5]);
  });
  it('sh-fallback sends a quiesced server\'s clients to the next buckets, as the reference does (OVERLOAD itself is not expressible)', () => {
    const spec: ServicePortSpec = { scheduler: 'sh', flags: { port: false, fallback: true }, backends: cba(3, 0, 1) };
    load(spec);
    const ref = new RefEngine();
    ref.load(serviceModel([servicePort(spec)]));
    let fellBack = 0;
    for (let host = 0; host < 256; host++) {
      const client = parseAddress(`192.168.3.${host}`);
      const { verdict, backendIndex, detail } = engine.connect(6, client, 40000, VIP, 80, now);
      const r = ref.connect(6, client, 40000, VIP, 80, now);
      expect([verdict, backendIndex, detail]).toEqual([r.verdict, r.backendIndex, r.detail]);
      expect(verdict).toBe(Verdict.Backend);
      // The bucket reported is the one the server was found in: never one of B's.
      expect(LETTERS[backendIndex]).toBe('CCC-A'[detail % 5]);
      // Clients whose own bucket is B's (3, 8, 13, …) were served from a probed bucket.
      if (hash32(fold(client), 8) % 5 === 3) fellBack++;
    }
    expect(fellBack).toBeGreaterThan(0);
  });
});

describe('§9.8 mh on the engine (§9 addresses, so engine order A, B, C)', () => {
  const abc: BackendSpec[] = [
    { ip: '10.0.0.1', port: 8080, weight: 1 },
    { ip: '10.0.0.2', port: 8080, weight: 2 },
    { ip: '10.0.0.3', port: 8080, weight: 3 },
  ];
  const clients = [
    ['192.168.1.10', 3323],
    ['192.168.1.11', 2189],
    ['192.168.1.15', 3616],
    ['192.168.1.25', 4027],
    ['10.1.2.3', 1263],
    ['172.16.5.77', 2602],
    ['2001:db8::1', 3457],
  ] as const;
  /**
   * IPv6 servers for the IPv6 client (only they serve an IPv6 address): its slot is a hash of the
   * client alone, so §9's 3457 still holds; the owner is whatever the reference says.
   */
  const abc6: BackendSpec[] = [
    { ip: 'fd00:e::1', port: 8080, weight: 1 },
    { ip: 'fd00:e::2', port: 8080, weight: 2 },
    { ip: 'fd00:e::3', port: 8080, weight: 3 },
  ];

  /** The reference sees the same loads as the engine (mh's last_weight depends on history). */
  let ref: RefEngine;
  beforeEach(() => {
    ref = new RefEngine();
  });

  /** Engine and reference on the same model: every §9 client gets the same slot and server. */
  function agreeOn(backends: BackendSpec[], fallback: boolean): { verdict: number; backendIndex: number; detail: number }[] {
    const spec: ServicePortSpec = { scheduler: 'mh', flags: { port: false, fallback }, clusterIPs: ['10.96.0.10', 'fd00::10'], backends: [...backends, ...abc6] };
    load(spec);
    ref.load(serviceModel([servicePort(spec)]));
    // A new source port each time, so no earlier flow answers instead of the scheduler.
    const port = nextPort++;
    const extra = Array.from({ length: 64 }, (_, i) => [`192.168.4.${i}`, -1] as const);
    return [...clients, ...extra].map(([client]) => {
      const src = parseAddress(client);
      const vip = src.family === 6 ? parseAddress('fd00::10') : VIP;
      const { verdict, backendIndex, detail } = engine.connect(6, src, port, vip, 80, now);
      const r = ref.connect(6, src, port, vip, 80, now);
      expect([verdict, backendIndex, detail]).toEqual([r.verdict, r.backendIndex, r.detail]);
      return { verdict, backendIndex, detail };
    });
  }

  it('weights 1, 2, 3: every client hashes to §9\'s slot', () => {
    const got = agreeOn(abc, false);
    expect(got.slice(0, clients.length).map((d) => d.detail)).toEqual(clients.map(([, slot]) => slot));
  });
  it('a quiesced server keeps its slots (last_weight): its clients are refused, or moved with mh-fallback', () => {
    const before = agreeOn(abc, false);
    const quiesced = abc.map((b) => (b.ip === '10.0.0.3' ? { ...b, weight: 0 } : b));
    // Same engine: the swap carries last_weight 3 for C, so the table must not change.
    const after = agreeOn(quiesced, false);
    before.forEach((d, i) => {
      if (d.backendIndex === 2) expect(after[i]!.verdict).toBe(Verdict.Reject);
      else expect(after[i]).toEqual(d);
    });
    const moved = agreeOn(quiesced, true);
    for (const d of moved) expect([d.verdict, d.backendIndex === 2]).toEqual([Verdict.Backend, false]);
  });
  it('weights 100/200/300 hash like 1/2/3; 1/2/300 like rshift 3 (both checked against the reference)', () => {
    const w = (a: number, b: number, c: number) => abc.map((x, i) => ({ ...x, weight: [a, b, c][i]! }));
    const small = agreeOn(w(1, 2, 3), false);
    expect(agreeOn(w(100, 200, 300), false)).toEqual(small);
    agreeOn(w(1, 2, 300), false);
  });
});
