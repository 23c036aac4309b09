/**
 * The traffic simulation loop shared by the playground page and its Node tests: the same engine,
 * model, seed and inputs give the same decisions in Chromium and in Node, so the page's bar chart
 * can be checked against the engine run by Node.
 *
 * Pure TypeScript over the EngineApi contract (no DOM, no node: imports). The caller hands in a
 * fresh engine: flows and affinity entries from an earlier run would otherwise change the result.
 */
import { parseAddress, type Address } from '../engine/address.js';
import { Verdict, Via, type EngineApi, type EngineOptions } from '../engine/api.js';
import { completeConnection } from '../engine/handshake.js';
import {
  PROTOCOL_NUMBER,
  backendKey,
  servicePortKey,
  type ModelServicePort,
  type Protocol,
  type SchedulerName,
  type ServiceModel,
} from '../engine/model.js';

/** Upper bounds that keep a simulation interactive and its memory bounded. */
export const MAX_CLIENTS = 65_536;
export const MAX_REQUESTS = 1_000_000;
/** How many decisions are kept for the step-through; the counts cover every request. */
export const DEFAULT_KEPT_DECISIONS = 1_000;

/**
 * The engine seed (for the `random` scheduler) the playground uses: fixed, so a shared link and a
 * Node run reproduce the page's numbers.
 */
export const PLAYGROUND_ENGINE_SEED = 1;

/**
 * Engine options for one run: the playground seed, and tables just large enough that no flow or
 * affinity entry is ever evicted (so the result equals a run with the default, much larger tables,
 * while a page instantiates a small engine in milliseconds).
 */
export function simulationEngineOptions(input: Pick<SimulationInput, 'clients' | 'requests'>): EngineOptions {
  return {
    seed: PLAYGROUND_ENGINE_SEED,
    flowCapacity: Math.min(MAX_REQUESTS, input.requests) + 1024,
    affinityCapacity: Math.min(MAX_CLIENTS, input.clients) + 1024,
  };
}

/** Linux's default net.ipv4.ip_local_port_range: client source ports are drawn from it. */
const EPHEMERAL_LOW = 32_768;
const EPHEMERAL_HIGH = 60_999;
/** Simulated time: the first request at START_MS, one request every STEP_MS (as `vipwasm simulate`). */
export const START_MS = 1_000_000;
export const STEP_MS = 1;

export interface SimulationTarget {
  /** The address the clients connect to: a clusterIP, node IP (with a nodePort), external or LB IP. */
  readonly ip: string;
  readonly port: number;
  readonly protocol: Protocol;
}

export interface SimulationInput {
  readonly target: SimulationTarget;
  /** Distinct client addresses, 1..MAX_CLIENTS; request r comes from client r mod clients. */
  readonly clients: number;
  /** New connections to make, 1..MAX_REQUESTS. */
  readonly requests: number;
  /** Replaces every Service port's scheduler for this run; undefined keeps the model's. */
  readonly scheduler?: SchedulerName;
  /**
   * Client source ports: 0 = sequential per client (32768, 32769, …), exactly as `vipwasm simulate`
   * picks them, so the page and the CLI agree; any other value seeds random ephemeral ports.
   */
  readonly seed: number;
  /** Close each connection right after it is made (lc/wlc/sed/nq then see no active load). */
  readonly close: boolean;
  /** Decisions kept for the step-through (default DEFAULT_KEPT_DECISIONS). */
  readonly keepDecisions?: number;
}

export type VerdictName = 'backend' | 'pass' | 'reject' | 'drop';

/** One decision, copied out of the engine's reused Decision object. */
export interface SimulatedDecision {
  readonly request: number;
  readonly client: string;
  readonly clientPort: number;
  readonly verdict: VerdictName;
  readonly via: 'scheduler' | 'flow' | 'affinity' | 'none';
  /** servicePortKey of the matched Service port, null when none matched. */
  readonly service: string | null;
  /** `ip:port` of the chosen backend, null unless verdict is backend. */
  readonly backend: string | null;
  readonly backendIndex: number;
  /** dh/sh bucket or mh slot, -1 otherwise. */
  readonly detail: number;
  /** Why, in words: "sh bucket 179", "existing ClientIP affinity", "no endpoints (reject)". */
  readonly reason: string;
}

export interface BackendTally {
  readonly backend: string;
  readonly ip: string;
  readonly port: number;
  readonly ready: boolean;
  readonly terminating: boolean;
  readonly weight: number;
  /** On the modelled node. */
  readonly local: boolean;
  /** In the set for cluster-internal / external traffic (after traffic policy). */
  readonly cluster: boolean;
  readonly external: boolean;
  /** Connections the engine sent to this backend during the run. */
  connections: number;
  /** The engine's counters after the run. */
  active: number;
  inactive: number;
}

