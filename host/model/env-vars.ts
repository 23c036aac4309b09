/**
 * The Service environment variables kubelet gives a container, from the model's DiscoveryView.
 * kubelet's rules (pkg/kubelet/kubelet_pods.go getServiceEnvVarMap, pkg/kubelet/envvars
 * FromServices):
 * - Services with a ClusterIP only (headless and ExternalName have none);
 * - the `kubernetes` Service of `default` always; the pod's own namespace's Services only with
 *   `enableServiceLinks` (default true), and one of the same name there wins over default's;
 * - names mangled by makeEnvVariableName: upper case, `-` → `_`;
 * - `{SVC}_SERVICE_HOST` = spec.clusterIP, `{SVC}_SERVICE_PORT` = the first port,
 *   `{SVC}_SERVICE_PORT_{PORTNAME}` per named port, and the Docker link set per port:
 *   `{SVC}_PORT` (first port), `{SVC}_PORT_{port}_{PROTO}`, `…_PROTO`, `…_PORT`, `…_ADDR`.
 * The variables are fixed when the container starts: Services created later are not in them
 * (kubernetes.io "Service" docs: "the Service must be created before the client Pods come into
 * existence"), so a Service newer than the Pod is left out.
 */
import type { DiscoveryService, DiscoveryView, PodView } from './discovery.js';

export interface EnvVar {
  readonly name: string;
  readonly value: string;
}

/** The kubernetes Service in default (kubelet's masterServices). */
const MASTER_SERVICES = new Set(['kubernetes']);

/** kubelet's makeEnvVariableName. */
export function envVariableName(name: string): string {
  return name.replaceAll('-', '_').toUpperCase();
}

function hostPort(ip: string, port: number): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/** envvars.FromServices for one Service (which has a ClusterIP and at least one port). */
export function serviceEnvVars(svc: DiscoveryService): EnvVar[] {
  const ip = svc.clusterIPs[0];
  const first = svc.ports[0];
  if (!ip || !first) return [];
  const prefix = envVariableName(svc.name);
  const out: EnvVar[] = [
    { name: `${prefix}_SERVICE_HOST`, value: ip },
    { name: `${prefix}_SERVICE_PORT`, value: String(first.port) },
  ];
  for (const p of svc.ports) if (p.name) out.push({ name: `${prefix}_SERVICE_PORT_${envVariableName(p.name)}`, value: String(p.port) });
  svc.ports.forEach((p, i) => {
    const proto = p.protocol.toLowerCase();
    const url = `${proto}://${hostPort(ip, p.port)}`;
    if (i === 0) out.push({ name: `${prefix}_PORT`, value: url });
    const pp = `${prefix}_PORT_${p.port}_${p.protocol.toUpperCase()}`;
    out.push({ name: pp, value: url }, { name: `${pp}_PROTO`, value: proto }, { name: `${pp}_PORT`, value: String(p.port) }, { name: `${pp}_ADDR`, value: ip });
  });
  return out;
}

export interface EnvOptions {
  /** spec.enableServiceLinks; default true. */
  readonly enableServiceLinks?: boolean;
  /** When the container started (RFC 3339): Services created after it are left out. */
  readonly startedAt?: string;
}

function createdBy(svc: DiscoveryService, startedAt: string | undefined): boolean {
  if (!startedAt || !svc.creationTimestamp) return true;
  const s = Date.parse(svc.creationTimestamp);
  const p = Date.parse(startedAt);
  return Number.isNaN(s) || Number.isNaN(p) || s <= p;
}

/** The variables a container in `namespace` gets, sorted by name. */
export function namespaceEnvVars(view: DiscoveryView, namespace: string, o: EnvOptions = {}): EnvVar[] {
  const links = o.enableServiceLinks !== false;
  const chosen = new Map<string, DiscoveryService>();
  for (const svc of view.services) {
    if (svc.clusterIPs.length === 0 || !createdBy(svc, o.startedAt)) continue;
    if (svc.namespace === 'default' && MASTER_SERVICES.has(svc.name)) {
      if (!chosen.has(svc.name)) chosen.set(svc.name, svc);
    } else if (svc.namespace === namespace && links) chosen.set(svc.name, svc);
  }
  const vars = new Map<string, string>();
  for (const svc of chosen.values()) for (const v of serviceEnvVars(svc)) vars.set(v.name, v.value);
  return [...vars].map(([name, value]) => ({ name, value })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** The variables kubelet gives `pod`: its namespace, its enableServiceLinks, its start time. */
export function podEnvVars(view: DiscoveryView, pod: PodView): EnvVar[] {
  const startedAt = pod.startTime ?? pod.creationTimestamp;
  return namespaceEnvVars(view, pod.namespace, { enableServiceLinks: pod.enableServiceLinks, ...(startedAt ? { startedAt } : {}) });
}
