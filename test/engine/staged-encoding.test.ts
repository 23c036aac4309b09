/**
 * Encoding in chunks (host/engine/snapshot-encoder.ts, issue 10 "a full rebuild must not block
 * decisions"): `Engine.loadInSteps` encodes the model straight into the engine's snapshot buffer
 * a few records per event-loop turn. The chunks must give exactly `encodeSnapshot`'s bytes into a
 * buffer that was not zeroed, decisions must go on between them, and a load that takes the
 * buffer meanwhile must supersede the staged one.
 */
import { describe, expect, it } from 'vitest';
import { loadEngine } from '../../host/engine/node.js';
import type { Engine, EngineExports } from '../../host/engine/engine.js';
import { SnapshotEncoder, encodeSnapshot } from '../../host/engine/snapshot.js';
import { utf8Length } from '../../host/engine/snapshot-encoder.js';
import { SnapshotError } from '../../host/engine/api.js';
import type { ModelBackend, ModelServicePort, SchedulerName, ServiceModel } from '../../host/engine/model.js';
import { backend, ip, servicePort, TCP } from './fixtures.js';

/** A deterministic generator (xorshift32), so a failure names a reproducible seed. */
function random(seed: number): () => number {
  // Spread small seeds over the word: xorshift from 1, 2, 3… starts near 0 for several draws.
  let s = Math.imul(seed, 0x9e3779b9) >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 2 ** 32;
  };
}

const NAMES = ['web', 'db', 'ünïcode', 'lone\ud800surrogate', '😀', '', 'a-rather-long-service-name'];
const SCHEDULERS: SchedulerName[] = ['rr', 'wrr', 'sh', 'mh', 'random'];

