/**
 * The input of kube-proxy's network-programming latency (pkg/proxy/endpointschangetracker.go):
 * every EndpointSlice change that changed what a Service serves carries the time of the Pod or
 * Service change that triggered it (`endpoints.kubernetes.io/last-change-trigger-time`, set by the
 * EndpointSlice controller); once a sync has installed it, now − that time is observed.
 *
 * As kube-proxy does: a change triggered before the tracker started is ignored (its latency
 * would include our own start-up and initial list), a slice that did not change what its Service
 * serves records nothing, and a deleted slice drops its Service's pending times (the annotation of
 * a deleted object says when it was last updated, not when it was deleted).
 *
 * Several data planes may read one tracker (`rules --watch` runs one per IP family): each keeps
 * its own cursor, and each observes every time once.
 */
import type { KubeObject } from '../model/index.js';

export const TRIGGER_TIME_ANNOTATION = 'endpoints.kubernetes.io/last-change-trigger-time';
const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';
/** Bound on times kept for readers that never sync (a broken data plane): the oldest go first. */
const MAX_PENDING = 100_000;

interface SliceVersion {
  readonly object: KubeObject;
  readonly service: string;
}

export class TriggerTimes {
  private slices = new Map<string, SliceVersion>();
  /** Times in arrival order, with the Service they belong to; times[0] has sequence `base`. */
  private times: { service: string; ms: number }[] = [];
  private base = 0;
  private readonly cursors = new Set<TriggerCursor>();

  constructor(private readonly startedMs: number = Date.now()) {}

  /** A reader (one data plane) starting at the current end. */
  cursor(): TriggerCursor {
    const c = new TriggerCursor(this);
    this.cursors.add(c);
    return c;
  }

  /** Sequence number after the last recorded time: a reader's cursor starts here. */
  get end(): number {
    return this.base + this.times.length;
  }

  /**
   * A source snapshot that changed these service ports (`ns/name` or `ns/name:port` keys, as
   * ServiceChanges lists them). Slices are compared by object: sources hand over the same object
   * for as long as it is unchanged.
   */
  observe(objects: readonly KubeObject[], changedPorts: readonly string[]): void {
    const changed = new Set(changedPorts.map((k) => serviceOfPortKey(k)));
    const next = new Map<string, SliceVersion>();
    for (const object of objects) {
      if (object.kind !== 'EndpointSlice') continue;
      const namespace = object.metadata?.namespace || 'default';
      const service = object.metadata?.labels?.[SERVICE_NAME_LABEL];
      if (!service) continue;
      const version = { object, service: `${namespace}/${service}` };
      const key = `${namespace}/${object.metadata?.name ?? ''}`;
      next.set(key, version);
      if (this.slices.get(key)?.object === object || !changed.has(version.service)) continue;
      const ms = Date.parse(object.metadata?.annotations?.[TRIGGER_TIME_ANNOTATION] ?? '');
      if (Number.isFinite(ms) && ms > this.startedMs) this.times.push({ service: version.service, ms });
    }
    for (const [key, gone] of this.slices) {
      if (!next.has(key)) this.drop(gone.service);
    }
    this.slices = next;
    if (this.times.length > MAX_PENDING) this.trim(this.end - MAX_PENDING);
  }

  /** The times recorded in [from, to), still pending; a dropped time leaves no hole in the numbering. */
  between(from: number, to: number): number[] {
    const out: number[] = [];
    for (let i = Math.max(from, this.base); i < to && i < this.end; i++) {
      const t = this.times[i - this.base]!;
      if (t.ms > 0) out.push(t.ms);
    }
    return out;
  }

  /** A reader moved on: forget what every reader has observed. */
  taken(): void {
    let min = this.end;
    for (const c of this.cursors) min = Math.min(min, c.position);
    this.trim(min);
  }

  /** Forgets every time before `seq`. */
  private trim(seq: number): void {
    if (seq <= this.base) return;
    this.times.splice(0, Math.min(seq - this.base, this.times.length));
    this.base = seq;
  }

  private drop(service: string): void {
    for (const t of this.times) if (t.service === service) t.ms = 0;
  }
}

/**
 * One data plane's view of a TriggerTimes (made by `TriggerTimes.cursor()`): `take()` returns what arrived since its last take, up
 * to the point where its sync started. Call `mark()` when a sync starts and `take()` after it
 * succeeded; a failed sync takes nothing, so the next successful one observes the times.
 */
export class TriggerCursor {
  private at: number;
  private marked: number;

  constructor(private readonly source: TriggerTimes) {
    this.at = source.end;
    this.marked = this.at;
  }

  mark(): void {
    this.marked = this.source.end;
  }

  take(): number[] {
    const out = this.source.between(this.at, this.marked);
    this.at = this.marked;
    this.source.taken();
    return out;
  }

  get position(): number {
    return this.at;
  }
}

/** `ns/name:port` → `ns/name` (an unnamed port's key is `ns/name` already). */
function serviceOfPortKey(key: string): string {
  const colon = key.indexOf(':');
  return colon < 0 ? key : key.slice(0, colon);
}
