/**
 * Where ClusterIP / NodePort / LoadBalancer allocations persist, so a restart hands every Service
 * the same addresses and ports. The in-memory store lives here (browser-safe); the file-backed one
 * is host/sources/allocation-file.ts.
 */

/** Keys: services `ns/name`; ports `ns/name:<portName or #port>/<PROTOCOL>`. */
export interface AllocationState {
  clusterIPs: Record<string, string[]>;
  nodePorts: Record<string, number>;
  healthCheckNodePorts: Record<string, number>;
  loadBalancerIPs: Record<string, string[]>;
}

export interface AllocationStore {
  load(): AllocationState;
  /** Called only when the state changed. */
  save(state: AllocationState): void;
}

export function emptyAllocationState(): AllocationState {
  return { clusterIPs: {}, nodePorts: {}, healthCheckNodePorts: {}, loadBalancerIPs: {} };
}

/** Normalise untrusted JSON into an AllocationState, dropping malformed entries. */
export function sanitizeAllocationState(v: unknown): AllocationState {
  const out = emptyAllocationState();
  if (typeof v !== 'object' || v === null) return out;
  const o = v as Record<string, unknown>;
  const strList = (x: unknown): string[] | undefined =>
    Array.isArray(x) && x.every((y) => typeof y === 'string') ? (x as string[]) : undefined;
  for (const key of ['clusterIPs', 'loadBalancerIPs'] as const) {
    for (const [k, x] of Object.entries((o[key] as Record<string, unknown>) ?? {})) {
      const l = strList(x);
      if (l) out[key][k] = l;
    }
  }
  for (const key of ['nodePorts', 'healthCheckNodePorts'] as const) {
    for (const [k, x] of Object.entries((o[key] as Record<string, unknown>) ?? {})) {
      if (typeof x === 'number' && Number.isInteger(x)) out[key][k] = x;
    }
  }
  return out;
}

export class MemoryAllocationStore implements AllocationStore {
  private state: AllocationState;
  saves = 0;
  constructor(initial?: AllocationState) {
    this.state = structuredClone(initial ?? emptyAllocationState());
  }
  load(): AllocationState {
    return structuredClone(this.state);
  }
  save(state: AllocationState): void {
    this.saves++;
    this.state = structuredClone(state);
  }
}
