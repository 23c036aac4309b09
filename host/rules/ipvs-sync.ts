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

/**
 * What the kernel holds for the virtual services of one family, from `ipvsadm -Sn`: each
 * service's scheduler and its real servers with their weights. As sets: ipvsadm sorts its output
 * unless told --nosort, so the order of the lines is not the kernel's list order.
 */
export interface SavedVirtualService {
  readonly scheduler: string;
  /** `ip:port` (`[ip6]:port`) → weight. */
  readonly servers: ReadonlyMap<string, number>;
}

export function parseIpvsSave(text: string, family: 4 | 6): Map<string, SavedVirtualService> {
  const saved = new Map<string, { scheduler: string; servers: Map<string, number> }>();
  for (const m of text.matchAll(/^-([Aa]) (-t|-u|--sctp-service) (\S+)(.*)$/gm)) {
    const service = `${m[2]} ${m[3]}`;
    if ((m[3]!.startsWith('[') ? 6 : 4) !== family) continue;
    const rest = m[4]!;
    if (m[1] === 'A') {
      saved.set(service, { scheduler: /(?:^| )-s (\S+)/.exec(rest)?.[1] ?? '', servers: new Map() });
    } else {
      const server = /(?:^| )-r (\S+)/.exec(rest)?.[1];
      if (server) saved.get(service)?.servers.set(server, Number(/(?:^| )-w (\d+)/.exec(rest)?.[1] ?? 1));
    }
  }
  return saved;
}

export interface IpvsDrift {
  /** Installed services the kernel no longer holds as we left them (scheduler or servers changed, or gone). */
  readonly changed: readonly string[];
  /** Services of this family in the kernel that we did not install. */
  readonly foreign: readonly string[];
}

/**
 * How the kernel differs from what our commands left (`installed`): changes made behind our back,
 * by an administrator or another tool, that the next sync must undo as kube-proxy's does.
 */
export function ipvsDrift(installed: IpvsInstalled, saved: ReadonlyMap<string, SavedVirtualService>): IpvsDrift {
  const changed: string[] = [];
  for (const [service, vs] of installed) {
    const now = saved.get(service);
    const same = now !== undefined && now.scheduler === vs.scheduler && now.servers.size === vs.servers.length &&
      vs.servers.every((rs) => now.servers.get(rs.server) === rs.weight);
    if (!same) changed.push(service);
  }
  const foreign = [...saved.keys()].filter((service) => !installed.has(service));
  return { changed, foreign };
}

/**
 * Undoes `drift`: `-D` for each changed service the kernel still holds and each foreign one,
 * and the installed state without the changed services, so that planIpvsSync rebuilds them from
 * nothing (their lists in engine order again; their scheduler state was lost with the change).
 */
export function repairIpvsDrift(installed: IpvsInstalled, saved: ReadonlyMap<string, unknown>, drift: IpvsDrift): { lines: string[]; installed: IpvsInstalled } {
  const lines = [...drift.changed.filter((service) => saved.has(service)), ...drift.foreign].map((service) => `-D ${service}`);
  const kept = new Map(installed);
  for (const service of drift.changed) kept.delete(service);
  return { lines, installed: kept };
}
