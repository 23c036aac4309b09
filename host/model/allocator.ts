/**
 * ClusterIP, NodePort, healthCheckNodePort and LoadBalancer-ingress allocation for Services that
 * lack them, as the apiserver's allocators (and MetalLB for the pool) would do, made stable:
 * a Service keeps what the store recorded for it; a new one gets a hash-probed address/port
 * derived from its name, so results do not depend on file order. Explicit values conflicting with
 * an earlier object reject the later object.
 */
import { FieldErrors } from './fields.js';
import { type AllocationState, emptyAllocationState } from './allocation-store.js';
import { type IPRange, bigToIP, fnv64, ipToBig, rangeContains, rangeSize } from './ip-range.js';
import type { ServiceSpec } from './service.js';
import type { Diagnostic } from './types.js';

export interface Allocation {
  readonly clusterIPs: readonly string[];
  /** Indexed like spec.ports; 0 = none. */
  readonly nodePorts: readonly number[];
  readonly healthCheckNodePort: number;
  /** Pool-assigned ingress IPs (only when status.loadBalancer.ingress is empty). */
  readonly loadBalancerIPs: readonly string[];
}

export interface AllocatorConfig {
  /** Ranges new ClusterIPs come from, tried in this order (the default Service CIDR first). */
  readonly serviceRanges: readonly IPRange[];
  /** Ranges a given ClusterIP may be in (default: serviceRanges); terminating ServiceCIDRs stay valid. */
  readonly validRanges?: readonly IPRange[];
  readonly nodePortRange: readonly [number, number];
  readonly pool: readonly IPRange[];
  /** Given values come from an API server: no range checks (conflicts are still checked). */
  readonly trustAllocations?: boolean;
}

export interface AllocationResult {
  readonly allocations: Map<string, Allocation>;
  readonly diagnostics: Diagnostic[];
  readonly state: AllocationState;
}

export function portAllocationKey(svc: ServiceSpec, i: number): string {
  const p = svc.ports[i]!;
  return `${svc.key}:${p.name || `#${p.port}`}/${p.protocol}`;
}

function needsNodePorts(svc: ServiceSpec): boolean {
  return svc.type === 'NodePort' || (svc.type === 'LoadBalancer' && svc.allocateLoadBalancerNodePorts);
}

function needsHealthCheck(svc: ServiceSpec): boolean {
  return svc.type === 'LoadBalancer' && svc.externalTrafficPolicy === 'Local';
}

function errorsFor(svc: ServiceSpec): FieldErrors {
  return new FieldErrors(`Service "${svc.key}"`, svc.origin);
}

/**
 * Allocate for every Service. `services` may be in any order; explicit claims are processed in
 * input order (`order`), with an owner recorded in `previous` winning over a newcomer.
 */
