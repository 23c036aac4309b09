/**
 * Drives the Wasm engine and the reference engine with the same operations and reports the first
 * answer on which they differ. Used by test/engine/differential*.test.ts with fast-check.
 */
import fc from 'fast-check';
import { parseAddress, type Address } from '../../host/engine/address.js';
import type { SchedulerFlags, SchedulerName, ServiceModel } from '../../host/engine/model.js';
import { servicePort, serviceModel, type BackendSpec } from './model-builder.js';

/** The calls both engines answer (host/engine/api.ts EngineApi; RefEngine mirrors it). */
export interface EngineLike {
  load(model: ServiceModel): void;
  connect(protocol: number, src: Address, srcPort: number, dst: Address, dstPort: number, nowMs: number): DecisionLike;
  established(protocol: number, src: Address, srcPort: number, dst: Address, dstPort: number, nowMs: number): boolean;
  close(protocol: number, src: Address, srcPort: number, dst: Address, dstPort: number, nowMs: number): boolean;
  lookup(protocol: number, src: Address, srcPort: number, dst: Address, dstPort: number, nowMs: number): DecisionLike;
  rebind(protocol: number, src: Address, srcPort: number, dst: Address, dstPort: number, backendIndex: number, nowMs: number): boolean;
  expire(nowMs: number): number;
  counters(servicePortIndex: number): { active: number; inactive: number }[];
  stats(): StatsLike;
  /** The engine's own table invariants (Engine#checkTables): null when they hold. The reference has none. */
  checkTables?(): string | null;
}
/** The table statistics both report (EngineStats fields). */
export interface StatsLike {
  generation: number;
  servicePorts: number;
  flows: number;
  affinities: number;
  flowEvictions: number;
  affinityEvictions: number;
  flowExpirations: number;
  affinityExpirations: number;
  flowsDroppedOnSwap: number;
}
const STAT_FIELDS = ['generation', 'servicePorts', 'flows', 'affinities', 'flowEvictions', 'affinityEvictions', 'flowExpirations', 'affinityExpirations', 'flowsDroppedOnSwap'] as const;
export interface DecisionLike {
  verdict: number;
  via: number;
  servicePortIndex: number;
  backendIndex: number;
  detail: number;
}

/** Candidate backends: IPv4 and IPv6, two ports on one address, so engine order mixes families. */
export const BACKEND_POOL: readonly { ip: string; port: number }[] = [
  { ip: '10.0.0.1', port: 8080 },
  { ip: '10.0.0.2', port: 8080 },
  { ip: '10.0.0.2', port: 8081 },
  { ip: '10.0.1.7', port: 8080 },
  { ip: '10.0.3.3', port: 9090 },
  { ip: '192.168.5.1', port: 8080 },
  { ip: 'fd00::1', port: 8080 },
  { ip: 'fd00::2', port: 8080 },
  { ip: 'fd00:0:0:1::9', port: 8080 },
  { ip: '2001:db8::5', port: 8443 },
];
/** Clients; few enough that flows and affinity entries get reused. */
export const CLIENTS: readonly Address[] = ['192.168.1.10', '192.168.1.11', '10.1.2.3', '172.16.5.77', '2001:db8::1', 'fd00:ff::42'].map(parseAddress);
export const CLIENT_PORTS = [40000, 40001, 51234] as const;
/** Service ports of the scenario (model order: dns before web). */
export const PORTS = [
  { protocol: 17, port: 53, nodePort: 30053, name: 'dns' },
  { protocol: 6, port: 80, nodePort: 30080, name: 'web' },
] as const;

/**
 * How a flow reaches its service port: 0 clusterIP, 1 externalIP, 2 node IP and nodePort,
 * 3 load-balancer ingress IP (subject to loadBalancerSourceRanges). Absent = 0.
 */
export type Entry = 0 | 1 | 2 | 3;
export type FlowOp = { kind: 'connect' | 'established' | 'close' | 'lookup'; sp: 0 | 1; client: number; clientPort: number; to?: Entry };
/** The host retried the flow on backend `k` of its service port (out of range at times). */
export type RebindOp = Omit<FlowOp, 'kind'> & { kind: 'rebind'; k: number };
export type Op =
  | FlowOp
  | RebindOp
  | { kind: 'stray'; client: number }
  /** Let time pass; `expire` calls expire(now), otherwise entries run out lazily when next touched. */
  | { kind: 'advance'; ms: number; expire: boolean }
  /** A new snapshot: the current list with these backends (BACKEND_POOL index) set to a weight or removed (null). */
  | { kind: 'swap'; edits: { backend: number; weight: number | null; cluster?: boolean; external?: boolean }[] }
  /** A new snapshot with the same backends and another scheduler (and flags). */
  | { kind: 'reschedule'; scheduler: SchedulerName; flags: SchedulerFlags };

