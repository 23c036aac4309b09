/**
 * Each scheduler against the kernel's behaviour, through the whole engine (match → schedule →
 * flow), using the worked examples of reference/ipvs-schedulers.md §9. There the kernel list is
 * C(w3), B(w2), A(w1); here engine order is the list order, so C = 10.0.0.1, B = 10.0.0.2 and
 * A = 10.0.0.3 (letters below are list positions 0, 1, 2). The exhaustive differential tests
 * live in differential*.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { loadEngine } from '../../host/engine/node.js';
import { Verdict } from '../../host/engine/api.js';
import type { Engine } from '../../host/engine/engine.js';
import type { ModelServicePort, SchedulerName } from '../../host/engine/model.js';
import { backend, ip, model, servicePort, TCP, UDP } from './fixtures.js';

const VIP = '10.96.0.10';
const LETTER = 'CBA';

function cba(weights: [number, number, number] = [3, 2, 1]) {
  return [
    backend('10.0.0.1', 8080, { weight: weights[0] }),
    backend('10.0.0.2', 8080, { weight: weights[1] }),
    backend('10.0.0.3', 8080, { weight: weights[2] }),
  ];
}

/**
 * The same servers as IPv6 addresses, same order and weights, for §9's IPv6 packets: traffic to an
 * IPv6 address is only balanced over IPv6 backends (one proxier per family, as kube-proxy). dh
 * and sh depend on order and weights only, so these answer as C, B, A (indexes 3, 4, 5).
 */
function cba6(weights: [number, number, number] = [3, 2, 1]) {
  return [
    backend('fd00:e::1', 8080, { weight: weights[0] }),
    backend('fd00:e::2', 8080, { weight: weights[1] }),
    backend('fd00:e::3', 8080, { weight: weights[2] }),
  ];
}
/** Letters of cba() + cba6(). */
const LETTER2 = 'CBACBA';

function svc(scheduler: SchedulerName, extra: Partial<ModelServicePort> = {}): ModelServicePort {
  return servicePort('s', { clusterIPs: [VIP], scheduler, backends: cba(), ...extra });
}

async function engineWith(sp: ModelServicePort): Promise<Engine> {
  const engine = await loadEngine({ flowCapacity: 8192, affinityCapacity: 1024 });
  engine.load(model([sp]));
  return engine;
}

let clientPort = 1;
/** `n` new connections from distinct clients; letters of the picks ('-' for no backend). */
function picks(engine: Engine, n: number, proto = TCP): string {
  let out = '';
  for (let i = 0; i < n; i++) {
    const d = engine.connect(proto, ip('172.16.0.1'), clientPort++, ip(VIP), 80, 1000);
    out += d.verdict === Verdict.Backend ? LETTER[d.backendIndex] : '-';
  }
  return out;
}

/** hash_32(x, 8) of include/linux/hash.h. */
function hash8(x: number): number {
  return Math.imul(x >>> 0, 0x61c88647) >>> 24;
}

describe('rr', () => {
  it('walks the list from the head and skips quiesced servers (§9.1)', async () => {
    const engine = await engineWith(svc('rr'));
    expect(picks(engine, 7)).toBe('CBACBAC');
    engine.load(model([svc('rr', { backends: cba([3, 0, 1]) })]));
    expect(picks(engine, 4)).toBe('ACAC');
  });

  it('resumes after the deleted server\'s predecessor (§9.1)', async () => {
    const engine = await engineWith(svc('rr'));
    expect(picks(engine, 2)).toBe('CB');
    const sp = svc('rr', { backends: cba().filter((b) => b.ip !== '10.0.0.2') });
    engine.load(model([sp]));
    // list is now C, A: p = C, so A, C, A
    expect(picks(engine, 3).replace(/B/g, 'A')).toBe('ACA');
  });
});

describe('wrr', () => {
  it('starts at cw = 1 when built by adds, as kube-proxy builds it (§9.2)', async () => {
    expect(picks(await engineWith(svc('wrr')), 12)).toBe('CBACCBCBACCB');
    expect(picks(await engineWith(svc('wrr', { backends: cba([6, 4, 2]) })), 12)).toBe('CBACCBCBACCB');
  });

  it('rejects when every weight is 0', async () => {
    expect(picks(await engineWith(svc('wrr', { backends: cba([0, 0, 0]) })), 2)).toBe('--');
  });

  it('keeps its position across a swap that changes nothing of its pool', async () => {
    const engine = await engineWith(svc('wrr'));
    expect(picks(engine, 5)).toBe('CBACC');
    engine.load(model([svc('wrr'), servicePort('other', { clusterIPs: ['10.96.0.11'], backends: cba() })]));
    expect(picks(engine, 7)).toBe('BCBACCB');
  });
});

