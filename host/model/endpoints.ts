/**
 * Endpoints of each Service, from whichever source the input has, in this order of preference:
 * EndpointSlices (discovery.k8s.io/v1, joined by the `kubernetes.io/service-name` label), a v1
 * Endpoints object of the same name, or — for a Service with a selector — its Pods, following the
 * EndpointSlice controller's podToEndpoint rules (pkg/controller/util/endpointslice).
 */
import ipaddr from 'ipaddr.js';
import type { Protocol } from '../engine/model.js';
import { FieldErrors, PORT_RANGE_MESSAGE, canonicalIP, isIP, isPortNumber, list, objectRef, originOf, record, stringMap, text } from './fields.js';
import type { ServiceSpec } from './service.js';
import type { Diagnostic, KubeObject } from './types.js';

export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';
export const POD_WEIGHT_ANNOTATION = 'vipwasm.io/weight';
export const WEIGHTS_ANNOTATION = 'vipwasm.io/weights';
export const ZONE_LABEL = 'topology.kubernetes.io/zone';

/** One address:port of a Service, before kube-proxy's categorisation. */
export interface EndpointRecord {
  readonly ip: string;
  readonly port: number;
  /** The Service port name it belongs to ('' for an unnamed port). */
  readonly portName: string;
  readonly protocol: Protocol;
  readonly ready: boolean;
  readonly serving: boolean;
  readonly terminating: boolean;
  readonly nodeName?: string;
  readonly zone?: string;
  readonly weight: number;
  /** EndpointSlice hints; undefined when the endpoint has none. */
  readonly zoneHints?: readonly string[];
  readonly nodeHints?: readonly string[];
}

export interface EndpointInputs {
  /** Keyed by `ns/serviceName`. */
  readonly slices: Map<string, KubeObject[]>;
  readonly endpoints: Map<string, KubeObject>;
  /** Keyed by namespace. */
  readonly pods: Map<string, KubeObject[]>;
  /** Node name → zone label. */
  readonly nodeZones: Map<string, string>;
}

const PROTOCOLS: readonly Protocol[] = ['SCTP', 'TCP', 'UDP'];

const canonical = canonicalIP;

/** `10.0.0.1=3,10.0.0.2=0` → map; malformed entries become warnings. */
function parseWeights(obj: KubeObject, errs: FieldErrors): Map<string, number> {
  const out = new Map<string, number>();
  const raw = stringMap(obj.metadata?.annotations)[WEIGHTS_ANNOTATION];
  if (raw === undefined) return out;
  for (const part of raw.split(',').map((s) => s.trim()).filter(Boolean)) {
    const [ip, w] = part.split('=').map((s) => s.trim());
    const c = canonical(ip);
    const n = Number(w);
    if (!c || !Number.isInteger(n) || n < 0 || n > 65535)
      errs.warn(`metadata.annotations[${WEIGHTS_ANNOTATION}]`, `ignoring "${part}": want ip=weight with weight 0-65535`);
    else out.set(c, n);
  }
  return out;
}

/** Validate a slice's shape; returns false (with errors) when it must be skipped. */
export function validateEndpointSlice(obj: KubeObject, errs: FieldErrors): boolean {
  const at = obj['addressType'];
  if (at === undefined) errs.required('addressType');
  else if (at !== 'IPv4' && at !== 'IPv6' && at !== 'FQDN') errs.unsupported('addressType', at, ['FQDN', 'IPv4', 'IPv6']);
  list(obj['endpoints']).forEach((e, i) => {
    const addrs = list(record(e)['addresses']);
    if (addrs.length === 0) errs.required(`endpoints[${i}].addresses`, 'must contain at least 1 address');
    if (at !== 'IPv4' && at !== 'IPv6') return;
    addrs.forEach((a, j) => {
      const ok = isIP(a) && (ipaddr.parse(a).kind() === 'ipv4') === (at === 'IPv4');
      if (!ok) errs.invalid(`endpoints[${i}].addresses[${j}]`, a, `must be a valid ${at} address`);
    });
  });
  list(obj['ports']).forEach((p, i) => {
    const o = record(p);
    if (o['port'] !== undefined && o['port'] !== null && !isPortNumber(o['port'])) errs.invalid(`ports[${i}].port`, o['port'], PORT_RANGE_MESSAGE);
    if (o['protocol'] !== undefined && !PROTOCOLS.includes(o['protocol'] as Protocol)) errs.unsupported(`ports[${i}].protocol`, o['protocol'], PROTOCOLS);
  });
  if (!stringMap(obj.metadata?.labels)[SERVICE_NAME_LABEL]) errs.warn(`metadata.labels[${SERVICE_NAME_LABEL}]`, 'missing: the EndpointSlice belongs to no Service and is ignored');
  return !errs.failed;
}

