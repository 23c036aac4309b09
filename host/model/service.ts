/**
 * Service (v1) defaulting and validation, after the apiserver's ValidateService
 * (pkg/apis/core/validation) with the same field paths and messages. An object with any error is
 * skipped; warnings keep it.
 */
import ipaddr from 'ipaddr.js';
import { SCHEDULERS, type Protocol, type SchedulerFlags, type SchedulerName } from '../engine/model.js';
import {
  FieldErrors, PORT_RANGE_MESSAGE, dns1035Error, dns1123SubdomainError, isCIDR, isIP, dns1123Error, isPortNumber, list, originOf, portNameError, record,
  stringMap, text, type Json,
} from './fields.js';
import type { KubeObject, ObjectOrigin } from './types.js';

export type ServiceTypeName = 'ClusterIP' | 'NodePort' | 'LoadBalancer' | 'ExternalName';
const SERVICE_TYPES: readonly ServiceTypeName[] = ['ClusterIP', 'ExternalName', 'LoadBalancer', 'NodePort'];
const PROTOCOLS: readonly Protocol[] = ['SCTP', 'TCP', 'UDP'];

export const SCHEDULER_ANNOTATION = 'vipwasm.io/scheduler';
export const SCHEDULER_FLAGS_ANNOTATION = 'vipwasm.io/scheduler-flags';
/** sessionAffinityConfig.clientIP.timeoutSeconds default and maximum (core/v1 defaults). */
export const DEFAULT_AFFINITY_TIMEOUT = 10800;
export const MAX_AFFINITY_TIMEOUT = 86400;

export interface PortSpec {
  readonly name: string;
  readonly protocol: Protocol;
  readonly port: number;
  readonly targetPort: number | string;
  /** 0 = none requested. */
  readonly nodePort: number;
  readonly appProtocol?: string;
}

export interface LoadBalancerIngress {
  readonly ip?: string;
  readonly hostname?: string;
  readonly ipMode?: string;
}

/** A Service that passed validation, with defaults applied; allocation fills in what is missing. */
export interface ServiceSpec {
  readonly namespace: string;
  readonly name: string;
  readonly key: string;
  /** Position in the input, for "the later object" in conflicts. */
  readonly order: number;
  readonly origin?: ObjectOrigin;
  readonly type: ServiceTypeName;
  readonly headless: boolean;
  /** Canonical clusterIPs given in the manifest ([] = allocate). */
  readonly requestedClusterIPs: readonly string[];
  /** Families to give clusterIPs for, primary first. */
  readonly ipFamilies: readonly (4 | 6)[];
  readonly ports: readonly PortSpec[];
  readonly selector: Readonly<Record<string, string>> | null;
  readonly externalIPs: readonly string[];
  readonly externalName: string;
  readonly sessionAffinity: 'None' | 'ClientIP';
  readonly affinityTimeoutSeconds: number;
  readonly externalTrafficPolicy: 'Cluster' | 'Local';
  readonly internalTrafficPolicy: 'Cluster' | 'Local';
  /** 0 = none requested. */
  readonly healthCheckNodePort: number;
  readonly allocateLoadBalancerNodePorts: boolean;
  readonly loadBalancerIP: string;
  readonly loadBalancerSourceRanges: readonly string[];
  readonly ingress: readonly LoadBalancerIngress[];
  readonly publishNotReadyAddresses: boolean;
  /** metadata.creationTimestamp (RFC 3339), when the object has one: kubelet's env vars ignore Services newer than a Pod. */
  readonly creationTimestamp?: string;
  readonly scheduler: SchedulerName;
  readonly schedulerFlags: SchedulerFlags;
}

export interface ServiceContext {
  /** Families that have a Service CIDR, primary first. */
  readonly families: readonly (4 | 6)[];
  readonly nodePortRange: readonly [number, number];
  readonly defaultScheduler: SchedulerName;
  readonly forceScheduler?: SchedulerName;
  /** Skip range checks of given nodePorts (ModelOptions.trustAllocations). */
  readonly trustAllocations?: boolean;
}

function familyOf(ip: string): 4 | 6 {
  return ipaddr.parse(ip).kind() === 'ipv4' ? 4 : 6;
}

function validIP(v: Json): v is string {
  return isIP(v);
}

