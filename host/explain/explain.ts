/**
 * `explainConnect`: one new connection through the real engine, explained. It reads the state the
 * decision is about to use (host/engine/state-view.ts: flow and affinity entries, the matched pool,
 * its members and scheduler state), predicts the decision in TypeScript step by step as
 * engine/core.ts connect → admit takes it, then makes the real `connect` and checks the prediction
 * against the engine's decision: a disagreement throws ExplainMismatchError, never passes silently.
 * The engine's hot path is untouched: explain only adds read-only calls around one connect.
 */
import { Verdict, Via, type EngineApi } from '../engine/api.js';
import { PROTOCOL_NUMBER, backendKey, servicePortKey, type ModelServicePort } from '../engine/model.js';
import { tickAge, type EngineStateView, type PoolMatch, type PoolState } from '../engine/state-view.js';
import { foldAddress } from './hash.js';
import { endpointVerdicts, policyFor } from './endpoints.js';
import { whyNoMatch } from './no-match.js';
import { schedulerArithmetic } from './schedulers.js';
import { sourceRangeCheck } from './source-ranges.js';
import {
  ExplainMismatchError, hostPort, type ExplainConnection, type ExplainStep, type ExplainTrace, type VerdictName, type ViaName,
} from './trace.js';

/** What explain expects the engine to decide. */
interface Prediction {
  verdict: VerdictName;
  via: ViaName;
  servicePortIndex: number;
  backendIndex: number;
  detail: number;
}

const KIND_WORDS = { clusterIP: 'clusterIP', externalIP: 'externalIP', loadBalancerIP: 'load-balancer ingress IP', nodePort: 'nodePort on node address' } as const;
const VERDICTS: Record<number, VerdictName> = { [Verdict.Backend]: 'backend', [Verdict.Pass]: 'pass', [Verdict.Reject]: 'reject', [Verdict.Drop]: 'drop' };
const VIAS: Record<number, ViaName> = { [Via.None]: 'none', [Via.Scheduler]: 'scheduler', [Via.Flow]: 'flow', [Via.Affinity]: 'affinity' };

/** Builds the trace of one decision while predicting it. */
class Tracer {
  readonly steps: ExplainStep[] = [];
  constructor(private readonly view: EngineStateView, private readonly engine: EngineApi, private readonly c: ExplainConnection) {}

  add(step: ExplainStep['step'], summary: string, lines: readonly string[] = []): void {
    this.steps.push({ step, summary, lines });
  }

  private port(i: number): ModelServicePort {
    return this.engine.model.servicePorts[i]!;
  }

  /** The flow table first: a live entry for this 5-tuple decides before any Service lookup. */
  flow(): Prediction | null {
    const { c } = this;
    const f = this.view.flow(PROTOCOL_NUMBER[c.protocol], c.src, c.srcPort, c.dst, c.dstPort);
    if (!f) {
      this.add('flow', 'no flow entry for this 5-tuple: a new connection');
      return null;
    }
    const age = tickAge(c.nowMs, f.lastUsedMs);
    const sp = this.port(f.servicePortIndex);
    const b = sp.backends[f.backendIndex]!;
    if (age >= f.timeoutMs) {
      this.add('flow', `expired flow entry (age ${age} ms ≥ ${f.timeoutClass} timeout ${f.timeoutMs} ms): removed, decided anew`);
      return null;
    }
    this.add('flow', `flow entry pins ${backendKey(b)} of ${servicePortKey(sp)}`, [
      `age ${age} ms < ${f.timeoutClass} timeout ${f.timeoutMs} ms: the connection stays where it was (refreshed)`,
    ]);
    return { verdict: 'backend', via: 'flow', servicePortIndex: f.servicePortIndex, backendIndex: f.backendIndex, detail: -1 };
  }

