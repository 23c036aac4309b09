/**
 * One IPVS virtual service: a destination list kept head first, a scheduler, and the kernel's
 * add / delete / edit operations with their hooks (reference/ipvs-schedulers.md §1).
 */
import { parseAddress } from '../../host/engine/address.js';
import type { SchedulerFlags, SchedulerName } from '../../host/engine/model.js';
import type { RefChoice, RefDest, RefPacket, RefScheduler } from './dest.js';
import { DestinationHashing, MaglevHashing, SourceHashing } from './hashing.js';
import { LeastConnection, NeverQueue, ShortestExpectedDelay, WeightedLeastConnection } from './least-connection.js';
import { RoundRobin, WeightedRoundRobin } from './round-robin.js';
import { WeightedRandom, type XorShift32 } from './random.js';

export type ExactScheduler = Exclude<SchedulerName, 'random'>;

/** A new scheduler instance. `random` needs the engine-wide generator it draws from. */
export function createScheduler(name: SchedulerName, flags: SchedulerFlags = { port: false, fallback: false }, rng?: XorShift32): RefScheduler {
  switch (name) {
    case 'random':
      if (!rng) throw new Error('reference scheduler "random" needs a generator');
      return new WeightedRandom(rng);
    case 'rr': return new RoundRobin();
    case 'wrr': return new WeightedRoundRobin();
    case 'lc': return new LeastConnection();
    case 'wlc': return new WeightedLeastConnection();
    case 'sed': return new ShortestExpectedDelay();
    case 'nq': return new NeverQueue();
    case 'dh': return new DestinationHashing();
    case 'sh': return new SourceHashing(flags.port, flags.fallback);
    case 'mh': return new MaglevHashing(flags.port, flags.fallback);
  }
}

/** What a real server is made of: `ip:port` or `[ip6]:port`, and its weight. */
export interface DestSpec {
  readonly ip: string;
  readonly port: number;
  readonly weight: number;
}

export function destId(ip: string, port: number): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

export function newDest(spec: DestSpec): RefDest {
  const addr = parseAddress(spec.ip);
  return {
    id: destId(addr.text, spec.port),
    addr,
    port: spec.port,
    weight: spec.weight,
    lastWeight: spec.weight,
    active: 0,
    inactive: 0,
    overloaded: false,
  };
}

export class RefVirtualService {
  /** Destination list, head first: the order every scan and table build uses. */
  readonly list: RefDest[] = [];

  private constructor(readonly scheduler: RefScheduler) {}

  /** `ipvsadm -E -s <sched>` on a service whose list already is `headFirst`: init_service sees it whole. */
  static bound(scheduler: RefScheduler, headFirst: readonly DestSpec[]): RefVirtualService {
    const svc = new RefVirtualService(scheduler);
    svc.list.push(...headFirst.map(newDest));
    scheduler.init(svc.list);
    return svc;
  }

  /** Like `bound`, over server objects the caller owns (so several pools can share counters). */
  static boundTo(scheduler: RefScheduler, headFirst: readonly RefDest[]): RefVirtualService {
    const svc = new RefVirtualService(scheduler);
    svc.list.push(...headFirst);
    scheduler.init(svc.list);
    return svc;
  }

  /**
   * The way kube-proxy and the vipwasm ipvs exporter build a service: created empty, then the
   * servers added tail first so the kernel's list ends up as `headFirst`. Only wrr's initial cw
   * depends on this (reference §4, §9.2); every other scheduler ends as `boundTo` would.
   */
  static addedTailFirst(scheduler: RefScheduler, headFirst: readonly RefDest[]): RefVirtualService {
    const svc = new RefVirtualService(scheduler);
    scheduler.init(svc.list);
    for (const d of [...headFirst].reverse()) {
      svc.list.unshift(d);
      scheduler.added(svc.list, d);
    }
    return svc;
  }

  /** An empty service, then `ipvsadm -a` for each server in `addOrder` (so the list ends reversed). */
  static builtByAdding(scheduler: RefScheduler, addOrder: readonly DestSpec[]): RefVirtualService {
    const svc = new RefVirtualService(scheduler);
    scheduler.init(svc.list);
    for (const spec of addOrder) svc.add(spec);
    return svc;
  }

  get(id: string): RefDest {
    const d = this.list.find((x) => x.id === id);
    if (!d) throw new Error(`reference service: no destination ${id}`);
    return d;
  }

  /** `ipvsadm -a`: insert at the head, last_weight = weight (even 0), then add_dest. */
  add(spec: DestSpec): RefDest {
    const d = newDest(spec);
    if (this.list.some((x) => x.id === d.id)) throw new Error(`reference service: ${d.id} already present`);
    this.list.unshift(d);
    this.scheduler.added(this.list, d);
    return d;
  }

  /** `ipvsadm -d`: unlink, then del_dest. */
  remove(id: string): void {
    const d = this.get(id);
    const index = this.list.indexOf(d);
    this.list.splice(index, 1);
    this.scheduler.deleted(this.list, d, index);
  }

  /** `ipvsadm -e -w`: last_weight follows only a non-zero weight; then upd_dest. */
  setWeight(id: string, weight: number): void {
    const d = this.get(id);
    d.weight = weight;
    if (weight !== 0) d.lastWeight = weight;
    this.scheduler.updated(this.list, d);
  }

  /** `ipvsadm -E` with the same scheduler: only the service flags change (sh/mh read them per packet). */
  editFlags(flags: SchedulerFlags): void {
    if (this.scheduler instanceof SourceHashing || this.scheduler instanceof MaglevHashing) {
      this.scheduler.port = flags.port;
      this.scheduler.fallback = flags.fallback;
    }
  }

  schedule(packet: RefPacket): RefChoice {
    return this.scheduler.schedule(this.list, packet);
  }
}