const IP_MESSAGE = 'must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)';

/** Validate and default one Service. Returns null (with errors in `errs`) when it must be skipped. */
export function parseService(obj: KubeObject, order: number, ctx: ServiceContext, errs: FieldErrors): ServiceSpec | null {
  const meta = record(obj.metadata);
  const name = text(meta['name']) ?? '';
  const namespace = text(meta['namespace']) || 'default';
  if (!name) errs.required('metadata.name', 'name or generateName is required');
  else {
    const e = dns1035Error(name);
    if (e) errs.invalid('metadata.name', name, e);
  }
  const nsErr = dns1123Error(namespace);
  if (nsErr) errs.invalid('metadata.namespace', namespace, nsErr);
  const spec = record(obj['spec']);
  const status = record(obj['status']);

  const rawType = spec['type'] ?? 'ClusterIP';
  const type = SERVICE_TYPES.includes(rawType as ServiceTypeName) ? (rawType as ServiceTypeName) : undefined;
  if (!type) errs.unsupported('spec.type', rawType, SERVICE_TYPES);
  const isExternalName = type === 'ExternalName';

  // clusterIP / clusterIPs
  const rawIPs = spec['clusterIPs'] !== undefined ? list(spec['clusterIPs']) : spec['clusterIP'] !== undefined ? [spec['clusterIP']] : [];
  const ipsField = spec['clusterIPs'] !== undefined ? 'spec.clusterIPs' : 'spec.clusterIP';
  const clusterIPs = rawIPs.filter((x) => x !== '');
  let headless = false;
  const requested: string[] = [];
  if (isExternalName) {
    if (clusterIPs.length > 0) errs.forbidden(ipsField, 'may not be set for ExternalName services');
  } else if (clusterIPs.length === 1 && clusterIPs[0] === 'None') {
    headless = true;
    if (type !== 'ClusterIP' && type) errs.invalid('spec.clusterIPs[0]', 'None', `may not be set to 'None' for ${type} services`);
  } else {
    clusterIPs.forEach((ip, i) => {
      if (!validIP(ip)) errs.invalid(`spec.clusterIPs[${i}]`, ip, IP_MESSAGE);
      else requested.push(ipaddr.parse(ip).toString());
    });
    if (requested.length === 2 && familyOf(requested[0]!) === familyOf(requested[1]!))
      errs.invalid('spec.clusterIPs', rawIPs, 'may specify no more than one IP for each IP family');
    if (clusterIPs.length > 2) errs.invalid('spec.clusterIPs', rawIPs, 'may only hold up to 2 values');
  }

  const ipFamilies = parseFamilies(spec, requested, ctx, errs, isExternalName);
  const ports = parsePorts(spec, type, isExternalName, headless, ctx, errs);

  // selector
  let selector: Record<string, string> | null = null;
  if (spec['selector'] !== undefined && spec['selector'] !== null) {
    selector = stringMap(spec['selector']);
    if (Object.keys(selector).length === 0) selector = null;
    else if (isExternalName) errs.forbidden('spec.selector', "may not be set when `type` is 'ExternalName'");
  }

  const externalName = text(spec['externalName']) ?? '';
  if (isExternalName) {
    if (!externalName) errs.required('spec.externalName');
    else {
      // The apiserver allows a trailing dot (a fully qualified CNAME) and validates the rest.
      const cname = externalName.replace(/\.$/, '');
      const e = dns1123SubdomainError(cname);
      if (e) errs.invalid('spec.externalName', cname, e);
    }
  }

  const externalIPs: string[] = [];
  list(spec['externalIPs']).forEach((ip, i) => {
    if (!validIP(ip)) errs.invalid(`spec.externalIPs[${i}]`, ip, IP_MESSAGE);
    else externalIPs.push(ipaddr.parse(ip).toString());
  });

  // session affinity
  const rawAffinity = spec['sessionAffinity'] ?? 'None';
  const sessionAffinity = rawAffinity === 'ClientIP' || rawAffinity === 'None' ? rawAffinity : 'None';
  if (rawAffinity !== sessionAffinity) errs.unsupported('spec.sessionAffinity', rawAffinity, ['ClientIP', 'None']);
  let affinityTimeoutSeconds = DEFAULT_AFFINITY_TIMEOUT;
  if (spec['sessionAffinityConfig'] !== undefined) {
    if (sessionAffinity === 'None') errs.forbidden('spec.sessionAffinityConfig', 'must not be set when `sessionAffinity` is None');
    const t = record(record(spec['sessionAffinityConfig'])['clientIP'])['timeoutSeconds'];
    if (t !== undefined) {
      if (typeof t !== 'number' || !Number.isInteger(t) || t <= 0 || t > MAX_AFFINITY_TIMEOUT)
        errs.invalid('spec.sessionAffinityConfig.clientIP.timeoutSeconds', t, `must be greater than 0 and less than ${MAX_AFFINITY_TIMEOUT}`);
      else affinityTimeoutSeconds = t;
    }
  }

  // traffic policies: externalTrafficPolicy only for externally accessible Services.
  const externallyAccessible = type === 'NodePort' || type === 'LoadBalancer' || externalIPs.length > 0;
  const etp = policy(spec, 'externalTrafficPolicy', errs);
  if (spec['externalTrafficPolicy'] !== undefined && !externallyAccessible && !isExternalName && type)
    errs.invalid('spec.externalTrafficPolicy', spec['externalTrafficPolicy'], 'may only be set for externally-accessible services');
  const itp = policy(spec, 'internalTrafficPolicy', errs);

  const hc = spec['healthCheckNodePort'];
  let healthCheckNodePort = 0;
  if (hc !== undefined && hc !== 0) {
    if (!(type === 'LoadBalancer' && etp === 'Local'))
      errs.forbidden('spec.healthCheckNodePort', "may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'");
    else if (!isPortNumber(hc)) errs.invalid('spec.healthCheckNodePort', hc, PORT_RANGE_MESSAGE);
    else healthCheckNodePort = hc;
  }

  // load balancer fields
  const loadBalancerIP = text(spec['loadBalancerIP']) ?? '';
  if (loadBalancerIP) {
    if (type !== 'LoadBalancer') errs.forbidden('spec.loadBalancerIP', "may only be used when `type` is 'LoadBalancer'");
    else if (!validIP(loadBalancerIP)) errs.invalid('spec.loadBalancerIP', loadBalancerIP, IP_MESSAGE);
  }
  const loadBalancerSourceRanges: string[] = [];
  const rawRanges = list(spec['loadBalancerSourceRanges']);
  if (rawRanges.length > 0 && type !== 'LoadBalancer')
    errs.forbidden('spec.loadBalancerSourceRanges', "may only be used when `type` is 'LoadBalancer'");
  rawRanges.forEach((r, i) => {
    const s = typeof r === 'string' ? r.trim() : '';
    if (!s || !isCIDR(s)) errs.invalid(`spec.loadBalancerSourceRanges[${i}]`, r, 'must be a valid CIDR, (e.g. 10.9.8.0/24 or 2001:db8::/64)');
    else loadBalancerSourceRanges.push(s);
  });
  const ingress: LoadBalancerIngress[] = [];
  list(record(status['loadBalancer'])['ingress']).forEach((x, i) => {
    const o = record(x);
    const ip = o['ip'];
    if (ip !== undefined && !validIP(ip)) return errs.invalid(`status.loadBalancer.ingress[${i}].ip`, ip, IP_MESSAGE);
    const entry: LoadBalancerIngress = {
      ...(ip ? { ip: ipaddr.parse(ip as string).toString() } : {}),
      ...(typeof o['hostname'] === 'string' ? { hostname: o['hostname'] } : {}),
      ...(typeof o['ipMode'] === 'string' ? { ipMode: o['ipMode'] } : {}),
    };
    ingress.push(entry);
  });

  const pna = spec['publishNotReadyAddresses'];
  if (pna !== undefined && typeof pna !== 'boolean') errs.invalid('spec.publishNotReadyAddresses', pna, 'must be a boolean');
  const alnp = spec['allocateLoadBalancerNodePorts'];

  const { scheduler, schedulerFlags } = parseScheduler(stringMap(meta['annotations']), ctx, errs);

  if (errs.failed || !type) return null;
  const origin = originOf(obj);
  const created = text(meta['creationTimestamp']);
  return {
    namespace, name, key: `${namespace}/${name}`, order, ...(origin ? { origin } : {}), ...(created ? { creationTimestamp: created } : {}),
    type, headless, requestedClusterIPs: requested, ipFamilies, ports, selector, externalIPs, externalName,
    sessionAffinity, affinityTimeoutSeconds,
    externalTrafficPolicy: externallyAccessible ? etp : 'Cluster', internalTrafficPolicy: itp,
    healthCheckNodePort, allocateLoadBalancerNodePorts: alnp !== false, loadBalancerIP: loadBalancerIP && isIP(loadBalancerIP) ? ipaddr.parse(loadBalancerIP).toString() : '',
    loadBalancerSourceRanges, ingress, publishNotReadyAddresses: pna === true, scheduler, schedulerFlags,
  };
}

