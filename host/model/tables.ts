/**
 * Human-readable tables: `get services` / `get endpoints` in kubectl's layout (tabwriter with
 * minwidth 10, padding 3, as kubectl's printers use), and a dump of the ServiceModel used by the
 * golden tests and the playground.
 */
import { type ServiceModel, backendKey, servicePortKey } from '../engine/model.js';
import type { ServiceView } from './types.js';

/** kubectl's tabwriter.NewWriter(out, 10, 4, 3, ' ', 0): every column but the last is padded. */
export function alignColumns(rows: readonly (readonly string[])[], minWidth = 10, padding = 3): string {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return rows
    .map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(Math.max(minWidth, widths[i]! + padding)))).join('').trimEnd())
    .join('\n') + (rows.length ? '\n' : '');
}

function multiNamespace(views: readonly ServiceView[]): boolean {
  return new Set(views.map((v) => v.namespace)).size > 1;
}

/** kubectl getServiceExternalIP. LoadBalancer ingress text is cut at 16 chars unless wide. */
export function externalIPColumn(v: ServiceView, wide: boolean): string {
  switch (v.type) {
    case 'ExternalName':
      return v.externalName;
    case 'LoadBalancer': {
      let lb = v.loadBalancerIngress.join(',');
      if (!wide && lb.length > 16) lb = `${lb.slice(0, 13)}...`;
      const all = [...(lb ? lb.split(',') : []), ...v.externalIPs];
      return all.length ? all.join(',') : '<pending>';
    }
    default:
      return v.externalIPs.length ? v.externalIPs.join(',') : '<none>';
  }
}

export function portsColumn(v: ServiceView): string {
  if (v.ports.length === 0) return '<none>';
  return v.ports.map((p) => (p.nodePort ? `${p.port}:${p.nodePort}/${p.protocol}` : `${p.port}/${p.protocol}`)).join(',');
}

function selectorColumn(v: ServiceView): string {
  if (!v.selector) return '<none>';
  return Object.keys(v.selector).sort().map((k) => `${k}=${v.selector![k]}`).join(',');
}

/** `namePrefix` is kubectl's `service/` when several resource types are listed at once. */
export function formatServicesTable(views: readonly ServiceView[], wide = false, namePrefix = ''): string {
  const ns = multiNamespace(views);
  const header = [...(ns ? ['NAMESPACE'] : []), 'NAME', 'TYPE', 'CLUSTER-IP', 'EXTERNAL-IP', 'PORT(S)', ...(wide ? ['SELECTOR'] : [])];
  const rows = views.map((v) => [
    ...(ns ? [v.namespace] : []), namePrefix + v.name, v.type, v.clusterIPs[0] ?? '<none>', externalIPColumn(v, wide), portsColumn(v),
    ...(wide ? [selectorColumn(v)] : []),
  ]);
  return alignColumns([header, ...rows]);
}

/**
 * kubectl formatEndpoints: for each port, each ready address as ip:port (so an address serving
 * two ports, or one port number over TCP and UDP, appears twice, as kubectl shows kube-dns), the
 * first 3 then "+ N more..." (all of them when wide). Ports in the Service's order, addresses by IP.
 */
export function endpointsColumn(v: ServiceView, wide: boolean): string {
  const portIndex = (e: ServiceView['endpoints'][number]): number => {
    const i = v.ports.findIndex((p) => p.name === e.portName && p.protocol === e.protocol);
    return i < 0 ? v.ports.length : i;
  };
  // Stable sort: v.endpoints is already ordered by address, then port.
  const list = v.endpoints.filter((e) => e.ready).map((e, i) => ({ e, i, p: portIndex(e) })).sort((a, b) => a.p - b.p || a.i - b.i).map(({ e }) => backendKey(e));
  if (list.length === 0) return '<none>';
  if (wide || list.length <= 3) return list.join(',');
  return `${list.slice(0, 3).join(',')} + ${list.length - 3} more...`;
}

export function formatEndpointsTable(views: readonly ServiceView[], wide = false, namePrefix = ''): string {
  const ns = multiNamespace(views);
  const header = [...(ns ? ['NAMESPACE'] : []), 'NAME', 'ENDPOINTS'];
  // ExternalName Services have no Endpoints object in a cluster.
  const rows = views.filter((v) => v.type !== 'ExternalName').map((v) => [...(ns ? [v.namespace] : []), namePrefix + v.name, endpointsColumn(v, wide)]);
  return alignColumns([header, ...rows]);
}

const yn = (b: boolean): string => (b ? 'yes' : 'no');
const orDash = (l: readonly (string | number)[]): string => (l.length ? l.join(',') : '-');

/** One block per service port: its frontends and policies, then a table of its backends. */
export function dumpServiceModel(model: ServiceModel): string {
  const out: string[] = [`nodeIPs: ${orDash(model.nodeIPs)}`];
  for (const sp of model.servicePorts) {
    const flags = [sp.schedulerFlags.port ? 'port' : '', sp.schedulerFlags.fallback ? 'fallback' : ''].filter(Boolean);
    out.push(
      `${servicePortKey(sp)} ${sp.protocol}/${sp.port} ${sp.type}`,
      `  clusterIPs=${orDash(sp.clusterIPs)} nodePort=${sp.nodePort} externalIPs=${orDash(sp.externalIPs)} loadBalancerIPs=${orDash(sp.loadBalancerIPs)} sourceRanges=${orDash(sp.loadBalancerSourceRanges)}`,
      `  scheduler=${sp.scheduler}${flags.length ? `(${flags.join(',')})` : ''} affinity=${sp.sessionAffinity}${sp.sessionAffinity === 'ClientIP' ? `/${sp.affinityTimeoutSeconds}s` : ''} externalTrafficPolicy=${sp.externalTrafficPolicy} internalTrafficPolicy=${sp.internalTrafficPolicy} healthCheckNodePort=${sp.healthCheckNodePort} hasEndpoints=${sp.hasEndpoints}`,
    );
    if (sp.backends.length === 0) {
      out.push('  (no backends)');
      continue;
    }
    const rows = [['  BACKEND', 'WEIGHT', 'READY', 'SERVING', 'TERMINATING', 'LOCAL', 'CLUSTER', 'EXTERNAL', 'NODE', 'ZONE']];
    for (const b of sp.backends) {
      rows.push([`  ${backendKey(b)}`, String(b.weight), yn(b.ready), yn(b.serving), yn(b.terminating), yn(b.local), yn(b.cluster), yn(b.external), b.nodeName ?? '-', b.zone ?? '-']);
    }
    out.push(alignColumns(rows, 0, 2).trimEnd());
  }
  return out.join('\n') + '\n';
}
