/**
 * Snapshot validation: every malformed input is rejected with its code while the previous
 * generation keeps serving; the encoder names the service port and field it cannot encode.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { loadEngine } from '../../host/engine/node.js';
import { SnapshotError, Verdict } from '../../host/engine/api.js';
import type { Engine } from '../../host/engine/engine.js';
import { encodeSnapshot, resealSnapshot } from '../../host/engine/snapshot.js';
import { backend, ip, model, servicePort, TCP } from './fixtures.js';

// One service port, no node IPs: header 32 B, fixed part at 32, clusterIP at 64, LB IP at 84,
// source range at 104 (prefix at 124), backends at 128 and 156.
const good = model([servicePort('web', {
  type: 'LoadBalancer',
  clusterIPs: ['10.96.0.10'],
  loadBalancerIPs: ['198.51.100.1'],
  loadBalancerSourceRanges: ['10.0.0.0/8'],
  backends: [backend('10.0.0.1'), backend('10.0.0.2')],
})]);

function edit(f: (bytes: Uint8Array, view: DataView) => void, reseal = true): Uint8Array {
  const bytes = encodeSnapshot(good);
  f(bytes, new DataView(bytes.buffer));
  return reseal ? resealSnapshot(bytes) : bytes;
}

const cases: Array<[string, number, () => Uint8Array]> = [
  ['shorter than the header', 1, () => encodeSnapshot(good).slice(0, 20)],
  ['bad magic', 2, () => edit((b) => (b[0] = 0x58))],
  ['unknown version', 3, () => edit((_, v) => v.setUint16(4, 2, true))],
  ['length field not the buffer length', 4, () => encodeSnapshot(good).slice(0, 150)],
  ['corrupted body (checksum)', 5, () => edit((b) => (b[70] = b[70]! ^ 1), false)],
  ['unknown protocol', 7, () => edit((b) => (b[32] = 99))],
  ['unknown scheduler', 8, () => edit((b) => (b[33] = 42))],
  ['unknown service port flag', 9, () => edit((b) => (b[34] = 0x80))],
  ['bad address family', 10, () => edit((_, v) => v.setUint32(64, 5, true))],
  ['IPv4 address with high words set', 10, () => edit((_, v) => v.setUint32(72, 1, true))],
  ['source range prefix /33', 11, () => edit((_, v) => v.setUint32(124, 33, true))],
  ['service port 0', 12, () => edit((_, v) => v.setUint16(36, 0, true))],
  ['backend port 0', 12, () => edit((_, v) => v.setUint16(128 + 20, 0, true))],
  ['backends out of engine order', 13, () => edit((_, v) => v.setUint32(128 + 4, 0x0a0000ff, true))],
  ['backend count not the sum', 14, () => edit((_, v) => v.setUint32(20, 3, true))],
  ['a record running past the end', 6, () => edit((_, v) => v.setUint32(52, 1000, true))],
  ['bad header size', 16, () => edit((_, v) => v.setUint16(6, 40, true))],
  ['ClientIP affinity with timeout 0 (issue 10)', 9, () => edit((b, v) => ((b[34] = b[34]! | 4), v.setUint32(40, 0, true)))],
];

describe('snapshot validation', () => {
  let engine: Engine;
  beforeAll(async () => {
    engine = await loadEngine({ flowCapacity: 256 });
    engine.load(good);
  });

  it.each(cases)('rejects %s with code %i and keeps serving', (_, code, make) => {
    let caught: unknown;
    try {
      engine.loadSnapshot(make(), model([]));
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(SnapshotError);
    expect((caught as SnapshotError).code).toBe(code);
    expect((caught as SnapshotError).message).toMatch(/previous generation keeps serving/);
    expect(engine.stats().generation).toBe(1);
    expect(engine.model).toBe(good);
    const d = engine.connect(TCP, ip('172.16.0.1'), 40000 + code, ip('10.96.0.10'), 80, 0);
    expect(d.verdict).toBe(Verdict.Backend);
    expect(d.servicePort?.name).toBe('web');
  });

  it('accepts the unedited snapshot and every resealed no-op', () => {
    engine.loadSnapshot(edit(() => {}), good);
    expect(engine.stats().generation).toBe(2);
  });

  it('encodes deterministically', () => {
    expect(encodeSnapshot(good)).toEqual(encodeSnapshot(good));
  });
});

describe('snapshot encoder errors', () => {
  const bad: Array<[string, Parameters<typeof servicePort>[1], RegExp]> = [
    ['bad clusterIP', { clusterIPs: ['10.96.0.300'] }, /service port "default\/web": clusterIPs\[0\]: invalid IP address "10.96.0.300"/],
    ['weight out of range', { backends: [backend('10.0.0.1', 80, { weight: 70000 })] }, /backends\[0\]\.weight: 70000 is not an integer in 0\.\.65535/],
    ['backend port 0', { backends: [backend('10.0.0.1', 0)] }, /backends\[0\]\.port: 0 is not in 1\.\.65535/],
    ['bad source range', { loadBalancerSourceRanges: ['10.0.0.0/40'] }, /loadBalancerSourceRanges\[0\]: "10.0.0.0\/40" has a bad prefix length/],
    ['IPv4-mapped range shorter than the mapping', { loadBalancerSourceRanges: ['::ffff:10.0.0.0/64'] }, /loadBalancerSourceRanges\[0\]: "::ffff:10.0.0.0\/64" has a bad prefix length/],
    ['affinity timeout too long', { sessionAffinity: 'ClientIP', affinityTimeoutSeconds: 90000 }, /affinityTimeoutSeconds: 90000 is not in 1\.\.86400/],
    ['ClientIP affinity with timeout 0 (issue 10)', { sessionAffinity: 'ClientIP', affinityTimeoutSeconds: 0 }, /affinityTimeoutSeconds: 0 is not in 1\.\.86400/],
  ];
  it.each(bad)('names the field: %s', (_, extra, message) => {
    expect(() => encodeSnapshot(model([servicePort('web', { clusterIPs: ['10.96.0.10'], ...extra })]))).toThrow(message);
  });

  it('encodes an IPv4-mapped source range as the IPv4 range it maps', () => {
    const withRange = (range: string) => encodeSnapshot(model([servicePort('web', { clusterIPs: ['10.96.0.10'], loadBalancerSourceRanges: [range] })]));
    expect(withRange('::ffff:10.0.0.0/104')).toEqual(withRange('10.0.0.0/8'));
  });

  it('refuses backends out of engine order', () => {
    const sp = { ...servicePort('web', { clusterIPs: ['10.96.0.10'] }), backends: [backend('10.0.0.2'), backend('10.0.0.1')] };
    expect(() => encodeSnapshot(model([sp]))).toThrow(/backends\[1\]: 10.0.0.1:8080 is not after the previous backend in engine order/);
  });
});