export interface Scenario {
  readonly scheduler: SchedulerName;
  readonly flags: SchedulerFlags;
  readonly affinitySeconds: number | undefined;
  /** Service ports also reachable by externalIP, NodePort and LB ingress; backends in random pools. */
  readonly entries?: boolean;
  readonly backends: BackendSpec[];
  readonly ops: Op[];
}

/** How weights are drawn: 1..max (with 0 one time in six), or from a fixed set of values. */
export type WeightSpec = number | readonly number[];

function arbWeight(weights: WeightSpec): fc.Arbitrary<number> {
  if (typeof weights !== 'number') return fc.constantFrom(...weights);
  return fc.oneof({ weight: 1, arbitrary: fc.constant(0) }, { weight: 5, arbitrary: fc.integer({ min: 1, max: weights }) });
}

/** Pool membership: mostly in, sometimes out (as Local traffic policies leave it). */
const arbMember = fc.oneof({ weight: 3, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) });

/** A random subset of the candidate backends with random weights (0 included) and, with `pools`, pool flags. */
export function arbBackends(weights: WeightSpec, pools = false): fc.Arbitrary<BackendSpec[]> {
  const arbSpec = pools
    ? fc.record({ weight: arbWeight(weights), cluster: arbMember, external: arbMember })
    : fc.record({ weight: arbWeight(weights) });
  return fc
    .subarray([...BACKEND_POOL], { minLength: 0, maxLength: BACKEND_POOL.length })
    .chain((picked) => fc.tuple(...picked.map(() => arbSpec)).map((specs) => picked.map((b, i) => ({ ...b, ...specs[i]! }))));
}

const EXACT: SchedulerName[] = ['rr', 'wrr', 'lc', 'wlc', 'sed', 'nq', 'dh', 'sh', 'mh', 'random'];
const arbFlags = fc.record({ port: fc.boolean(), fallback: fc.boolean() });

export function arbOp(maxWeight: WeightSpec, pools = false, reschedule = false): fc.Arbitrary<Op> {
  const flow = (kind: FlowOp['kind']): fc.Arbitrary<Op> =>
    fc.record({
      kind: fc.constant(kind),
      sp: fc.constantFrom(0 as const, 1 as const),
      client: fc.nat(CLIENTS.length - 1),
      // Mostly a few ports, so flows are found again; sometimes a fresh one, so more get scheduled.
      clientPort: fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...CLIENT_PORTS) }, { weight: 1, arbitrary: fc.integer({ min: 1024, max: 65535 }) }),
      to: pools ? fc.constantFrom<Entry>(0, 1, 2, 3) : fc.constant<Entry>(0),
    });
  return fc.oneof(
    { weight: 10, arbitrary: flow('connect') },
    { weight: 3, arbitrary: flow('established') },
    { weight: 4, arbitrary: flow('close') },
    { weight: 2, arbitrary: flow('lookup') },
    // Mostly a backend the service port has (it has at most BACKEND_POOL.length), now and then one past.
    { weight: 3, arbitrary: flow('lookup').chain((f) => fc.nat(BACKEND_POOL.length).map((k): Op => ({ ...(f as FlowOp), kind: 'rebind', k: k >> 1 }))) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('stray' as const), client: fc.nat(CLIENTS.length - 1) }) },
    // Idle gaps: short ones, and ones around the tcpfin/udp timeouts and past the tcp one.
    {
      weight: 3,
      arbitrary: fc.record({
        kind: fc.constant('advance' as const),
        ms: fc.oneof(fc.integer({ min: 1, max: 30_000 }), fc.integer({ min: 100_000, max: 1_000_000 })),
        expire: fc.boolean(),
      }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant('swap' as const),
        edits: fc.array(
          fc.record({
            backend: fc.nat(BACKEND_POOL.length - 1),
            weight: fc.oneof({ weight: 1, arbitrary: fc.constant(null) }, { weight: 3, arbitrary: arbWeight(maxWeight) }),
            cluster: pools ? arbMember : fc.constant(true),
            external: pools ? arbMember : fc.constant(true),
          }),
          { minLength: 1, maxLength: 3 },
        ),
      }),
    },
    ...(reschedule
      ? [{ weight: 1, arbitrary: fc.record({ kind: fc.constant('reschedule' as const), scheduler: fc.constantFrom(...EXACT), flags: arbFlags }) }]
      : []),
  );
}