function policy(spec: Record<string, Json>, field: string, errs: FieldErrors): 'Cluster' | 'Local' {
  const v = spec[field];
  if (v === undefined || v === 'Cluster') return 'Cluster';
  if (v === 'Local') return 'Local';
  errs.unsupported(`spec.${field}`, v, ['Cluster', 'Local']);
  return 'Cluster';
}

function parseFamilies(spec: Record<string, Json>, requested: string[], ctx: ServiceContext, errs: FieldErrors, externalName: boolean): (4 | 6)[] {
  if (externalName) return [];
  const rawPolicy = spec['ipFamilyPolicy'] ?? 'SingleStack';
  if (!['SingleStack', 'PreferDualStack', 'RequireDualStack'].includes(rawPolicy as string))
    errs.unsupported('spec.ipFamilyPolicy', rawPolicy, ['PreferDualStack', 'RequireDualStack', 'SingleStack']);
  const families: (4 | 6)[] = [];
  list(spec['ipFamilies']).forEach((f, i) => {
    if (f !== 'IPv4' && f !== 'IPv6') return errs.unsupported(`spec.ipFamilies[${i}]`, f, ['IPv4', 'IPv6']);
    const fam = f === 'IPv4' ? 4 : 6;
    if (families.includes(fam)) return errs.duplicate(`spec.ipFamilies[${i}]`, f);
    if (!ctx.families.includes(fam) && !ctx.trustAllocations) return errs.invalid(`spec.ipFamilies[${i}]`, f, 'not configured on this cluster');
    families.push(fam);
  });
  requested.forEach((ip, i) => {
    const fam = familyOf(ip);
    if (families[i] !== undefined && families[i] !== fam)
      errs.invalid(`spec.clusterIPs[${i}]`, ip, `expected an IPv${families[i]} value as indicated by \`ipFamilies[${i}]\``);
    else if (families[i] === undefined) families.push(fam);
  });
  if (families.length === 0) families.push(ctx.families[0]!);
  if (rawPolicy === 'SingleStack' && families.length > 1)
    errs.invalid('spec.ipFamilies', families.map((f) => `IPv${f}`), 'must contain at most one IP family when ipFamilyPolicy is SingleStack');
  if (rawPolicy !== 'SingleStack') {
    const other = ctx.families.find((f) => !families.includes(f));
    if (other !== undefined && families.length < 2) families.push(other);
    if (rawPolicy === 'RequireDualStack' && families.length < 2 && !ctx.trustAllocations)
      errs.invalid('spec.ipFamilyPolicy', rawPolicy, 'this cluster is not configured for dual-stack services');
  }
  return families;
}

