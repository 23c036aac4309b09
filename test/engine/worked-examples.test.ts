/**
 * Every worked example of reference/ipvs-schedulers.md §9, reproduced exactly by the reference
 * model in test/reference/ (the oracle the differential tests compare the Wasm engine against).
 * worked-examples-engine.test.ts replays the same examples on engine.wasm.
 */
import { describe, expect, it } from 'vitest';
import { parseAddress } from '../../host/engine/address.js';
import { fold } from '../reference/hash.js';
import { HASH_SIZE, MaglevHashing, mhHash, MH_KEY1, SourceHashing, DestinationHashing } from '../reference/hashing.js';
import { RoundRobin, WeightedRoundRobin } from '../reference/round-robin.js';
import { A, B, C, letter, packet, pick, serviceBound, serviceBuiltByAdding } from '../reference/worked-setup.js';
import { destId } from '../reference/virtual-service.js';

const id = (s: { ip: string; port: number }): string => destId(s.ip, s.port);

describe('§9.1 rr', () => {
  it('picks C B A C B A C, then skips B at weight 0, then resumes after a deleted position', () => {
    const svc = serviceBuiltByAdding('rr');
    expect(pick(svc, 7)).toBe('CBACBAC');
    svc.setWeight(id(B), 0);
    expect(pick(svc, 4)).toBe('ACAC');

    const fresh = serviceBuiltByAdding('rr');
    expect(pick(fresh, 2)).toBe('CB');
    expect(letter((fresh.scheduler as RoundRobin).position)).toBe('B');
    fresh.remove(id(B));
    expect(letter((fresh.scheduler as RoundRobin).position)).toBe('C');
    expect(pick(fresh, 3)).toBe('ACA');
  });
});

describe('§9.2 wrr', () => {
  it('built by adding A, B, C: di 1, mw 3, cw 1, and the build-order phase', () => {
    const svc = serviceBuiltByAdding('wrr');
    const s = svc.scheduler as WeightedRoundRobin;
    expect([s.di, s.mw, s.cw]).toEqual([1, 3, 1]);
    expect(pick(svc, 12)).toBe('CBACCBCBACCB');
  });
  it('weights 2, 4, 6 give di 2, mw 5, cw 1 and the same sequence', () => {
    const svc = serviceBuiltByAdding('wrr', undefined, [
      { ...A, weight: 2 },
      { ...B, weight: 4 },
      { ...C, weight: 6 },
    ]);
    const s = svc.scheduler as WeightedRoundRobin;
    expect([s.di, s.mw, s.cw]).toEqual([2, 5, 1]);
    expect(pick(svc, 12)).toBe('CBACCBCBACCB');
  });
  it('scheduler bound after the servers exist: cw = mw = 3', () => {
    const svc = serviceBound('wrr');
    expect((svc.scheduler as WeightedRoundRobin).cw).toBe(3);
    expect(pick(svc, 12)).toBe('CCBCBACCBCBA');
  });
  it('all weights 0: no destination', () => {
    const svc = serviceBound('wrr', undefined, [
      { ...C, weight: 0 },
      { ...B, weight: 0 },
      { ...A, weight: 0 },
    ]);
    expect(pick(svc, 3)).toBe('---');
  });
});

describe('§9.3 lc, wlc, sed, nq from zero counters, 8 TCP connections that stay open', () => {
  it.each([
    ['lc', 'CBACBACB', [3, 3, 2]],
    ['wlc', 'CBACBCCB', [4, 3, 1]],
    ['sed', 'CBCCBACB', [4, 3, 1]],
    ['nq', 'CBACCBCB', [4, 3, 1]],
  ] as const)('%s picks %s', (name, picks, active) => {
    const svc = serviceBound(name);
    expect(pick(svc, 8, 'active')).toBe(picks);
    expect(svc.list.map((d) => d.active)).toEqual(active);
  });
});

describe('§9.4 the same four from C(a1, i5), B(a0, i300), A(a1, i0), 6 connections', () => {
  it.each([
    ['lc', 'ACBACB'],
    ['wlc', 'CBCACB'],
    ['sed', 'BCCBCB'],
    ['nq', 'BCCBCB'],
  ] as const)('%s picks %s', (name, picks) => {
    const svc = serviceBound(name);
    Object.assign(svc.get(id(C)), { active: 1, inactive: 5 });
    Object.assign(svc.get(id(B)), { active: 0, inactive: 300 });
    Object.assign(svc.get(id(A)), { active: 1, inactive: 0 });
    expect(pick(svc, 6, 'active')).toBe(picks);
  });
});