export function arbScenario(
  scheduler: SchedulerName,
  opts: { weights?: WeightSpec; affinity?: boolean; maxOps?: number; entries?: boolean; reschedule?: boolean } = {},
): fc.Arbitrary<Scenario> {
  const maxWeight = opts.weights ?? 5;
  const pools = opts.entries ?? false;
  return fc.record({
    scheduler: fc.constant(scheduler),
    flags: scheduler === 'sh' || scheduler === 'mh' ? arbFlags : fc.constant({ port: false, fallback: false }),
    affinitySeconds: opts.affinity ? fc.integer({ min: 1, max: 600 }) : fc.constant(undefined),
    entries: fc.constant(pools),
    backends: arbBackends(maxWeight, pools),
    ops: fc.array(arbOp(maxWeight, pools, opts.reschedule ?? false), { minLength: 1, maxLength: opts.maxOps ?? 60, size: 'max' }),
  });
}

/** Destination addresses per entry (see Entry), IPv4 and IPv6. */
const ENTRY_ADDRESSES: readonly (readonly [Address, Address])[] = [
  ['10.96.0.10', 'fd00:96::10'],
  ['203.0.113.10', '2001:db8:e::10'],
  ['192.0.2.10', '2001:db8:a::10'],
  ['198.51.100.10', '2001:db8:b::10'],
].map(([v4, v6]) => [parseAddress(v4!), parseAddress(v6!)] as const);
/** LB ingress admits these sources only: two of the IPv4 clients and one of the IPv6 ones. */
const SOURCE_RANGES = ['192.168.1.0/24', '2001:db8::/64'];

export function scenarioModel(s: Pick<Scenario, 'scheduler' | 'flags' | 'affinitySeconds' | 'entries'>, backends: readonly BackendSpec[]): ServiceModel {
  const text = (entry: Entry) => ENTRY_ADDRESSES[entry]!.map((a) => a.text);
  return serviceModel(
    PORTS.map((p) =>
      servicePort({
        name: p.name,
        protocol: p.protocol === 6 ? 'TCP' : 'UDP',
        port: p.port,
        clusterIPs: text(0),
        scheduler: s.scheduler,
        flags: s.flags,
        ...(s.affinitySeconds !== undefined ? { affinitySeconds: s.affinitySeconds } : {}),
        ...(s.entries
          ? { externalIPs: text(1), nodePort: p.nodePort, loadBalancerIPs: text(3), loadBalancerSourceRanges: SOURCE_RANGES }
          : {}),
        backends,
      }),
    ),
    s.entries ? text(2) : [],
  );
}

const pickDecision = (d: DecisionLike): DecisionLike => ({
  verdict: d.verdict,
  via: d.via,
  servicePortIndex: d.servicePortIndex,
  backendIndex: d.backendIndex,
  detail: d.detail,
});

export interface Mismatch {
  readonly step: number;
  readonly op: Op | { kind: 'load' };
  readonly field: string;
  readonly engine: unknown;
  readonly reference: unknown;
}

/**
 * Play the scenario on both engines; return the first difference (null when none).
 * `compareDetail` can be turned off for schedulers whose detail the engine defines differently.
 */