function parsePorts(spec: Record<string, Json>, type: ServiceTypeName | undefined, externalName: boolean, headless: boolean, ctx: ServiceContext, errs: FieldErrors): PortSpec[] {
  const raw = list(spec['ports']);
  if (raw.length === 0 && !externalName && !headless) errs.required('spec.ports');
  const ports: PortSpec[] = [];
  const names = new Set<string>();
  const nodePorts = new Map<string, number>();
  const [lo, hi] = ctx.nodePortRange;
  raw.forEach((x, i) => {
    const p = record(x);
    const f = `spec.ports[${i}]`;
    const name = text(p['name']) ?? '';
    if (raw.length > 1 && !name) errs.required(`${f}.name`);
    if (name) {
      const e = dns1123Error(name);
      if (e) errs.invalid(`${f}.name`, name, e);
      if (names.has(name)) errs.duplicate(`${f}.name`, name);
      names.add(name);
    }
    const protocol = (p['protocol'] ?? 'TCP') as Protocol;
    if (!PROTOCOLS.includes(protocol)) errs.unsupported(`${f}.protocol`, p['protocol'], PROTOCOLS);
    const port = p['port'];
    if (port === undefined) errs.required(`${f}.port`);
    else if (!isPortNumber(port)) errs.invalid(`${f}.port`, port, PORT_RANGE_MESSAGE);
    let targetPort: number | string = isPortNumber(port) ? port : 0;
    const tp = p['targetPort'];
    if (typeof tp === 'number') {
      if (!isPortNumber(tp)) errs.invalid(`${f}.targetPort`, tp, PORT_RANGE_MESSAGE);
      else targetPort = tp;
    } else if (typeof tp === 'string') {
      // A numeric string is what IntOrString gives for `targetPort: "8080"`.
      if (/^\d+$/.test(tp)) {
        if (!isPortNumber(Number(tp))) errs.invalid(`${f}.targetPort`, tp, PORT_RANGE_MESSAGE);
        else targetPort = Number(tp);
      } else {
        const e = portNameError(tp);
        if (e) errs.invalid(`${f}.targetPort`, tp, e);
        else targetPort = tp;
      }
    } else if (tp !== undefined && tp !== null) errs.invalid(`${f}.targetPort`, tp, 'must be a port number or a port name');
    const np = p['nodePort'];
    let nodePort = 0;
    if (np !== undefined && np !== 0 && np !== null) {
      if (type === 'ClusterIP' || type === 'ExternalName') errs.forbidden(`${f}.nodePort`, `may not be used when \`type\` is '${type}'`);
      else if (typeof np !== 'number' || !Number.isInteger(np) || (!ctx.trustAllocations && (np < lo || np > hi)) || !isPortNumber(np))
        errs.invalid(`${f}.nodePort`, np, `provided port is not in the valid range. The range of valid ports is ${lo}-${hi}`);
      else {
        const k = `${protocol}/${np}`;
        if (nodePorts.has(k)) errs.duplicate(`${f}.nodePort`, np);
        nodePorts.set(k, np);
        nodePort = np;
      }
    }
    const appProtocol = text(p['appProtocol']);
    ports.push({ name, protocol, port: isPortNumber(port) ? port : 0, targetPort, nodePort, ...(appProtocol ? { appProtocol } : {}) });
  });
  // Same port number and protocol twice is ambiguous (apiserver: Duplicate value on spec.ports[i]).
  const seen = new Set<string>();
  ports.forEach((p, i) => {
    const k = `${p.protocol}/${p.port}`;
    if (seen.has(k)) errs.duplicate(`spec.ports[${i}]`, `${p.port}/${p.protocol}`);
    seen.add(k);
  });
  return ports;
}