/** A random model: both families, every address list, source ranges, names of 0..4 UTF-8 bytes per character. */
function randomModel(seed: number): ServiceModel {
  const r = random(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const servicePorts: ModelServicePort[] = [];
  const count = Math.floor(r() * 40);
  for (let i = 0; i < count; i++) {
    const backends: ModelBackend[] = [];
    let at = Math.floor(r() * 1000);
    for (let k = Math.floor(r() * 8); k > 0; k--) {
      at += 1 + Math.floor(r() * 3);
      backends.push(backend(`10.${i}.${at >> 8}.${at & 255}`, 80, { weight: Math.floor(r() * 5), ready: r() < 0.7, local: r() < 0.5 }));
    }
    if (r() < 0.3) backends.push(backend(`fd00::${i.toString(16)}`, 8080));
    servicePorts.push(servicePort(`${pick(NAMES)}-${i}`, {
      namespace: pick(NAMES), portName: pick(NAMES), protocol: pick(['TCP', 'UDP', 'SCTP'] as const), port: 1 + Math.floor(r() * 65535),
      clusterIPs: r() < 0.5 ? [`10.96.${i >> 8}.${i & 255}`] : [`10.96.${i >> 8}.${i & 255}`, `fd00:96::${i.toString(16)}`],
      externalIPs: r() < 0.3 ? ['192.0.2.1'] : [], loadBalancerIPs: r() < 0.3 ? ['198.51.100.7', '::ffff:203.0.113.9'] : [],
      loadBalancerSourceRanges: r() < 0.3 ? ['10.0.0.0/8', '192.0.2.0/24', 'fd00::/64'] : [],
      scheduler: pick(SCHEDULERS), sessionAffinity: r() < 0.3 ? 'ClientIP' : 'None', affinityTimeoutSeconds: 1 + Math.floor(r() * 86400),
      externalTrafficPolicy: r() < 0.5 ? 'Local' : 'Cluster', hasEndpoints: backends.length > 0, backends,
    }));
  }
  return { nodeIPs: r() < 0.5 ? ['192.168.1.10', 'fe80::1'] : [], servicePorts };
}

/** Encodes `model` in chunks of `budget` records into a buffer full of 0xa5, a new view per chunk. */
function encodeInChunks(model: ServiceModel, budget: number): { bytes: Uint8Array; chunks: number } {
  const encoder = new SnapshotEncoder(model);
  while (!encoder.measure(budget));
  const memory = new Uint8Array(encoder.byteLength + 24).fill(0xa5);
  let chunks = 1;
  while (!encoder.write(new Uint8Array(memory.buffer, 16, encoder.byteLength), budget)) chunks++;
  return { bytes: memory.subarray(16, 16 + encoder.byteLength), chunks };
}

describe('SnapshotEncoder', () => {
  it('writes encodeSnapshot\'s bytes in chunks of any size into a buffer that was not zeroed', () => {
    let servicePorts = 0;
    for (let seed = 1; seed <= 60; seed++) {
      const model = randomModel(seed);
      servicePorts += model.servicePorts.length;
      const whole = encodeSnapshot(model);
      for (const budget of [1, 3, 17, Infinity]) {
        const { bytes, chunks } = encodeInChunks(model, budget);
        expect(Buffer.from(bytes).equals(Buffer.from(whole)), `seed ${seed}, budget ${budget}`).toBe(true);
        if (budget === 1) expect(chunks).toBe(Math.max(1, model.servicePorts.length));
      }
    }
    expect(servicePorts).toBeGreaterThan(600);
  });

  it('sizes names as TextEncoder writes them, lone surrogates included', () => {
    const r = random(99);
    const units = [0x41, 0x7f, 0x80, 0x7ff, 0x800, 0xd7ff, 0xd800, 0xdbff, 0xdc00, 0xdfff, 0xe000, 0xffff];
    const encoder = new TextEncoder();
    for (let t = 0; t < 500; t++) {
      const s = String.fromCharCode(...Array.from({ length: Math.floor(r() * 8) }, () => units[Math.floor(r() * units.length)]!));
      expect(utf8Length(s), JSON.stringify(s)).toBe(encoder.encode(s).length);
    }
  });

  it('throws the service port and field of bad input found in a later chunk', () => {
    const model = randomModel(5);
    const bad = { ...model, servicePorts: [...model.servicePorts, servicePort('bad', { backends: [backend('10.9.9.1'), backend('10.9.9.1')] })] };
    expect(() => encodeInChunks(bad, 2)).toThrow('service port "default/bad": backends[1]: 10.9.9.1:8080 is not after the previous backend');
  });
});

/** 300 ClusterIP services of 3 backends each: many chunks at a small budget. */
function bigModel(weight: number): ServiceModel {
  const servicePorts: ModelServicePort[] = [];
  for (let i = 0; i < 300; i++) {
    servicePorts.push(servicePort(`svc-${String(i).padStart(3, '0')}`, {
      clusterIPs: [`10.96.${i >> 8}.${i & 255}`],
      backends: [1, 2, 3].map((k) => backend(`10.1.${i >> 8}.${(i & 255)}`, 8080 + k, { weight: k === 3 ? weight : 1 })),
    }));
  }
  return { nodeIPs: [], servicePorts };
}

function decide(engine: Engine, i: number): string {
  const d = engine.connect(TCP, ip('172.16.0.1'), 1000 + i, ip(`10.96.${(i % 300) >> 8}.${(i % 300) & 255}`), 80, 5000);
  return `${d.verdict}/${d.servicePortIndex}/${d.backendIndex}`;
}

/** Calls `f` when `loadInSteps` begins the engine's build, that is once the encoding is done. */
function onBegin(engine: Engine, f: () => void): void {
  const holder = engine as unknown as { ex: EngineExports };
  const ex = holder.ex;
  const wrapped = Object.create(ex) as EngineExports;
  Object.defineProperty(wrapped, 'beginSnapshot', { value: () => {
    f();
    ex.beginSnapshot();
  } });
  holder.ex = wrapped;
}

describe('Engine.loadInSteps encoding', () => {
  it('encodes across pauses while decisions are served, then switches as a one-shot load would', async () => {
    const staged = await loadEngine({ flowCapacity: 4096, seed: 3 });
    const oneShot = await loadEngine({ flowCapacity: 4096, seed: 3 });
    staged.load(bigModel(1));
    oneShot.load(bigModel(1));
    let pauses = 0;
    let encodingPauses = -1;
    onBegin(staged, () => (encodingPauses = pauses));
    await staged.loadInSteps(bigModel(5), { budget: 64, pause: async () => {
      pauses++;
      // Served by the serving generation, in both engines alike.
      expect(decide(staged, pauses)).toBe(decide(oneShot, pauses));
    } });
    oneShot.load(bigModel(5));
    // 300 service ports × 4 records at 64 a chunk: measuring and writing each take many pauses.
    expect(encodingPauses).toBeGreaterThanOrEqual(2 * Math.floor(1200 / 64));
    expect(staged.stats().generation).toBe(oneShot.stats().generation);
    for (let i = 0; i < 600; i++) expect(decide(staged, 10_000 + i)).toBe(decide(oneShot, 10_000 + i));
  });

  it('is superseded by a load or delta that takes the snapshot buffer while it encodes', async () => {
    const engine = await loadEngine({ flowCapacity: 1024 });
    engine.load(bigModel(1));
    let pauses = 0;
    const building = engine.loadInSteps(bigModel(5), { budget: 64, pause: async () => {
      if (++pauses === 25) engine.load(bigModel(2)); // in the writing pass (19 measuring pauses)
    } });
    await expect(building).rejects.toThrow(new SnapshotError(21, 'snapshot rejected (code 21): no staged build (superseded by another load or delta, or never begun) while it was encoded; the previous generation keeps serving'));
    expect(engine.stats().generation).toBe(2);
    expect(engine.model.servicePorts[0]!.backends[2]!.weight).toBe(2);
    await engine.loadInSteps(bigModel(5), { budget: 64, pause: async () => {} });
    expect(engine.stats().generation).toBe(3);
    expect(engine.model.servicePorts[0]!.backends[2]!.weight).toBe(5);
  });

  it('rejects a model it cannot encode and leaves the serving generation', async () => {
    const engine = await loadEngine({ flowCapacity: 1024 });
    engine.load(bigModel(1));
    const good = bigModel(5);
    const bad = { ...good, servicePorts: [...good.servicePorts, servicePort('zz-bad', { port: 0 })] };
    await expect(engine.loadInSteps(bad, { budget: 64, pause: async () => {} })).rejects.toThrow('service port "default/zz-bad": port: 0 is not in 1..65535');
    expect(engine.stats().generation).toBe(1);
    expect(decide(engine, 7)).toMatch(/^\d+\/7\//);
  });
});