export function validateEndpoints(obj: KubeObject, errs: FieldErrors): boolean {
  list(obj['subsets']).forEach((s, i) => {
    for (const key of ['addresses', 'notReadyAddresses']) {
      list(record(s)[key]).forEach((a, j) => {
        const ip = record(a)['ip'];
        if (!canonical(ip)) errs.invalid(`subsets[${i}].${key}[${j}].ip`, ip, 'must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)');
      });
    }
    list(record(s)['ports']).forEach((p, j) => {
      const port = record(p)['port'];
      if (!isPortNumber(port)) errs.invalid(`subsets[${i}].ports[${j}].port`, port, PORT_RANGE_MESSAGE);
    });
  });
  return !errs.failed;
}

export function validatePod(obj: KubeObject, errs: FieldErrors): boolean {
  const status = record(obj['status']);
  const ips = [status['podIP'], ...list(status['podIPs']).map((x) => record(x)['ip'])].filter((x) => x !== undefined && x !== '');
  ips.forEach((ip) => {
    if (!canonical(ip)) errs.invalid('status.podIP', ip, 'must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)');
  });
  const w = stringMap(obj.metadata?.annotations)[POD_WEIGHT_ANNOTATION];
  if (w !== undefined && !(Number.isInteger(Number(w)) && Number(w) >= 0 && Number(w) <= 65535))
    errs.invalid(`metadata.annotations[${POD_WEIGHT_ANNOTATION}]`, w, 'must be an integer between 0 and 65535');
  return !errs.failed;
}

function fromSlices(slices: KubeObject[], diagnostics: Diagnostic[]): EndpointRecord[] {
  const out: EndpointRecord[] = [];
  for (const slice of slices) {
    if (slice['addressType'] === 'FQDN') continue; // kube-proxy ignores FQDN slices
    const errs = new FieldErrors(objectRef(slice), originOf(slice));
    const weights = parseWeights(slice, errs);
    diagnostics.push(...errs.list);
    const ports = list(slice['ports']).map((p) => record(p));
    for (const e of list(slice['endpoints']).map((x) => record(x))) {
      const ip = canonical(list(e['addresses'])[0]);
      if (!ip) continue;
      const c = record(e['conditions']);
      // EndpointConditions: nil ready means ready; nil serving means "same as ready".
      const ready = c['ready'] !== false;
      const serving = typeof c['serving'] === 'boolean' ? c['serving'] : ready;
      const terminating = c['terminating'] === true;
      const hints = record(e['hints']);
      const zoneHints = e['hints'] !== undefined ? list(hints['forZones']).map((z) => text(record(z)['name']) ?? '') : undefined;
      const nodeHints = hints['forNodes'] !== undefined ? list(hints['forNodes']).map((z) => text(record(z)['name']) ?? '') : undefined;
      const nodeName = text(e['nodeName']);
      const zone = text(e['zone']);
      for (const p of ports) {
        if (!isPortNumber(p['port'])) continue;
        out.push({
          ip, port: p['port'], portName: text(p['name']) ?? '', protocol: (p['protocol'] as Protocol) ?? 'TCP',
          ready, serving, terminating, weight: weights.get(ip) ?? 1,
          ...(nodeName ? { nodeName } : {}), ...(zone ? { zone } : {}),
          ...(zoneHints ? { zoneHints } : {}), ...(nodeHints ? { nodeHints } : {}),
        });
      }
    }
  }
  return out;
}

function fromEndpoints(obj: KubeObject, diagnostics: Diagnostic[]): EndpointRecord[] {
  const out: EndpointRecord[] = [];
  const errs = new FieldErrors(objectRef(obj), originOf(obj));
  const weights = parseWeights(obj, errs);
  diagnostics.push(...errs.list);
  for (const s of list(obj['subsets']).map((x) => record(x))) {
    const ports = list(s['ports']).map((p) => record(p));
    for (const [key, ready] of [['addresses', true], ['notReadyAddresses', false]] as const) {
      for (const a of list(s[key]).map((x) => record(x))) {
        const ip = canonical(a['ip']);
        if (!ip) continue;
        const nodeName = text(a['nodeName']);
        for (const p of ports) {
          out.push({
            ip, port: p['port'] as number, portName: text(p['name']) ?? '', protocol: (p['protocol'] as Protocol) ?? 'TCP',
            ready, serving: ready, terminating: false, weight: weights.get(ip) ?? 1, ...(nodeName ? { nodeName } : {}),
          });
        }
      }
    }
  }
  return out;
}