  match(): PoolMatch | null {
    const { c } = this;
    const m = this.view.match(PROTOCOL_NUMBER[c.protocol], c.dst, c.dstPort);
    const to = `${hostPort(c.dst, c.dstPort)}/${c.protocol}`;
    if (!m) {
      this.add('match', `${to} matches no Service port: passed through untouched`, whyNoMatch(this.engine.model, c.dst, c.dstPort, c.protocol));
      return null;
    }
    const sp = this.port(m.servicePortIndex);
    this.add('match', `${to} is the ${KIND_WORDS[m.kind]} of ${servicePortKey(sp)}`, [
      `${m.kind === 'nodePort' ? `${c.dst.text} is one of this node's IPs and ${c.dstPort} is the port's nodePort` : `${hostPort(c.dst, c.dstPort)} is a ${KIND_WORDS[m.kind]} at port ${sp.port}`}; virtual service (pool) ${m.pool}`,
    ]);
    return m;
  }

  /** Empty pool: Drop when the family has endpoints somewhere (policy), else Reject. */
  endpoints(m: PoolMatch, pool: PoolState): Prediction | null {
    const sp = this.port(m.servicePortIndex);
    const external = m.kind !== 'clusterIP';
    const policy = policyFor(sp, external);
    const local = sp.backends.filter((b) => b.local).map(backendKey);
    this.add('traffic-policy', `${policy.field}: ${policy.value} (${external ? 'external' : 'cluster-internal'} traffic through this ${KIND_WORDS[m.kind]})`,
      policy.value === 'Local' ? [`endpoints on this node: ${local.length ? local.join(', ') : 'none'}`] : ['every node\'s endpoints are eligible']);
    const verdicts = endpointVerdicts(sp, pool, external, this.c.dst.family);
    this.add('endpoints', `${pool.members.length} of ${sp.backends.length} endpoint(s) in the pool, in kernel list order`,
      verdicts.map((v) => `${v.in ? `IN  #${v.position}` : 'OUT   '} ${v.backend} weight ${v.weight}: ${v.reason}`));
    if (pool.members.length > 0) return null;
    const verdict = pool.hasEndpoints ? 'drop' : 'reject';
    this.add('verdict', verdict === 'drop'
      ? `no usable endpoint for this traffic, but the Service has endpoints: dropped (kube-proxy's DROP for ${policy.field} Local)`
      : 'no endpoints: rejected (TCP RST / ICMP unreachable, as kube-proxy\'s REJECT)');
    return { verdict, via: 'none', servicePortIndex: m.servicePortIndex, backendIndex: -1, detail: -1 };
  }

  /** A live persistence entry whose backend is still a destination of this pool pins the client. */
  affinity(m: PoolMatch, pool: PoolState): Prediction | null {
    if (!pool.affinity) return null;
    const sp = this.port(m.servicePortIndex);
    const a = this.view.affinity(m.pool, this.c.src);
    if (!a) {
      this.add('affinity', `sessionAffinity ClientIP: no entry for ${this.c.src.text} in this virtual service yet; the scheduler picks, then pins it for ${sp.affinityTimeoutSeconds} s`);
      return null;
    }
    const age = tickAge(this.c.nowMs, a.lastUsedMs);
    const b = sp.backends[a.backendIndex];
    const name = b ? backendKey(b) : `backend #${a.backendIndex}`;
    if (age >= a.timeoutMs) {
      this.add('affinity', `affinity entry for ${this.c.src.text} → ${name} expired (age ${age} ms ≥ timeout ${a.timeoutMs} ms): the scheduler picks anew`);
      return null;
    }
    if (!pool.members.some((x) => x.backendIndex === a.backendIndex)) {
      this.add('affinity', `affinity entry for ${this.c.src.text} → ${name} names a backend no longer in this pool: the scheduler picks anew`);
      return null;
    }
    this.add('affinity', `ClientIP affinity pins ${this.c.src.text} to ${name}`, [`age ${age} ms < timeout ${a.timeoutMs} ms; refreshed by this connection`]);
    return { verdict: 'backend', via: 'affinity', servicePortIndex: m.servicePortIndex, backendIndex: a.backendIndex, detail: -1 };
  }

  scheduler(m: PoolMatch, pool: PoolState): Prediction {
    const sp = this.port(m.servicePortIndex);
    const label = (k: number): string => backendKey(sp.backends[pool.members[k]!.backendIndex]!);
    const r = schedulerArithmetic(pool, {
      srcFold: foldAddress(this.c.src), srcPort: this.c.srcPort, dstFold: foldAddress(this.c.dst),
      randomState: this.view.randomState(), tableEntry: (i) => this.view.tableEntry(m.pool, i), label,
    });
    this.add('scheduler', r.pick >= 0 ? `${pool.scheduler} picks ${label(r.pick)} (list position ${r.pick})` : `${pool.scheduler} finds no destination`, r.lines);
    if (r.pick < 0) return { verdict: 'reject', via: 'none', servicePortIndex: m.servicePortIndex, backendIndex: -1, detail: r.detail };
    return { verdict: 'backend', via: 'scheduler', servicePortIndex: m.servicePortIndex, backendIndex: pool.members[r.pick]!.backendIndex, detail: r.detail };
  }

  predict(): Prediction {
    const pinned = this.flow();
    const m = this.match();
    if (pinned) return pinned;
    if (!m) return { verdict: 'pass', via: 'none', servicePortIndex: -1, backendIndex: -1, detail: -1 };
    const sp = this.port(m.servicePortIndex);
    if (m.kind === 'loadBalancerIP') {
      const check = sourceRangeCheck(sp.loadBalancerSourceRanges, this.c.src);
      this.add('source-ranges', check.summary, check.lines);
      if (!check.allowed) return { verdict: 'drop', via: 'none', servicePortIndex: m.servicePortIndex, backendIndex: -1, detail: -1 };
    }
    const pool = this.view.pool(m.pool);
    return this.endpoints(m, pool) ?? this.affinity(m, pool) ?? this.scheduler(m, pool);
  }
}

function same(p: Prediction, verdict: VerdictName, via: ViaName, sp: number, b: number, detail: number): boolean {
  if (p.verdict !== verdict || p.via !== via) return false;
  if (verdict === 'pass') return true;
  if (via !== 'flow' && p.servicePortIndex !== sp) return false;
  return p.backendIndex === b && (via !== 'scheduler' || p.detail === detail);
}

/**
 * Explains one new connection and makes it on `engine` (state carries to the next call, as in
 * `simulate`). Throws ExplainMismatchError when the prediction and the engine disagree.
 */
export function explainConnect(engine: EngineApi, c: ExplainConnection): ExplainTrace {
  const tracer = new Tracer(engine.stateView(), engine, c);
  const p = tracer.predict();
  const d = engine.connect(PROTOCOL_NUMBER[c.protocol], c.src, c.srcPort, c.dst, c.dstPort, c.nowMs);
  const verdict = VERDICTS[d.verdict] ?? 'pass';
  const via = VIAS[d.via] ?? 'none';
  const sp = d.servicePort;
  const backend = d.backend ? backendKey(d.backend) : null;
  if (!same(p, verdict, via, d.servicePortIndex, d.backendIndex, d.detail)) {
    throw new ExplainMismatchError(`explain predicted ${p.verdict} via ${p.via} (service port #${p.servicePortIndex}, backend #${p.backendIndex}, detail ${p.detail}) ` +
      `but the engine decided ${verdict} via ${via} (service port #${d.servicePortIndex}, backend #${d.backendIndex}, detail ${d.detail}) for ${hostPort(c.src, c.srcPort)} → ${hostPort(c.dst, c.dstPort)}/${c.protocol}`);
  }
  if (verdict === 'backend') tracer.add('verdict', `→ ${backend} (via ${via})`);
  else if (verdict === 'pass') tracer.add('verdict', 'pass: not a Service address, the packet goes on unchanged');
  else if (!tracer.steps.some((s) => s.step === 'verdict')) {
    tracer.add('verdict', verdict === 'drop' ? 'dropped: the source is outside loadBalancerSourceRanges' : 'rejected: the scheduler found no destination with weight > 0');
  }
  return {
    from: hostPort(c.src, c.srcPort),
    to: hostPort(c.dst, c.dstPort),
    protocol: c.protocol,
    atMs: c.nowMs,
    service: sp ? servicePortKey(sp) : null,
    scheduler: sp ? (engine.model.servicePorts[d.servicePortIndex]?.scheduler ?? null) : null,
    verdict,
    via,
    backend,
    backendIndex: d.backendIndex,
    detail: d.detail,
    steps: tracer.steps,
  };
}