/** Client → backend pins seen during the run, for Services with ClientIP affinity. */
export interface AffinityRow {
  readonly client: string;
  /** The backend the client is pinned to (the latest one, if the pin moved). */
  backend: string;
  /** Connections from this client that the affinity entry (not the scheduler) placed. */
  hits: number;
  firstMs: number;
  lastMs: number;
}

export interface SimulationResult {
  /** servicePortKey of the Service port the target matched, null when nothing matched. */
  readonly service: string | null;
  readonly scheduler: SchedulerName | null;
  readonly sessionAffinity: 'None' | 'ClientIP' | null;
  /**
   * Which traffic policy applies: 'cluster' for a clusterIP target (internalTrafficPolicy),
   * 'external' for a node port, external or load-balancer IP (externalTrafficPolicy).
   */
  readonly traffic: 'cluster' | 'external' | null;
  /** The matched port's backends in engine order, with per-backend connection counts. */
  readonly backends: BackendTally[];
  readonly counts: Record<VerdictName, number>;
  readonly decisions: SimulatedDecision[];
  readonly affinity: AffinityRow[];
}

/** Throws an Error naming the field when an input is out of range. */
export function validateSimulationInput(input: SimulationInput): void {
  const intIn = (field: string, v: number, lo: number, hi: number): void => {
    if (!Number.isInteger(v) || v < lo || v > hi) throw new Error(`simulation: ${field}: ${v} is not an integer in ${lo}..${hi}`);
  };
  intIn('clients', input.clients, 1, MAX_CLIENTS);
  intIn('requests', input.requests, 1, MAX_REQUESTS);
  intIn('seed', input.seed, 0, 0xffff_ffff);
  intIn('target.port', input.target.port, 1, 65_535);
  if (!(input.target.protocol in PROTOCOL_NUMBER)) throw new Error(`simulation: target.protocol: "${input.target.protocol}" is not TCP, UDP or SCTP`);
  try {
    parseAddress(input.target.ip);
  } catch {
    throw new Error(`simulation: target.ip: "${input.target.ip}" is not an IP address`);
  }
}

/**
 * The source port of request r (0-based) from its client. Seed 0: the client's k-th connection
 * uses 32768 + k, as `vipwasm simulate` does. Other seeds: mulberry32, a small well-mixed 32-bit
 * PRNG, so the same seed gives the same ports everywhere.
 */
export function sourcePorts(seed: number, clients = 1): (request: number) => number {
  const span = EPHEMERAL_HIGH - EPHEMERAL_LOW + 1;
  if (seed === 0) return (r) => EPHEMERAL_LOW + (Math.floor(r / clients) % span);
  const next = mulberry32(seed);
  return () => EPHEMERAL_LOW + (next() % span);
}

/** mulberry32 scaled to [0, 1): for scenario generators, tests and benches that need a seeded Math.random. */
export function seededUnit(seed: number): () => number {
  const next = mulberry32(seed);
  return () => next() / 4294967296;
}

/** mulberry32: a small, well-mixed seeded PRNG of u32 values. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/**
 * Client i's address: 198.18.0.1 + i (RFC 2544 benchmarking range) for an IPv4 target,
 * 2001:db8:c::1 + i (documentation range) for an IPv6 one.
 */
export function clientAddress(i: number, family: 4 | 6): Address {
  if (family === 4) {
    const w0 = (0xc612_0000 + 1 + i) >>> 0;
    return parseAddress(`${w0 >>> 24}.${(w0 >>> 16) & 255}.${(w0 >>> 8) & 255}.${w0 & 255}`);
  }
  const n = 1 + i;
  return parseAddress(`2001:db8:c::${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}`);
}

/** The model with every Service port's scheduler replaced (flags kept). */
export function withScheduler(model: ServiceModel, scheduler: SchedulerName | undefined): ServiceModel {
  if (!scheduler) return model;
  return { ...model, servicePorts: model.servicePorts.map((sp) => ({ ...sp, scheduler })) };
}

function reasonFor(verdict: number, via: number, sp: ModelServicePort | null, detail: number): string {
  if (verdict === Verdict.Pass) return 'no Service port matches (passed through)';
  if (verdict === Verdict.Reject) return 'the Service has no endpoints (rejected, as kube-proxy does)';
  if (verdict === Verdict.Drop) return 'dropped by policy (Local traffic policy without a local endpoint, or source range)';
  if (via === Via.Flow) return 'existing flow (conntrack)';
  if (via === Via.Affinity) return `ClientIP session affinity (timeout ${sp?.affinityTimeoutSeconds ?? 0} s)`;
  const s = sp?.scheduler ?? 'scheduler';
  if (detail >= 0) return `${s} ${s === 'mh' ? 'slot' : 'bucket'} ${detail}`;
  return `${s} scheduler`;
}

