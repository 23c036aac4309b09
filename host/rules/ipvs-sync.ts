/**
 * ipvs mode's partial sync: the ipvsadm commands that take the installed virtual services to the
 * rendered ones, and the kernel's destination lists after them. Pure and browser-safe.
 *
 * The commands follow the order contract the engine also follows (engine/pool-carry.ts, issue 17),
 * so the kernel's list order, rr position, wrr mark and dh/sh/mh tables match the engine's pools
 * after every kind of change:
 * - a new virtual service: `-A`, then `-a` in reverse engine order (the kernel inserts each at the
 *   head, `list_add_rcu` in `__ip_vs_update_dest`), so it lists its servers in engine order;
 * - a changed scheduler: `-D`, then as new (binding a scheduler to a live list with `-E` would
 *   start wrr at cw = mw, where a freshly built service starts at the build-order cw);
 * - changed flags or persistence only: `-E` (no scheduler hook runs);
 * - then per real server: `-d` for each that left (engine order), `-e` for each changed weight
 *   (engine order), `-a` for each that joined (reverse engine order), so joiners head the list in
 *   engine order and survivors keep their places;
 * - `-D` for each virtual service no longer rendered.
 * kube-proxy itself adds new real servers in Go map order (syncEndpoint ranges over a set), so
 * its kernel order is not reproducible; this exporter's is.
 */
import { compareBackends } from '../engine/model.js';
import { addRealServerLine, createLines, type IpvsRealServer, type IpvsVirtualService } from './render-ipvs.js';

/** What the kernel holds for one virtual service after our commands: servers head first. */
export interface InstalledVirtualService {
  readonly service: string;
  readonly scheduler: string;
  readonly options: string;
  /** The kernel's destination list, head first. */
  readonly servers: readonly IpvsRealServer[];
}

/** Installed virtual services by identity (`-t 10.96.0.10:80`). */
export type IpvsInstalled = ReadonlyMap<string, InstalledVirtualService>;

export interface IpvsSyncPlan {
  /** `ipvsadm-restore` lines, in order; empty when nothing changed. */
  readonly lines: readonly string[];
  /** The kernel's state once the lines have run. */
  readonly installed: IpvsInstalled;
}

const engineOrder = (a: IpvsRealServer, b: IpvsRealServer): number => compareBackends(a, b);

/** The state a fresh build (`createLines` for each service) leaves: every list in engine order. */
export function installedFresh(services: readonly IpvsVirtualService[]): IpvsInstalled {
  const installed = new Map<string, InstalledVirtualService>();
  for (const vs of services) if (!installed.has(vs.service)) installed.set(vs.service, { ...vs });
  return installed;
}

/** `-d` / `-e` / `-a` for one existing virtual service, and its list afterwards. */
function syncServers(vs: IpvsVirtualService, before: InstalledVirtualService, lines: string[]): IpvsRealServer[] {
  const wanted = new Map(vs.servers.map((rs) => [rs.server, rs]));
  const had = new Map(before.servers.map((rs) => [rs.server, rs]));
  for (const rs of before.servers.filter((x) => !wanted.has(x.server)).sort(engineOrder)) lines.push(`-d ${vs.service} -r ${rs.server}`);
  for (const rs of vs.servers) {
    const old = had.get(rs.server);
    if (old && old.weight !== rs.weight) lines.push(`-e ${vs.service} -r ${rs.server} -m -w ${rs.weight}`);
  }
  const joined = vs.servers.filter((rs) => !had.has(rs.server));
  for (const rs of [...joined].reverse()) lines.push(addRealServerLine(vs, rs));
  const survivors = before.servers.filter((rs) => wanted.has(rs.server)).map((rs) => wanted.get(rs.server)!);
  return [...joined, ...survivors];
}

/**
 * The commands that take `installed` to `services` (render order), and the resulting state.
 * Preconditions: `installed` is what the kernel holds (our own previous plan's `installed`).
 */
export function planIpvsSync(installed: IpvsInstalled, services: readonly IpvsVirtualService[]): IpvsSyncPlan {
  const lines: string[] = [];
  const next = new Map<string, InstalledVirtualService>();
  const rendered = new Set(services.map((vs) => vs.service));
  for (const service of installed.keys()) if (!rendered.has(service)) lines.push(`-D ${service}`);
  for (const vs of services) {
    if (next.has(vs.service)) continue;
    const before = installed.get(vs.service);
    if (!before || before.scheduler !== vs.scheduler) {
      if (before) lines.push(`-D ${vs.service}`);
      lines.push(...createLines(vs));
      next.set(vs.service, { ...vs });
      continue;
    }
    if (before.options !== vs.options) lines.push(`-E ${vs.service} ${vs.options}`);
    next.set(vs.service, { ...vs, servers: syncServers(vs, before, lines) });
  }
  return { lines, installed: next };
}