describe('least-connection family, TCP connections held open (§9.3)', () => {
  const cases: Array<[SchedulerName, string]> = [
    ['lc', 'CBACBACB'],
    ['wlc', 'CBACBCCB'],
    ['sed', 'CBCCBACB'],
    ['nq', 'CBACCBCB'],
  ];
  it.each(cases)('%s picks %s', async (sched, expected) => {
    const engine = await engineWith(svc(sched));
    expect(picks(engine, 8)).toBe(expected);
    const counts = engine.counters(0).map((c) => c.active);
    expect(counts).toEqual([...'CBA'].map((l) => [...expected].filter((x) => x === l).length));
  });
});

describe('least-connection family, UDP flows never active (§9.5)', () => {
  const cases: Array<[SchedulerName, string]> = [
    ['nq', 'CCCCC'],
    ['sed', 'CCCCC'],
    ['wlc', 'CBACBC'],
  ];
  it.each(cases)('%s picks %s', async (sched, expected) => {
    const engine = await engineWith(svc(sched, { protocol: 'UDP' }));
    expect(picks(engine, expected.length, UDP)).toBe(expected);
    expect(engine.counters(0).every((c) => c.active === 0)).toBe(true);
  });

  it('lc counts inactive connections: closed TCP connections steer new ones away', async () => {
    const engine = await engineWith(svc('lc'));
    const src = ip('172.16.0.2');
    for (let p = 1; p <= 3; p++) {
      expect(engine.connect(TCP, src, p, ip(VIP), 80, 0).backendIndex).toBe(p - 1);
      engine.close(TCP, src, p, ip(VIP), 80, 0);
    }
    expect(engine.counters(0)).toEqual([{ active: 0, inactive: 1 }, { active: 0, inactive: 1 }, { active: 0, inactive: 1 }]);
    engine.connect(TCP, src, 10, ip(VIP), 80, 0); // C: overhead 256 + 1
    expect(picks(engine, 2)).toBe('BA');
  });
});

describe('dh', () => {
  it('hashes the destination address into 256 buckets, bucket j → server j mod n (§9.6)', async () => {
    const vips = ['203.0.113.10', '203.0.113.11', '203.0.113.12', '203.0.113.13', '198.51.100.7', '10.96.0.10', '2001:db8::1'];
    const engine = await engineWith(svc('dh', { clusterIPs: vips, backends: [...cba(), ...cba6()] }));
    const got = vips.map((v) => {
      const d = engine.connect(TCP, ip(v.includes(':') ? '2001:db8:f::1' : '172.16.0.1'), clientPort++, ip(v), 80, 0);
      return `${d.detail}${LETTER2[d.backendIndex]}${d.backend!.ip.includes(':') ? 6 : 4}`;
    });
    expect(got).toEqual(['162C4', '3C4', '101A4', '199B4', '171C4', '242A4', '63C6']);
  });
});

describe('sh', () => {
  const clients: Array<[string, number, string]> = [
    ['192.168.1.10', 248, 'C'], ['192.168.1.11', 90, 'C'], ['192.168.1.15', 225, 'B'],
    ['192.168.1.25', 179, 'A'], ['10.1.2.3', 2, 'C'], ['172.16.5.77', 108, 'C'], ['2001:db8::1', 63, 'B'],
  ];
  it('fills buckets by weight and hashes the client (§9.7)', async () => {
    const engine = await engineWith(svc('sh', { clusterIPs: [VIP, 'fd00::10'], backends: [...cba(), ...cba6()] }));
    for (const [client, bucket, letter] of clients) {
      const d = engine.connect(TCP, ip(client), clientPort++, ip(client.includes(':') ? 'fd00::10' : VIP), 80, 0);
      expect([client, d.detail, LETTER2[d.backendIndex]]).toEqual([client, bucket, letter]);
      expect(d.backend!.ip.includes(':')).toBe(client.includes(':'));
    }
  });

  it('adds the source port with sh-port (§9.7)', async () => {
    const engine = await engineWith(svc('sh', { schedulerFlags: { port: true, fallback: false } }));
    const got = [40000, 40001, 40002, 40003].map((p) => {
      const d = engine.connect(TCP, ip('192.168.1.10'), p, ip(VIP), 80, 0);
      return `${d.detail}${LETTER[d.backendIndex]}`;
    });
    expect(got).toEqual(['156C', '254C', '96C', '194C']);
  });

  it('quiescing B rebuilds the layout; B\'s bucket rejects, or falls back with sh-fallback (§9.7)', async () => {
    // Layout CCCBA repeating: bucket 3 is B, bucket 5 is C (it was A).
    const find = (bucket: number) => {
      for (let i = 1; i < 1 << 16; i++) if (hash8((0xc0a80000 | i) >>> 0) === bucket) return `192.168.${i >> 8}.${i & 255}`;
      throw new Error('no client');
    };
    const quiesced = svc('sh', { backends: cba([3, 0, 1]) });
    const engine = await engineWith(quiesced);
    const five = engine.connect(TCP, ip(find(5)), clientPort++, ip(VIP), 80, 0);
    expect([five.detail, LETTER[five.backendIndex]]).toEqual([5, 'C']);
    expect(engine.connect(TCP, ip(find(3)), clientPort++, ip(VIP), 80, 0).verdict).toBe(Verdict.Reject);
    const withFallback = await engineWith({ ...quiesced, schedulerFlags: { port: false, fallback: true } });
    const d = withFallback.connect(TCP, ip(find(3)), clientPort++, ip(VIP), 80, 0);
    // ihash 3: probes (2·3 + k) mod 256 = 6 (C) first.
    expect([d.verdict, d.detail, LETTER[d.backendIndex]]).toEqual([Verdict.Backend, 6, 'C']);
  });
});

