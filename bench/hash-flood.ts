/**
 * Attacker-chosen tuples against the flow and affinity tables (issue 10): the cost of a new
 * connection and of a lookup when the tuples are chosen to collide under the old public hash
 * constants, against the same number of random tuples, in the same run. With the keyed hash the
 * attacker's tuples must cost no more than 1.5× the random ones (`ratio`).
 *
 * - `one-client-many-ports`: 97.200.134.71 (fold 0x61c88647, which zeroed an unkeyed NH term, so
 *   the source port never entered the hash), source ports 1..N;
 * - `one-64-many-clients`: N IPv6 clients in one /64 with w2 = 0xd82b14d1 (which took w3 out of
 *   the unkeyed affinity hash), to a ClientIP-affinity service;
 * - `random`: N random IPv4 clients and ports (the baseline of both).
 */
import { parseAddress, type Address } from '../host/engine/address.js';
import { loadEngine } from '../host/engine/node.js';
import type { Engine } from '../host/engine/engine.js';
import type { ServiceModel } from '../host/engine/model.js';
import { cpuClock, report } from './report.js';

/** Flows (and affinity entries) per case: the 32k of the measurement. */
const FLOWS = 32_768;
const TCP = 6;

export type FloodRow = { case: string; services: number; endpoints: number; flows: number; nsPerOp: number; ratio: number };

function model(vip: string, backends: readonly string[], affinity: boolean): ServiceModel {
  const sorted = [...backends];
  return {
    nodeIPs: [],
    servicePorts: [{
      namespace: 'default', name: 'flood', portName: '', type: 'ClusterIP', protocol: 'TCP', port: 80, clusterIPs: [vip], nodePort: 0,
      externalIPs: [], loadBalancerIPs: [], loadBalancerSourceRanges: [], scheduler: 'rr', schedulerFlags: { port: false, fallback: false },
      sessionAffinity: affinity ? 'ClientIP' : 'None', affinityTimeoutSeconds: 10800, externalTrafficPolicy: 'Cluster', internalTrafficPolicy: 'Cluster',
      healthCheckNodePort: 0, hasEndpoints: true,
      backends: sorted.map((ip) => ({ ip, port: 8080, weight: 1, ready: true, serving: true, terminating: false, local: true, cluster: true, external: true })),
    }],
  };
}

interface Tuples {
  readonly name: string;
  readonly vip: Address;
  readonly model: ServiceModel;
  readonly client: (i: number) => Address;
  readonly port: (i: number) => number;
}

function xorshift(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
}

function cases(): { attack: Tuples; baseline: Tuples }[] {
  const v4 = model('10.96.0.10', ['10.0.0.1', '10.0.0.2', '10.0.0.3'], false);
  const v6 = model('fd00::10', ['fd00::a', 'fd00::b', 'fd00::c'], true);
  const next = xorshift(0x5eed);
  const randomV4 = Array.from({ length: FLOWS }, () => parseAddress(`${(next() % 223) + 1}.${next() % 256}.${next() % 256}.${next() % 256}`));
  const randomPorts = Array.from({ length: FLOWS }, () => 1024 + (next() % 64000));
  const randomV6 = Array.from({ length: FLOWS }, () => parseAddress(`2001:db8:${(next() % 0xffff).toString(16)}::${(next() % 0xffff).toString(16)}:${(next() % 0xffff).toString(16)}`));
  const oneClient = parseAddress('97.200.134.71');
  const slash64 = Array.from({ length: FLOWS }, (_, i) => parseAddress(`2001:db8:0:1:d82b:14d1:${(i >>> 16).toString(16)}:${(i & 0xffff).toString(16)}`));
  return [
    {
      attack: { name: 'one-client-many-ports', vip: parseAddress('10.96.0.10'), model: v4, client: () => oneClient, port: (i) => i + 1 },
      baseline: { name: 'random', vip: parseAddress('10.96.0.10'), model: v4, client: (i) => randomV4[i]!, port: (i) => randomPorts[i]! },
    },
    {
      attack: { name: 'one-64-many-clients', vip: parseAddress('fd00::10'), model: v6, client: (i) => slash64[i]!, port: () => 40000 },
      baseline: { name: 'random', vip: parseAddress('fd00::10'), model: v6, client: (i) => randomV6[i]!, port: () => 40000 },
    },
  ];
}

type Cost = { connectNs: number; lookupNs: number };

/**
 * ns per connect and per lookup of `t`'s FLOWS tuples on `engine`, whose tables are first emptied
 * by expiry (past every timeout; affinity's is 10800 s). Returns the clock it ended at.
 */
function cost(engine: Engine, t: Tuples, start: number): Cost & { now: number } {
  const now = start + 20_000_000;
  engine.expire(now);
  if (engine.stats().flows !== 0 || engine.stats().affinities !== 0) throw new Error('hash-flood: entries left after expiry');
  let t0 = cpuClock.fn();
  for (let i = 0; i < FLOWS; i++) engine.connect(TCP, t.client(i), t.port(i), t.vip, 80, now);
  const connectNs = ((cpuClock.fn() - t0) * 1000) / FLOWS;
  t0 = cpuClock.fn();
  for (let i = 0; i < FLOWS; i++) engine.lookup(TCP, t.client(i), t.port(i), t.vip, 80, now + 1);
  return { connectNs, lookupNs: ((cpuClock.fn() - t0) * 1000) / FLOWS, now: now + 1 };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const round = (x: number): number => Math.round(x * 100) / 100;

/**
 * Rows `hash-flood <op> <tuples>`, each with its ratio to the random tuples of the same case. Both
 * run on ONE engine per case, in alternating rounds (median of `rounds` each): a fresh engine per
 * round timed its tables' first allocation and page faults (16 MiB of buckets) and the collection
 * of the previous engines' memories, which swung the same tuples' connect cost 2× between rounds,
 * more than any hash effect. The first round, untimed, allocates and touches both tables.
 */
export async function hashFloodRows(rounds = 7): Promise<FloodRow[]> {
  const rows: FloodRow[] = [];
  for (const { attack, baseline } of cases()) {
    const engine = await loadEngine({ flowCapacity: 1 << 16, affinityCapacity: 1 << 16 });
    engine.load(attack.model);
    let now = cost(engine, baseline, 1000).now;
    const hit: Cost[] = [];
    const base: Cost[] = [];
    for (let r = 0; r < rounds; r++) {
      const b = cost(engine, baseline, now);
      const a = cost(engine, attack, b.now);
      now = a.now;
      base.push(b);
      hit.push(a);
    }
    for (const op of ['connect', 'lookup'] as const) {
      const key = op === 'connect' ? 'connectNs' : 'lookupNs';
      const ns = median(hit.map((c) => c[key]));
      const b = median(base.map((c) => c[key]));
      rows.push({ case: `hash-flood ${op} ${attack.name}`, services: 1, endpoints: 3, flows: FLOWS, nsPerOp: round(ns), ratio: round(ns / b) });
      rows.push({ case: `hash-flood ${op} random (${attack.name} baseline)`, services: 1, endpoints: 3, flows: FLOWS, nsPerOp: round(b), ratio: 1 });
    }
    const [c, , l] = rows.slice(-4);
    console.log(`hash-flood ${attack.name}: connect ${c!.nsPerOp} ns (${c!.ratio}× random), lookup ${l!.nsPerOp} ns (${l!.ratio}× random)`);
  }
  return rows;
}

/** `npm run bench -- hash-flood`: these rows alone (the engine suite includes them too). */
export async function run(): Promise<void> {
  report('hash-flood', await hashFloodRows());
}