export function play(engine: EngineLike, reference: EngineLike, s: Scenario, startMs = 1_000_000): Mismatch | null {
  let now = startMs;
  let backends = s.backends;
  let sched: Pick<Scenario, 'scheduler' | 'flags' | 'affinitySeconds' | 'entries'> = s;
  const model = scenarioModel(sched, backends);
  engine.load(model);
  reference.load(model);
  const check = (step: number, op: Mismatch['op']): Mismatch | null => {
    for (let sp = 0; sp < PORTS.length; sp++) {
      const e = JSON.stringify(engine.counters(sp));
      const r = JSON.stringify(reference.counters(sp));
      if (e !== r) return { step, op, field: `counters(${sp})`, engine: e, reference: r };
    }
    const es = engine.stats();
    const rs = reference.stats();
    for (const f of STAT_FIELDS) if (es[f] !== rs[f]) return { step, op, field: `stats().${f}`, engine: es[f], reference: rs[f] };
    // A corrupt table fails here, at the step that broke it, before a later walk of it can loop.
    const broken = engine.checkTables?.() ?? null;
    if (broken !== null) return { step, op, field: 'checkTables()', engine: broken, reference: null };
    return null;
  };
  const first = check(-1, { kind: 'load' });
  if (first) return first;
  for (let step = 0; step < s.ops.length; step++) {
    const op = s.ops[step]!;
    let e: unknown;
    let r: unknown;
    switch (op.kind) {
      case 'advance':
        now += op.ms;
        if (op.expire) {
          e = engine.expire(now);
          r = reference.expire(now);
        }
        break;
      case 'swap': {
        for (const { backend, weight, cluster, external } of op.edits) {
          const { ip, port } = BACKEND_POOL[backend]!;
          backends = backends.filter((b) => b.ip !== ip || b.port !== port);
          if (weight !== null) backends.push({ ip, port, weight, ...(s.entries ? { cluster, external } : {}) });
        }
        const m = scenarioModel(sched, backends);
        engine.load(m);
        reference.load(m);
        break;
      }
      case 'reschedule': {
        sched = { ...sched, scheduler: op.scheduler, flags: op.flags };
        const m = scenarioModel(sched, backends);
        engine.load(m);
        reference.load(m);
        break;
      }
      case 'stray': {
        const client = CLIENTS[op.client]!;
        const vip = ENTRY_ADDRESSES[0]![client.family === 4 ? 0 : 1];
        e = pickDecision(engine.connect(6, client, 40000, vip, 81, now));
        r = pickDecision(reference.connect(6, client, 40000, vip, 81, now));
        break;
      }
      default: {
        const client = CLIENTS[op.client]!;
        const to = op.to ?? 0;
        const vip = ENTRY_ADDRESSES[to]![client.family === 4 ? 0 : 1];
        const { protocol, port, nodePort } = PORTS[op.sp];
        const args = [protocol, client, op.clientPort, vip, to === 2 ? nodePort : port, now] as const;
        if (op.kind === 'rebind') {
          e = engine.rebind(protocol, client, op.clientPort, vip, args[4], op.k, now);
          r = reference.rebind(protocol, client, op.clientPort, vip, args[4], op.k, now);
        } else if (op.kind === 'connect' || op.kind === 'lookup') {
          e = pickDecision(engine[op.kind](...args));
          r = pickDecision(reference[op.kind](...args));
        } else {
          e = engine[op.kind](...args);
          r = reference[op.kind](...args);
        }
      }
    }
    if (JSON.stringify(e) !== JSON.stringify(r)) return { step, op, field: 'result', engine: e, reference: r };
    const c = check(step, op);
    if (c) return c;
  }
  return null;
}

/**
 * Scenarios in phases (issue 17): each swap makes one kind of change — only removals, only
 * weights set (adding the backends that were missing, reweighting the others) or only quiescing —
 * and is followed by new connections through every kind of service address, so the order and
 * scheduler state carried into each address's pool decide the picks.
 */
export function arbPhasedScenario(scheduler: SchedulerName, affinity = false): fc.Arbitrary<Scenario> {
  const connect = fc.record({
    kind: fc.constant('connect' as const),
    sp: fc.constantFrom(0 as const, 1 as const),
    client: fc.nat(CLIENTS.length - 1),
    clientPort: fc.integer({ min: 1024, max: 65535 }),
    to: fc.constantFrom<Entry>(0, 1, 2, 3),
  });
  const edits = (weight: fc.Arbitrary<number | null>): fc.Arbitrary<Op> =>
    fc
      .uniqueArray(fc.nat(BACKEND_POOL.length - 1), { minLength: 1, maxLength: 3 })
      .chain((bs) => fc.tuple(...bs.map(() => weight)).map((ws): Op => ({ kind: 'swap', edits: bs.map((backend, i) => ({ backend, weight: ws[i]! })) })));
  const change = fc.oneof(edits(fc.constant(null)), edits(fc.integer({ min: 1, max: 5 })), edits(fc.constant(0)));
  const phase = fc.tuple(change, fc.array(connect, { minLength: 2, maxLength: 8 })).map(([c, conns]) => [c, ...conns]);
  return fc.record({
    scheduler: fc.constant(scheduler),
    flags: fc.constant({ port: false, fallback: false }),
    affinitySeconds: affinity ? fc.integer({ min: 1, max: 600 }) : fc.constant(undefined),
    entries: fc.constant(true),
    backends: arbBackends(5),
    ops: fc.array(phase, { minLength: 1, maxLength: 6 }).map((phases) => [...Array.from({ length: 3 }, (_, i): Op => ({ kind: 'connect', sp: 1, client: i, clientPort: 2000 + i, to: i as Entry })), ...phases.flat()]),
  });
}
