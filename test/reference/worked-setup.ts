/**
 * The setup shared by every worked example of reference/ipvs-schedulers.md §9:
 * A = 10.0.0.1:8080 (w 1), B = 10.0.0.2:8080 (w 2), C = 10.0.0.3:8080 (w 3), added A, B, C,
 * so the kernel's list is C, B, A.
 */
import { parseAddress } from '../../host/engine/address.js';
import type { RefDest, RefPacket } from './dest.js';
import { createScheduler, RefVirtualService, type DestSpec, type ExactScheduler } from './virtual-service.js';
import type { SchedulerFlags } from '../../host/engine/model.js';

export const A: DestSpec = { ip: '10.0.0.1', port: 8080, weight: 1 };
export const B: DestSpec = { ip: '10.0.0.2', port: 8080, weight: 2 };
export const C: DestSpec = { ip: '10.0.0.3', port: 8080, weight: 3 };
export const ADD_ORDER = [A, B, C];
export const KERNEL_ORDER = [C, B, A];

const NAMES: Record<string, string> = { '10.0.0.1:8080': 'A', '10.0.0.2:8080': 'B', '10.0.0.3:8080': 'C' };

/** 'A' | 'B' | 'C' for a chosen server, '-' for none. */
export function letter(d: RefDest | null): string {
  return d ? (NAMES[d.id] ?? d.id) : '-';
}

/** A packet from `client` (port `clientPort`) to `vip`. */
export function packet(client: string, clientPort = 0, vip = '10.96.0.1'): RefPacket {
  return { client: parseAddress(client), clientPort, vip: parseAddress(vip) };
}

/** The service as `ipvsadm -A` then `-a` A, B, C: the scheduler sees each add. */
export function serviceBuiltByAdding(name: ExactScheduler, flags?: SchedulerFlags, specs = ADD_ORDER): RefVirtualService {
  return RefVirtualService.builtByAdding(createScheduler(name, flags), specs);
}

/** The same list, with the scheduler bound afterwards (`ipvsadm -E -s`), as an engine snapshot load does. */
export function serviceBound(name: ExactScheduler, flags?: SchedulerFlags, headFirst = KERNEL_ORDER): RefVirtualService {
  return RefVirtualService.bound(createScheduler(name, flags), headFirst);
}

/**
 * Schedule `n` connections; each chosen server counts it as active (a TCP connection that stays
 * open) or inactive (a UDP flow). Returns the letters picked.
 */
export function pick(svc: RefVirtualService, n: number, as: 'active' | 'inactive' | 'none' = 'none', p = packet('192.0.2.1')): string {
  let out = '';
  for (let k = 0; k < n; k++) {
    const { dest } = svc.schedule(p);
    if (dest && as === 'active') dest.active++;
    if (dest && as === 'inactive') dest.inactive++;
    out += letter(dest);
  }
  return out;
}