function parseScheduler(annotations: Record<string, string>, ctx: ServiceContext, errs: FieldErrors): { scheduler: SchedulerName; schedulerFlags: SchedulerFlags } {
  let scheduler = ctx.defaultScheduler;
  const a = annotations[SCHEDULER_ANNOTATION];
  if (a !== undefined) {
    if ((SCHEDULERS as readonly string[]).includes(a)) scheduler = a as SchedulerName;
    else errs.unsupported(`metadata.annotations[${SCHEDULER_ANNOTATION}]`, a, SCHEDULERS);
  }
  if (ctx.forceScheduler) scheduler = ctx.forceScheduler;
  const flags = { port: false, fallback: false };
  const f = annotations[SCHEDULER_FLAGS_ANNOTATION];
  if (f !== undefined) {
    for (const part of f.split(',').map((s) => s.trim()).filter(Boolean)) {
      // Accept ipvsadm's spelling too: sh-port, mh-fallback.
      const flag = part.replace(/^(sh|mh)-/, '');
      if (flag === 'port' || flag === 'fallback') flags[flag] = true;
      else errs.unsupported(`metadata.annotations[${SCHEDULER_FLAGS_ANNOTATION}]`, part, ['fallback', 'port']);
    }
  }
  return { scheduler, schedulerFlags: flags };
}
