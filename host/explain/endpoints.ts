/**
 * Why each endpoint of a Service port is in or out of the pool a connection is scheduled over.
 * Membership itself is the engine's (the pool's destinations, read through the state view); the
 * reasons follow kube-proxy's CategorizeEndpoints as host/model/categorize.ts applies it: ready →
 * serving-and-terminating fallback (KEP-1669), Local traffic policy, topology hints /
 * trafficDistribution, and the pool's own IP family (one proxier per family).
 */
import type { ModelBackend, ModelServicePort } from '../engine/model.js';
import { backendKey } from '../engine/model.js';
import type { PoolState } from '../engine/state-view.js';

export interface EndpointVerdict {
  readonly backend: string;
  readonly in: boolean;
  /** Kernel list position in the pool, -1 when out. */
  readonly position: number;
  readonly weight: number;
  readonly reason: string;
}

/** The traffic policy that applies through an address of this kind. */
export function policyFor(sp: ModelServicePort, external: boolean): { field: string; value: 'Cluster' | 'Local' } {
  return external
    ? { field: 'externalTrafficPolicy', value: sp.externalTrafficPolicy }
    : { field: 'internalTrafficPolicy', value: sp.internalTrafficPolicy };
}

const conditions = (b: ModelBackend): string =>
  `ready=${b.ready} serving=${b.serving} terminating=${b.terminating}`;

function whyIn(b: ModelBackend, sp: ModelServicePort, external: boolean): string {
  const policy = policyFor(sp, external);
  const state = b.ready ? 'ready' : 'serving and terminating: the fallback used because no endpoint of the set is ready (KEP-1669)';
  const where = policy.value === 'Local' ? `; local to this node (${policy.field}: Local)` : '';
  const quiesced = b.weight === 0 ? '; but weight 0: schedulers never pick it (quiesced or ejected)' : '';
  return `${state}${where}${quiesced}`;
}

function whyOut(b: ModelBackend, sp: ModelServicePort, external: boolean, family: 4 | 6): string {
  const isV6 = b.ip.includes(':');
  if ((family === 6) !== isV6) return `IPv${isV6 ? 6 : 4} endpoint: this is an IPv${family} address, balanced by its own family's proxier`;
  const policy = policyFor(sp, external);
  if (policy.value === 'Local' && !b.local) return `not on this node (node ${b.nodeName ?? 'unknown'}), and ${policy.field} is Local`;
  if (!b.ready && !(b.serving && b.terminating)) return `not ready and not serving (${conditions(b)})`;
  if (!b.ready) return `terminating (${conditions(b)}): used only when no endpoint is ready, and some are`;
  if (policy.value === 'Local') return `local and ready, but a local ready endpoint set excludes it (${conditions(b)})`;
  return `ready, but not hinted for this node${b.zone ? ` (its zone ${b.zone})` : ''}: topology-aware routing / trafficDistribution keeps traffic near`;
}

/** Each endpoint of the port, in model order, with whether the pool holds it and why. */
export function endpointVerdicts(sp: ModelServicePort, pool: PoolState, external: boolean, family: 4 | 6): EndpointVerdict[] {
  const position = new Map(pool.members.map((m) => [m.backendIndex, m] as const));
  return sp.backends.map((b, i) => {
    const m = position.get(i);
    return m
      ? { backend: backendKey(b), in: true, position: m.position, weight: m.weight, reason: whyIn(b, sp, external) }
      : { backend: backendKey(b), in: false, position: -1, weight: b.weight, reason: whyOut(b, sp, external, family) };
  });
}