export function selects(selector: Readonly<Record<string, string>>, labels: Record<string, string>): boolean {
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

export function podReady(pod: KubeObject): boolean {
  const conds = list(record(pod['status'])['conditions']).map((c) => record(c));
  return conds.some((c) => c['type'] === 'Ready' && c['status'] === 'True');
}

/** The pod's container port for a named targetPort (same protocol), as the controller's FindPort. */
export function findPort(pod: KubeObject, name: string, protocol: Protocol): number | undefined {
  for (const c of list(record(pod['spec'])['containers'])) {
    for (const p of list(record(c)['ports']).map((x) => record(x))) {
      if (p['name'] === name && (p['protocol'] ?? 'TCP') === protocol && isPortNumber(p['containerPort'])) return p['containerPort'];
    }
  }
  return undefined;
}

function fromPods(svc: ServiceSpec, pods: KubeObject[], nodeZones: Map<string, string>, diagnostics: Diagnostic[]): EndpointRecord[] {
  const out: EndpointRecord[] = [];
  const selected = pods.filter((p) => selects(svc.selector!, stringMap(p.metadata?.labels)));
  const unresolved = new Set<number>();
  for (const pod of selected) {
    const status = record(pod['status']);
    const phase = status['phase'];
    if (phase === 'Succeeded' || phase === 'Failed') continue; // terminal pods are never endpoints
    const ips = [...new Set([status['podIP'], ...list(status['podIPs']).map((x) => record(x)['ip'])].map(canonical).filter((x): x is string => !!x))];
    if (ips.length === 0) continue; // no IP yet
    const serving = podReady(pod);
    const terminating = typeof pod.metadata?.deletionTimestamp === 'string' && pod.metadata.deletionTimestamp !== '';
    // "ready" is never true for a terminating pod unless publishNotReadyAddresses is set.
    const ready = svc.publishNotReadyAddresses || (serving && !terminating);
    const nodeName = text(record(pod['spec'])['nodeName']);
    const zone = nodeName ? nodeZones.get(nodeName) : undefined;
    const w = stringMap(pod.metadata?.annotations)[POD_WEIGHT_ANNOTATION];
    const weight = w !== undefined ? Number(w) : 1;
    svc.ports.forEach((sp, i) => {
      const port = typeof sp.targetPort === 'number' ? sp.targetPort : findPort(pod, sp.targetPort, sp.protocol);
      if (port === undefined) return void unresolved.add(i);
      for (const ip of ips) {
        out.push({
          ip, port, portName: sp.name, protocol: sp.protocol, ready, serving, terminating, weight,
          ...(nodeName ? { nodeName } : {}), ...(zone ? { zone } : {}),
        });
      }
    });
  }
  const errs = new FieldErrors(`Service "${svc.key}"`, svc.origin);
  for (const i of unresolved) {
    const sp = svc.ports[i]!;
    const some = out.some((r) => r.portName === sp.name && r.protocol === sp.protocol);
    errs.warn(`spec.ports[${i}].targetPort`, `${some ? 'some selected Pods do not expose' : 'no selected Pod exposes'} a ${sp.protocol} port named "${sp.targetPort}"`);
  }
  diagnostics.push(...errs.list);
  return out;
}

/** Every EndpointRecord of `svc`, de-duplicated by portName/protocol/ip/port (a ready copy wins). */
export function serviceEndpoints(svc: ServiceSpec, inputs: EndpointInputs, diagnostics: Diagnostic[]): EndpointRecord[] {
  let records: EndpointRecord[];
  const slices = inputs.slices.get(svc.key);
  const eps = inputs.endpoints.get(svc.key);
  if (slices && slices.length > 0) records = fromSlices(slices, diagnostics);
  else if (eps) records = fromEndpoints(eps, diagnostics);
  else if (svc.selector) records = fromPods(svc, inputs.pods.get(svc.namespace) ?? [], inputs.nodeZones, diagnostics);
  else records = [];
  const byKey = new Map<string, EndpointRecord>();
  for (const r of records) {
    const k = `${r.portName}/${r.protocol}/${r.ip}/${r.port}`;
    const prev = byKey.get(k);
    if (!prev || (!prev.ready && r.ready)) byKey.set(k, r);
  }
  return [...byKey.values()];
}