describe('§9.5 UDP-like flows (each pick adds an inactive connection)', () => {
  it.each([
    ['nq', 'CCCCC'],
    ['sed', 'CCCCC'],
    ['wlc', 'CBACBC'],
  ] as const)('%s picks %s', (name, picks) => {
    expect(pick(serviceBound(name), picks.length, 'inactive')).toBe(picks);
  });
});

describe('§9.6 dh', () => {
  it('fills bucket j with [C, B, A][j mod 3]', () => {
    const dh = serviceBound('dh').scheduler as DestinationHashing;
    expect(dh.buckets.map(letter).join('').slice(0, 6)).toBe('CBACBA');
  });
  it.each([
    ['203.0.113.10', 0xcb00710a, 162, 'C'],
    ['203.0.113.11', 0xcb00710b, 3, 'C'],
    ['203.0.113.12', 0xcb00710c, 101, 'A'],
    ['203.0.113.13', 0xcb00710d, 199, 'B'],
    ['198.51.100.7', 0xc6336407, 171, 'C'],
    ['10.96.0.10', 0x0a60000a, 242, 'A'],
    ['2001:db8::1', 0x20010db9, 63, 'C'],
  ] as const)('daddr %s: fold %i, bucket %i, server %s', (vip, folded, bucket, server) => {
    expect(fold(parseAddress(vip))).toBe(folded);
    const choice = serviceBound('dh').schedule(packet('192.0.2.1', 0, vip));
    expect([choice.detail, letter(choice.dest)]).toEqual([bucket, server]);
  });
});

describe('§9.7 sh', () => {
  const clients = [
    ['192.168.1.10', 248, 'C', 234],
    ['192.168.1.11', 90, 'C', 155],
    ['192.168.1.15', 225, 'B', 95],
    ['192.168.1.25', 179, 'A', 73],
    ['10.1.2.3', 2, 'C', 19],
    ['172.16.5.77', 108, 'C', 61],
    ['2001:db8::1', 63, 'B', 233],
  ] as const;
  const layout = (sh: SourceHashing): string => sh.buckets.map(letter).join('');
  const count = (s: string, ch: string): number => s.split(ch).length - 1;

  it('lays out CCCBBA repeatedly: C 129, B 85, A 42', () => {
    const table = layout(serviceBound('sh').scheduler as SourceHashing);
    expect(table.slice(0, 12)).toBe('CCCBBACCCBBA');
    expect(table.slice(250)).toBe('BACCCB');
    expect([count(table, 'C'), count(table, 'B'), count(table, 'A')]).toEqual([129, 85, 42]);
  });
  it.each(clients)('client %s: bucket %i, server %s (4.1-era bucket %i)', (client, bucket, server, oldBucket) => {
    const choice = serviceBound('sh').schedule(packet(client, 12345));
    expect([choice.detail, letter(choice.dest)]).toEqual([bucket, server]);
    expect(Number((BigInt(fold(parseAddress(client))) * 2654435761n) & 255n)).toBe(oldBucket);
  });
  it('sh-port: 192.168.1.10 from ports 40000..40003 hashes to 156, 254, 96, 194, all C', () => {
    const svc = serviceBound('sh', { port: true, fallback: false });
    const got = [40000, 40001, 40002, 40003].map((port) => svc.schedule(packet('192.168.1.10', port)));
    expect(got.map((c) => c.detail)).toEqual([156, 254, 96, 194]);
    expect(got.map((c) => letter(c.dest)).join('')).toBe('CCCC');
  });
  it('C OVERLOADed: its clients get nothing, or B with sh-fallback (probes 240, 241, 242, 243)', () => {
    const plain = serviceBound('sh');
    const fb = serviceBound('sh', { port: false, fallback: true });
    plain.get(id(C)).overloaded = true;
    fb.get(id(C)).overloaded = true;
    const table = layout(fb.scheduler as SourceHashing);
    expect(table.slice(240, 244)).toBe('CCCB');
    expect([plain.schedule(packet('192.168.1.10')).detail, fb.schedule(packet('192.168.1.10')).detail]).toEqual([248, 243]);
    for (const [client, , server] of clients) {
      const expected = server === 'C' ? ['-', 'B'] : [server, server];
      expect([letter(plain.schedule(packet(client)).dest), letter(fb.schedule(packet(client)).dest)]).toEqual(expected);
    }
  });
  it('quiescing B rebuilds to CCCBACCCBACC…: C 154, B 51, A 51; B answers nothing', () => {
    const svc = serviceBound('sh');
    const before = layout(svc.scheduler as SourceHashing);
    svc.setWeight(id(B), 0);
    const table = layout(svc.scheduler as SourceHashing);
    expect(table.slice(0, 12)).toBe('CCCBACCCBACC');
    expect([count(table, 'C'), count(table, 'B'), count(table, 'A')]).toEqual([154, 51, 51]);
    expect([before[5], table[5]]).toEqual(['A', 'C']);
    expect(table.length).toBe(HASH_SIZE);
    let onB = 0;
    for (let host = 0; host < 256; host++) {
      const choice = svc.schedule(packet(`192.168.2.${host}`));
      if (table[choice.detail] === 'B') onB++;
      expect(letter(choice.dest)).toBe(table[choice.detail] === 'B' ? '-' : table[choice.detail]);
    }
    expect(onB).toBeGreaterThan(0);
  });
});

