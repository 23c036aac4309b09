/**
 * One IPVS virtual service per service address, as kube-proxy's IPVS proxier and vipwasm's ipvs
 * exporter program the kernel (reference/kube-proxy.md §2): each clusterIP, externalIP and LB
 * ingress IP at the service port, and each node IP at the nodePort, is its own `ip_vs_service`
 * with its own destination list, scheduler state (rr position, wrr mark, dh/sh/mh table) and its
 * own `ip_vs_dest` objects, so its own activeconns/inactconns and last_weight.
 *
 * Across snapshots a virtual service changes only through the commands the exporter issues
 * (host/rules/ipvs-sync.ts), replayed here on the kernel model with the kernel's hooks:
 *   - a new address, or a changed scheduler (`-D` then `-A`): created empty, then `-a` for each
 *     backend in descending engine order, so the list ends in engine order (head first);
 *   - otherwise `-E` when only the flags changed, then `-d` for each backend that left (engine order), `-e` for each changed weight
 *     (engine order), then `-a` for each backend that joined, in descending engine order: the
 *     kernel inserts each at the head (`list_add_rcu` in `__ip_vs_update_dest`), so the joiners
 *     end up first, in engine order, ahead of the survivors in their previous order.
 */
import { parseAddress } from '../../host/engine/address.js';
import { compareBackends, type ModelBackend, type ModelServicePort } from '../../host/engine/model.js';
import type { RefDest } from './dest.js';
import type { XorShift32 } from './random.js';
import { createScheduler, destId, newDest, RefVirtualService, type DestSpec } from './virtual-service.js';

/** A virtual service's identity: destination address (canonical text) and port. */
export function vsKey(ip: string, port: number): string {
  return destId(parseAddress(ip).text, port);
}

/** One service address as a virtual service: its key and which endpoint set it balances over. */
export interface ServiceAddress {
  readonly key: string;
  readonly family: 4 | 6;
  readonly set: 'cluster' | 'external';
}

/** Every address of the port in the engine's pool order: clusterIPs, externalIPs, LB IPs, node IPs at the nodePort. */
export function serviceAddresses(sp: ModelServicePort, nodeIPs: readonly string[]): ServiceAddress[] {
  const at = (ip: string, port: number, set: ServiceAddress['set']): ServiceAddress => ({ key: vsKey(ip, port), family: parseAddress(ip).family, set });
  return [
    ...sp.clusterIPs.map((ip) => at(ip, sp.port, 'cluster')),
    ...sp.externalIPs.map((ip) => at(ip, sp.port, 'external')),
    ...sp.loadBalancerIPs.map((ip) => at(ip, sp.port, 'external')),
    ...(sp.nodePort !== 0 ? nodeIPs.map((ip) => at(ip, sp.nodePort, 'external')) : []),
  ];
}

/** The real servers the exporter wants behind `address`, in engine order. */
export function wantedDests(sp: ModelServicePort, address: ServiceAddress): ModelBackend[] {
  return sp.backends.filter((b) => b[address.set] && parseAddress(b.ip).family === address.family);
}

const byEngineOrder = (a: RefDest, b: RefDest): number => compareBackends({ ip: a.addr.text, port: a.port }, { ip: b.addr.text, port: b.port });

/** `ipvsadm -d / -e / -a` on an existing virtual service, in the exporter's order (see the file comment). */
export function replaySync(svc: RefVirtualService, wanted: readonly DestSpec[]): void {
  const want = new Map(wanted.map((s) => [destId(parseAddress(s.ip).text, s.port), s]));
  for (const d of svc.list.filter((x) => !want.has(x.id)).sort(byEngineOrder)) svc.remove(d.id);
  for (const [id, s] of want) {
    const d = svc.list.find((x) => x.id === id);
    if (d && d.weight !== s.weight) svc.setWeight(id, s.weight);
  }
  for (const [id, s] of [...want].reverse()) if (!svc.list.some((x) => x.id === id)) svc.add(s);
}

/** A new virtual service holding `wanted` in engine order, built as the exporter builds it. */
export function freshService(sp: ModelServicePort, wanted: readonly DestSpec[], rng: XorShift32): RefVirtualService {
  const scheduler = createScheduler(sp.scheduler, sp.schedulerFlags, rng);
  // Only wrr's state depends on the build order (§4); the others end the same when bound at once.
  const dests = wanted.map(newDest);
  return sp.scheduler === 'wrr' ? RefVirtualService.addedTailFirst(scheduler, dests) : RefVirtualService.boundTo(scheduler, dests);
}

/**
 * The port's virtual services for this snapshot, by key: each address's previous service synced
 * (same scheduler) or a fresh one. Counters start at zero; the caller recounts surviving flows.
 */
export function syncServices(
  sp: ModelServicePort,
  nodeIPs: readonly string[],
  previous: { readonly sp: ModelServicePort; readonly vss: ReadonlyMap<string, RefVirtualService> } | undefined,
  rng: XorShift32,
): Map<string, RefVirtualService> {
  const vss = new Map<string, RefVirtualService>();
  for (const address of serviceAddresses(sp, nodeIPs)) {
    // The same address twice: the first claim wins, as in the engine's match table.
    if (vss.has(address.key)) continue;
    const wanted = wantedDests(sp, address).map((b) => ({ ip: b.ip, port: b.port, weight: b.weight }));
    const before = previous?.sp.scheduler === sp.scheduler ? previous.vss.get(address.key) : undefined;
    let svc: RefVirtualService;
    if (before) {
      before.editFlags(sp.schedulerFlags);
      replaySync(before, wanted);
      svc = before;
    } else {
      svc = freshService(sp, wanted, rng);
    }
    for (const d of svc.list) d.active = d.inactive = 0;
    vss.set(address.key, svc);
  }
  return vss;
}