export function allocate(services: readonly ServiceSpec[], cfg: AllocatorConfig, previous: AllocationState): AllocationResult {
  const diagnostics: Diagnostic[] = [];
  const ipOwner = new Map<string, string>();
  const portOwner = new Map<number, string>();
  const rejected = new Set<string>();
  const [lo, hi] = cfg.nodePortRange;
  const valid = cfg.validRanges ?? cfg.serviceRanges;
  const validOf = (family: 4 | 6): IPRange[] => valid.filter((r) => r.family === family);

  // Previous owners of explicit values claim first, so a restart never flips who wins a conflict.
  const prevIPOwner = new Map<string, string>();
  for (const [k, ips] of Object.entries(previous.clusterIPs)) for (const ip of ips) prevIPOwner.set(ip, k);
  const prevPortOwner = new Map<number, string>();
  for (const [k, p] of Object.entries(previous.nodePorts)) prevPortOwner.set(p, k.slice(0, k.lastIndexOf(':')));
  for (const [k, p] of Object.entries(previous.healthCheckNodePorts)) prevPortOwner.set(p, k);
  const explicitOrder = [...services].sort((a, b) => claimRank(a) - claimRank(b) || a.order - b.order);
  function claimRank(s: ServiceSpec): number {
    const mine = s.requestedClusterIPs.some((ip) => prevIPOwner.get(ip) === s.key) || s.ports.some((p) => p.nodePort && prevPortOwner.get(p.nodePort) === s.key);
    return mine ? 0 : 1;
  }

  // Phase 0: what the store remembers for each Service, reserved before any explicit claim, so a
  // Service created later that asks for an address or port held since an earlier run is the one
  // rejected (the apiserver's rule), and a restart never moves the earlier Service.
  const sortedAll = [...services].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const reservedIP = new Map<string, string>();
  const reservedPort = new Map<number, string>();
  const reservations = new Map<string, Record<string, string | number>>();
  for (const svc of sortedAll) {
    const got: Record<string, string | number> = {};
    if (svc.type !== 'ExternalName' && !svc.headless) {
      for (const family of svc.ipFamilies) {
        if (svc.requestedClusterIPs.some((ip) => ipToBig(ip).family === family)) continue;
        const ranges = validOf(family);
        const old = (previous.clusterIPs[svc.key] ?? []).find((ip) => ranges.some((r) => rangeContains(r, ip)) && !reservedIP.has(ip));
        if (old) {
          reservedIP.set(old, svc.key);
          got[`ip${family}`] = old;
        }
      }
    }
    svc.ports.forEach((p, i) => {
      if (p.nodePort || !needsNodePorts(svc)) return;
      const old = previous.nodePorts[portAllocationKey(svc, i)];
      if (old !== undefined && old >= lo && old <= hi && !reservedPort.has(old)) {
        reservedPort.set(old, svc.key);
        got[`np${i}`] = old;
      }
    });
    const oldHc = previous.healthCheckNodePorts[svc.key];
    if (!svc.healthCheckNodePort && needsHealthCheck(svc) && oldHc !== undefined && oldHc >= lo && oldHc <= hi && !reservedPort.has(oldHc)) {
      reservedPort.set(oldHc, svc.key);
      got['hc'] = oldHc;
    }
    reservations.set(svc.key, got);
  }
  const heldByOther = <K>(m: Map<K, string>, v: K, key: string): boolean => (m.get(v) ?? key) !== key;

  // Phase 1: explicit clusterIPs, nodePorts, healthCheckNodePort, all or nothing per Service.
  for (const svc of explicitOrder) {
    const errs = errorsFor(svc);
    svc.requestedClusterIPs.forEach((ip) => {
      if (!cfg.trustAllocations && !validOf(ipToBig(ip).family).some((r) => rangeContains(r, ip))) {
        const texts = valid.map((x) => x.text).join(',');
        errs.invalid('spec.clusterIPs', svc.requestedClusterIPs, `failed to allocate IP ${ip}: the provided IP (${ip}) is not in the valid range. The range of valid IPs is ${texts}`);
      } else if (ipOwner.has(ip) || heldByOther(reservedIP, ip, svc.key)) {
        errs.invalid('spec.clusterIPs', svc.requestedClusterIPs, `failed to allocate IP ${ip}: provided IP is already allocated`);
      }
    });
    const explicitPorts = svc.ports.map((p) => p.nodePort).filter((p) => p > 0);
    if (svc.healthCheckNodePort) explicitPorts.push(svc.healthCheckNodePort);
    svc.ports.forEach((p, i) => {
      if (p.nodePort && (portOwner.has(p.nodePort) || heldByOther(reservedPort, p.nodePort, svc.key)))
        errs.invalid(`spec.ports[${i}].nodePort`, p.nodePort, 'provided port is already allocated');
    });
    if (svc.healthCheckNodePort) {
      const hc = svc.healthCheckNodePort;
      if (!cfg.trustAllocations && (hc < lo || hc > hi)) errs.invalid('spec.healthCheckNodePort', hc, `provided port is not in the valid range. The range of valid ports is ${lo}-${hi}`);
      else if (portOwner.has(hc) || heldByOther(reservedPort, hc, svc.key) || svc.ports.some((p) => p.nodePort === hc))
        errs.invalid('spec.healthCheckNodePort', hc, 'provided port is already allocated');
    }
    if (errs.failed) {
      rejected.add(svc.key);
      diagnostics.push(...errs.list);
      continue;
    }
    for (const ip of svc.requestedClusterIPs) ipOwner.set(ip, svc.key);
    for (const p of explicitPorts) portOwner.set(p, svc.key);
  }

  // Phase 2: the reservations of the Services that passed phase 1 become theirs (a rejected
  // Service's remembered values are free again). A value the Service now also asks for
  // explicitly on another port is not taken twice.
  const sorted = sortedAll.filter((s) => !rejected.has(s.key));
  const lbOwner = new Map<string, string>();
  // Ingress IPs already in status (given by the manifest) are taken before any pool pick.
  for (const svc of sorted) for (const ing of svc.ingress) if (ing.ip) lbOwner.set(ing.ip, svc.key);
  const partial = new Map<string, Partial<Record<string, string | number | string[]>>>();
  for (const svc of sorted) {
    const got: Record<string, string | number | string[]> = {};
    for (const [slot, v] of Object.entries(reservations.get(svc.key) ?? {})) {
      if (typeof v === 'string') {
        if (ipOwner.has(v)) continue;
        ipOwner.set(v, svc.key);
      } else {
        if (portOwner.has(v)) continue;
        portOwner.set(v, svc.key);
      }
      got[slot] = v;
    }
    if (svc.type === 'LoadBalancer' && svc.ingress.length === 0 && !svc.loadBalancerIP) {
      const inPool = (ip: string): boolean => cfg.pool.some((r) => rangeContains(r, ip));
      const old = (previous.loadBalancerIPs[svc.key] ?? []).find((ip) => inPool(ip) && !lbOwner.has(ip));
      if (old) {
        lbOwner.set(old, svc.key);
        got['lb'] = [old];
      }
    }
    partial.set(svc.key, got);
  }

  // Phase 3: fill in the rest: hash-probed clusterIPs and nodePorts, lowest free pool address.
  const state = emptyAllocationState();
  const allocations = new Map<string, Allocation>();
  for (const svc of sorted) {
    const got = partial.get(svc.key)!;
    const errs = errorsFor(svc);
    const clusterIPs = allocateClusterIPs(svc, cfg, got, ipOwner, errs);
    const nodePorts = svc.ports.map((p, i) => {
      if (p.nodePort || !needsNodePorts(svc)) return p.nodePort;
      return (got[`np${i}`] as number | undefined) ?? allocatePort(portAllocationKey(svc, i), lo, hi, portOwner, svc.key, errs, `spec.ports[${i}].nodePort`);
    });
    let healthCheckNodePort = svc.healthCheckNodePort;
    if (!healthCheckNodePort && needsHealthCheck(svc))
      healthCheckNodePort = (got['hc'] as number | undefined) ?? allocatePort(svc.key, lo, hi, portOwner, svc.key, errs, 'spec.healthCheckNodePort');
    const loadBalancerIPs = svc.type === 'LoadBalancer' && svc.ingress.length === 0 ? ((got['lb'] as string[] | undefined) ?? allocateIngress(svc, cfg, lbOwner)) : [];
    if (errs.failed) {
      diagnostics.push(...errs.list);
      continue;
    }
    allocations.set(svc.key, { clusterIPs, nodePorts, healthCheckNodePort, loadBalancerIPs });
    // Explicit values are recorded too: the recorded owner wins a later conflict after a restart.
    if (clusterIPs.length) state.clusterIPs[svc.key] = [...clusterIPs];
    svc.ports.forEach((_, i) => {
      if (nodePorts[i]) state.nodePorts[portAllocationKey(svc, i)] = nodePorts[i]!;
    });
    if (healthCheckNodePort) state.healthCheckNodePorts[svc.key] = healthCheckNodePort;
    if (loadBalancerIPs.length) state.loadBalancerIPs[svc.key] = [...loadBalancerIPs];
  }
  return { allocations, diagnostics, state };
}