describe('mh', () => {
  it('hashes the client with SipHash-1-3 into 4093 slots (§9.8)', async () => {
    // The slot hashes the client only; the IPv6 client needs IPv6 servers to be scheduled at all.
    const engine = await engineWith(svc('mh', { clusterIPs: [VIP, 'fd00::10'], backends: [...cba(), ...cba6()] }));
    const slots = ['192.168.1.10', '192.168.1.11', '192.168.1.15', '192.168.1.25', '10.1.2.3', '172.16.5.77', '2001:db8::1'].map(
      (c) => engine.connect(TCP, ip(c), clientPort++, ip(c.includes(':') ? 'fd00::10' : VIP), 80, 0).detail,
    );
    expect(slots).toEqual([3323, 2189, 3616, 4027, 1263, 2602, 3457]);
  });

  it('is consistent: removing a server moves almost only its own clients', async () => {
    const clients = Array.from({ length: 3000 }, (_, i) => `10.${(i >> 8) & 255}.${i & 255}.7`);
    const assign = async (sp: ModelServicePort) => {
      const engine = await engineWith(sp);
      return clients.map((c) => engine.connect(TCP, ip(c), 1, ip(VIP), 80, 0).backend!.ip);
    };
    const before = await assign(svc('mh', { backends: cba([1, 1, 1]) }));
    const after = await assign(svc('mh', { backends: cba([1, 1, 1]).filter((b) => b.ip !== '10.0.0.2') }));
    const moved = clients.filter((_, i) => before[i] !== '10.0.0.2' && before[i] !== after[i]).length;
    expect(before.filter((b) => b === '10.0.0.2').length).toBeGreaterThan(800);
    expect(moved).toBeLessThan(clients.length * 0.01);
  });

  it('keeps a quiesced server\'s slots (last_weight): its clients reject, or fall back with mh-fallback', async () => {
    const clients = Array.from({ length: 200 }, (_, i) => `10.9.${i}.1`);
    const engine = await engineWith(svc('mh'));
    const before = clients.map((c) => engine.connect(TCP, ip(c), 1, ip(VIP), 80, 0).backendIndex);
    const quiet = svc('mh', { backends: cba([0, 2, 1]) });
    engine.load(model([quiet]));
    const fb = await engineWith(svc('mh', { schedulerFlags: { port: false, fallback: true } }));
    fb.load(model([{ ...quiet, schedulerFlags: { port: false, fallback: true } }]));
    clients.forEach((c, i) => {
      const d = engine.connect(TCP, ip(c), 2, ip(VIP), 80, 0);
      const f = fb.connect(TCP, ip(c), 2, ip(VIP), 80, 0);
      if (before[i] === 0) {
        expect(d.verdict).toBe(Verdict.Reject);
        expect(f.verdict).toBe(Verdict.Backend);
        expect(f.backendIndex).not.toBe(0);
      } else {
        expect(d.backendIndex).toBe(before[i]);
        expect(f.backendIndex).toBe(before[i]);
      }
    });
  });
});

describe('random', () => {
  it('is reproducible for a seed and never picks weight 0', async () => {
    const run = async (seed: number) => {
      const engine = await loadEngine({ flowCapacity: 4096, seed });
      engine.load(model([svc('random', { backends: cba([3, 0, 1]) })]));
      return picks(engine, 200);
    };
    const a = await run(7);
    expect(await run(7)).toBe(a);
    expect(a).not.toContain('B');
    expect(a.split('C').length - 1).toBeGreaterThan(a.split('A').length - 1);
  });
});