describe('§9.8 mh', () => {
  const clients = [
    ['192.168.1.10', 0xd5e959b6, 3323, 'A'],
    ['192.168.1.11', 0x928bf928, 2189, 'C'],
    ['192.168.1.15', 0xd60f43be, 3616, 'A'],
    ['192.168.1.25', 0x0bd227ec, 4027, 'C'],
    ['10.1.2.3', 0x2b298ba1, 1263, 'A'],
    ['172.16.5.77', 0xbfef2694, 2602, 'C'],
    ['2001:db8::1', 0xcdc3f189, 3457, 'A'],
  ] as const;
  const owners = (mh: MaglevHashing): string[] => mh.slots.map(letter);
  const count = (xs: string[], ch: string): number => xs.filter((x) => x === ch).length;

  it('per server: C 2372/611/3, B 1727/2172/2, A 3531/434/1; slots C 2047, B 1364, A 682', () => {
    const mh = serviceBound('mh').scheduler as MaglevHashing;
    expect([mh.gcd, mh.rshift]).toEqual([1, 0]);
    expect(mh.setups).toEqual([
      { offset: 2372, skip: 611, turns: 3 },
      { offset: 1727, skip: 2172, turns: 2 },
      { offset: 3531, skip: 434, turns: 1 },
    ]);
    const o = owners(mh);
    expect([count(o, 'C'), count(o, 'B'), count(o, 'A')]).toEqual([2047, 1364, 682]);
  });
  it.each(clients)('client %s: H %i, slot %i, server %s', (client, h, slot, server) => {
    expect(mhHash(MH_KEY1, fold(parseAddress(client)))).toBe(h);
    const choice = serviceBound('mh').schedule(packet(client, 5555));
    expect([choice.detail, letter(choice.dest)]).toEqual([slot, server]);
  });
  it("C quiesced keeps its slots: its clients get nothing, or B with mh-fallback; A's are unaffected", () => {
    const plain = serviceBound('mh');
    const fb = serviceBound('mh', { port: false, fallback: true });
    const before = owners(plain.scheduler as MaglevHashing);
    plain.setWeight(id(C), 0);
    fb.setWeight(id(C), 0);
    expect(owners(plain.scheduler as MaglevHashing)).toEqual(before);
    for (const [client, , , server] of clients) {
      const expected = server === 'C' ? ['-', 'B'] : [server, server];
      expect([letter(plain.schedule(packet(client)).dest), letter(fb.schedule(packet(client)).dest)]).toEqual(expected);
    }
  });
  it("deleting B moves only 2 of A's and C's 2729 slots", () => {
    const svc = serviceBound('mh');
    const before = owners(svc.scheduler as MaglevHashing);
    svc.remove(id(B));
    const after = owners(svc.scheduler as MaglevHashing);
    const kept = before.map((o, i) => (o !== 'B' ? [o, after[i]] : null)).filter((x) => x !== null);
    expect(kept.length).toBe(2729);
    expect(kept.filter(([x, y]) => x !== y).length).toBe(2);
  });
  it('weights 100/200/300 give turns 1/2/3; 1/2/300 give rshift 3 and turns 1/1/37', () => {
    const w = (a: number, b: number, c: number) => [{ ...C, weight: c }, { ...B, weight: b }, { ...A, weight: a }];
    const m1 = serviceBound('mh', undefined, w(100, 200, 300)).scheduler as MaglevHashing;
    expect([m1.gcd, m1.rshift, ...m1.setups.map((s) => s.turns)]).toEqual([100, 0, 3, 2, 1]);
    const m2 = serviceBound('mh', undefined, w(1, 2, 300)).scheduler as MaglevHashing;
    expect([m2.gcd, m2.rshift, ...m2.setups.map((s) => s.turns)]).toEqual([1, 3, 37, 1, 1]);
  });
});