function allocateClusterIPs(svc: ServiceSpec, cfg: AllocatorConfig, got: Record<string, unknown>, owner: Map<string, string>, errs: FieldErrors): string[] {
  if (svc.type === 'ExternalName' || svc.headless) return [];
  const out: string[] = [];
  for (const family of svc.ipFamilies) {
    const given = svc.requestedClusterIPs.find((ip) => ipToBig(ip).family === family) ?? (got[`ip${family}`] as string | undefined);
    if (given) {
      out.push(given);
      continue;
    }
    const ranges = cfg.serviceRanges.filter((r) => r.family === family);
    if (ranges.length === 0) {
      errs.invalid('spec.ipFamilies', `IPv${family}`, `no --service-cluster-ip-range or ready ServiceCIDR for IPv${family} to allocate a clusterIP from`);
      continue;
    }
    // The first range with a free address wins (see service-cidr.ts for why this order).
    let ip: string | undefined;
    for (const range of ranges) if ((ip = probeIP(range, `${svc.key}/${family}`, owner))) break;
    if (!ip) {
      errs.invalid('spec.clusterIPs', [], `failed to allocate a serviceIP: range is full (${ranges.map((r) => r.text).join(',')})`);
      continue;
    }
    owner.set(ip, svc.key);
    out.push(ip);
  }
  return out;
}