const VERDICT_NAMES: Record<number, VerdictName> = { 0: 'backend', 1: 'pass', 2: 'reject', 3: 'drop' };
const VIA_NAMES = ['none', 'scheduler', 'flow', 'affinity'] as const;

/**
 * Loads the model (with the scheduler override) into `engine` and makes `requests` connections.
 * Deterministic: no clock, no Math.random.
 */
export function simulate(engine: EngineApi, model: ServiceModel, input: SimulationInput): SimulationResult {
  validateSimulationInput(input);
  engine.load(withScheduler(model, input.scheduler));
  const dst = parseAddress(input.target.ip);
  const proto = PROTOCOL_NUMBER[input.target.protocol];
  const portOf = sourcePorts(input.seed, input.clients);
  const keep = input.keepDecisions ?? DEFAULT_KEPT_DECISIONS;
  const clients = Array.from({ length: input.clients }, (_, i) => clientAddress(i, dst.family));

  const counts: Record<VerdictName, number> = { backend: 0, pass: 0, reject: 0, drop: 0 };
  const decisions: SimulatedDecision[] = [];
  const affinity = new Map<string, AffinityRow>();
  let matched = -1;
  let perBackend: number[] = [];

  for (let r = 0; r < input.requests; r++) {
    const src = clients[r % input.clients]!;
    const srcPort = portOf(r);
    const now = START_MS + r * STEP_MS;
    const d = engine.connect(proto, src, srcPort, dst, input.target.port, now);
    const verdict = VERDICT_NAMES[d.verdict] ?? 'pass';
    counts[verdict]++;
    if (matched < 0 && d.servicePortIndex >= 0) {
      matched = d.servicePortIndex;
      perBackend = new Array<number>(engine.model.servicePorts[matched]!.backends.length).fill(0);
    }
    const sp = d.servicePort;
    const backend = d.backend ? backendKey(d.backend) : null;
    if (d.verdict === Verdict.Backend && d.servicePortIndex === matched && d.backendIndex >= 0) perBackend[d.backendIndex]!++;
    if (backend && sp?.sessionAffinity === 'ClientIP') {
      const row = affinity.get(src.text) ?? { client: src.text, backend, hits: 0, firstMs: now, lastMs: now };
      if (d.via === Via.Affinity) row.hits++;
      row.backend = backend;
      row.lastMs = now;
      affinity.set(src.text, row);
    }
    if (decisions.length < keep) {
      decisions.push({
        request: r,
        client: src.text,
        clientPort: srcPort,
        verdict,
        via: VIA_NAMES[d.via] ?? 'none',
        service: sp ? servicePortKey(sp) : null,
        backend,
        backendIndex: d.backendIndex,
        detail: d.detail,
        reason: reasonFor(d.verdict, d.via, sp, d.detail),
      });
    }
    completeConnection(engine, d, proto, src, srcPort, dst, input.target.port, now, input.close);
  }

  const sp = matched >= 0 ? engine.model.servicePorts[matched]! : null;
  const counters = matched >= 0 ? engine.counters(matched) : [];
  const backends: BackendTally[] = (sp?.backends ?? []).map((b, i) => ({
    backend: backendKey(b),
    ip: b.ip,
    port: b.port,
    ready: b.ready,
    terminating: b.terminating,
    weight: b.weight,
    local: b.local,
    cluster: b.cluster,
    external: b.external,
    connections: perBackend[i] ?? 0,
    active: counters[i]?.active ?? 0,
    inactive: counters[i]?.inactive ?? 0,
  }));
  return {
    service: sp ? servicePortKey(sp) : null,
    scheduler: sp?.scheduler ?? null,
    sessionAffinity: sp?.sessionAffinity ?? null,
    traffic: sp ? (sp.clusterIPs.includes(dst.text) && sp.port === input.target.port ? 'cluster' : 'external') : null,
    backends,
    counts,
    decisions,
    affinity: [...affinity.values()],
  };
}

/** "client 198.18.0.7:51234 → default/hostnames → 198.18.1.3:9376, because sh bucket 179". */
export function describeDecision(d: SimulatedDecision): string {
  const client = d.client.includes(':') ? `[${d.client}]:${d.clientPort}` : `${d.client}:${d.clientPort}`;
  const to = d.backend ?? d.verdict;
  return `client ${client} → ${d.service ?? 'no Service'} → ${to}, because ${d.reason}`;
}
