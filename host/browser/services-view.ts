/**
 * `kubectl get services` and `kubectl get endpoints`, rendered from the model's ServiceView rows
 * (host/model computes them; this file only formats, the way kubectl's printers do).
 */
import type { EndpointView, ServiceView } from '../model/types.js';
import { el, fillTable } from './dom.js';
import { hostPort } from './targets.js';

/** kubectl's PORT(S) column: `80/TCP`, `80:30007/TCP`, comma separated. */
export function portsColumn(s: ServiceView): string {
  if (s.ports.length === 0) return '';
  return s.ports.map((p) => `${p.port}${p.nodePort > 0 ? `:${p.nodePort}` : ''}/${p.protocol}`).join(',');
}

/** kubectl's EXTERNAL-IP column. */
export function externalColumn(s: ServiceView): string {
  if (s.type === 'ExternalName') return s.externalName;
  const ips = [...s.loadBalancerIngress, ...s.externalIPs];
  if (ips.length) return ips.join(',');
  return s.type === 'LoadBalancer' ? '<pending>' : '';
}

function selectorColumn(s: ServiceView): string {
  if (!s.selector) return '';
  return Object.entries(s.selector).map(([k, v]) => `${k}=${v}`).join(',');
}

function endpointText(e: EndpointView): string {
  return hostPort(e.ip, e.port);
}

export function renderServices(table: HTMLTableElement, services: readonly ServiceView[], errors = 0): void {
  const rows = services.map((s) => [
    s.namespace,
    s.name,
    s.type,
    s.type === 'ExternalName' ? '' : s.clusterIPs.join(','),
    externalColumn(s),
    portsColumn(s),
    selectorColumn(s),
  ]);
  const empty = errors ? `No valid Service: fix the ${errors === 1 ? 'error' : `${errors} errors`} under Validation.` : 'No Services in the manifests.';
  fillTable(table, ['NAMESPACE', 'NAME', 'TYPE', 'CLUSTER-IP', 'EXTERNAL-IP', 'PORT(S)', 'SELECTOR'], rows, empty);
}

/**
 * kubectl's comma-separated list, with a line-break opportunity after each comma so a long list
 * wraps inside its column instead of pushing the table wider than a laptop screen. '' stays ''
 * (shown as <none>).
 */
function commaList(items: readonly string[], separator = ','): HTMLSpanElement | string {
  if (items.length === 0) return '';
  const span = el('span');
  items.forEach((item, i) => {
    if (i > 0) span.append(separator, el('wbr'));
    span.append(item);
  });
  return span;
}

/** Ready endpoints as kubectl shows them, plus the ones kubectl hides (not ready, terminating). */
export function renderEndpoints(table: HTMLTableElement, services: readonly ServiceView[]): void {
  const rows = services.map((s) => {
    const ready = [...new Set(s.endpoints.filter((e) => e.ready).map(endpointText))];
    const other = [
      ...new Set(
        s.endpoints
          .filter((e) => !e.ready)
          .map((e) => `${endpointText(e)} (${e.terminating ? 'terminating' : 'not ready'}${e.serving ? ', serving' : ''})`),
      ),
    ];
    const nodes = [...new Set(s.endpoints.map((e) => e.nodeName).filter((n): n is string => !!n))];
    return [s.namespace, s.name, commaList(ready), commaList(other, ', '), commaList(nodes)];
  });
  fillTable(table, ['NAMESPACE', 'NAME', 'ENDPOINTS', 'NOT READY', 'NODES'], rows, 'No Services, so no endpoints.');
}