/** Bounded probe: at most 65536 candidates, then a linear scan from the start is not attempted. */
function probeIP(range: IPRange, seed: string, owner: Map<string, string>): string | undefined {
  const size = rangeSize(range);
  const start = fnv64(seed) % size;
  const tries = size < 65536n ? size : 65536n;
  for (let i = 0n; i < tries; i++) {
    const ip = bigToIP(range.first + ((start + i) % size), range.family);
    if (!owner.has(ip)) return ip;
  }
  return undefined;
}

function allocatePort(key: string, lo: number, hi: number, owner: Map<number, string>, svcKey: string, errs: FieldErrors, field: string): number {
  const size = hi - lo + 1;
  const start = Number(fnv64(key) % BigInt(size));
  for (let i = 0; i < size; i++) {
    const p = lo + ((start + i) % size);
    if (!owner.has(p)) {
      owner.set(p, svcKey);
      return p;
    }
  }
  errs.invalid(field, 0, `failed to allocate a nodePort: range is full (${lo}-${hi})`);
  return 0;
}

/** MetalLB hands out the lowest free address of the pool; loadBalancerIP asks for one in particular. */
function allocateIngress(svc: ServiceSpec, cfg: AllocatorConfig, owner: Map<string, string>): string[] {
  if (cfg.pool.length === 0) return [];
  const inPool = (ip: string): boolean => cfg.pool.some((r) => rangeContains(r, ip));
  const take = (ip: string): string[] => {
    owner.set(ip, svc.key);
    return [ip];
  };
  if (svc.loadBalancerIP) {
    // A requested IP outside the pool, or taken, leaves the Service pending (MetalLB does the same).
    return inPool(svc.loadBalancerIP) && !owner.has(svc.loadBalancerIP) ? take(svc.loadBalancerIP) : [];
  }
  const family = svc.ipFamilies[0] ?? 4;
  for (const r of cfg.pool) {
    if (r.family !== family) continue;
    const size = rangeSize(r);
    const tries = size < 65536n ? size : 65536n;
    for (let i = 0n; i < tries; i++) {
      const ip = bigToIP(r.first + i, r.family);
      if (!owner.has(ip)) return take(ip);
    }
  }
  return [];
}
