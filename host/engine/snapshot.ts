/**
 * Encodes a ServiceModel into the engine's binary snapshot (layout: engine/snapshot.ts and
 * docs/snapshot.md). Runs off the hot path, once per model change. Input errors throw an Error
 * naming the service port and field; the engine re-validates everything it is given anyway.
 */
import { parseAddress, type Address } from './address.js';
import { PROTOCOL_NUMBER, SCHEDULERS, servicePortKey, type ModelServicePort, type SchedulerName, type ServiceModel } from './model.js';

export const SNAPSHOT_MAGIC = 0x57504956;
export const SNAPSHOT_VERSION = 1;
const HEADER_SIZE = 32;
const ADDRESS_SIZE = 20;
const RANGE_SIZE = 24;
const BACKEND_SIZE = 28;
const SERVICE_PORT_SIZE = 32;

/** The engine's scheduler ids: the index in SCHEDULERS (rr 0 … random 9). */
export function schedulerId(name: SchedulerName): number {
  return SCHEDULERS.indexOf(name);
}

/** Rejection codes of engine/snapshot.ts, with what each means. */
export const SNAPSHOT_ERRORS: Readonly<Record<number, string>> = {
  1: 'snapshot too short for its header',
  2: 'bad magic (not a vipwasm snapshot)',
  3: 'unsupported snapshot version',
  4: 'length field does not match the buffer length',
  5: 'checksum mismatch',
  6: 'a record runs past the end of the snapshot',
  7: 'unknown protocol number',
  8: 'unknown scheduler id',
  9: 'unknown flag bits or non-zero reserved field',
  10: 'bad address family (or IPv4 address with non-zero high words)',
  11: 'source range prefix length too long for its family',
  12: 'port 0',
  13: 'backends not in strictly ascending engine order (address, then port)',
  14: 'record counts do not add up',
  15: 'too many backends in one service port (max 65534)',
  16: 'bad header size or reserved header field',
  17: 'engine not initialized',
  18: 'the serving generation is not the one this delta or staged build started from',
  19: 'delta: bad op (unknown kind, index out of range or named twice, or op and record counts disagree)',
  20: 'delta: only a full snapshot can express it (two service ports claim one match key)',
  21: 'no staged build (superseded by another load or delta, or never begun)',
};

/** Service port flag bits (engine/layout.ts SPF_*). */
const SPF = { schedPort: 1, schedFallback: 2, affinity: 4, externalLocal: 8, internalLocal: 16, hasEndpoints: 32 } as const;
/** Backend flag bits (engine/layout.ts BF_*). */
const BF = { ready: 1, serving: 2, terminating: 4, local: 8, cluster: 16, external: 32 } as const;
const TYPE_ID = { ClusterIP: 0, NodePort: 1, LoadBalancer: 2 } as const;

/** FNV-1a 32 of bytes. */
export function fnv1a(bytes: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193) >>> 0;
  return h >>> 0;
}

const utf8 = new TextEncoder();

function fail(sp: ModelServicePort, field: string, message: string): never {
  throw new Error(`service port "${servicePortKey(sp)}": ${field}: ${message}`);
}

function u16(sp: ModelServicePort, field: string, v: number): number {
  if (!Number.isInteger(v) || v < 0 || v > 0xffff) fail(sp, field, `${v} is not an integer in 0..65535`);
  return v;
}

/**
 * A dotted-quad IPv4 address in canonical form (decimal octets ≤ 255, no leading zeros) as its
 * word, or -1 for any other text (which then goes through parseAddress). Encoding 100k services
 * parses 1.1M addresses: through ipaddr.js that took 2.8 s of a full load (issue 10).
 */
function canonicalIPv4(text: string): number {
  let w = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || dots === 3) return -1;
      w = w * 256 + octet;
      octet = 0;
      digits = 0;
      dots++;
      continue;
    }
    if (c < 48 || c > 57 || (digits > 0 && octet === 0)) return -1;
    octet = octet * 10 + (c - 48);
    digits++;
    if (octet > 255) return -1;
  }
  return dots === 3 && digits > 0 ? w * 256 + octet : -1;
}

function addr(sp: ModelServicePort | null, field: string, text: string): Address {
  const w0 = canonicalIPv4(text);
  if (w0 >= 0) return { family: 4, w0, w1: 0, w2: 0, w3: 0, text };
  try {
    return parseAddress(text);
  } catch (err) {
    if (sp) fail(sp, field, (err as Error).message);
    throw new Error(`${field}: ${(err as Error).message}`);
  }
}

function parseCIDR(sp: ModelServicePort, field: string, cidr: string): { a: Address; bits: number } {
  const slash = cidr.lastIndexOf('/');
  const a = addr(sp, field, slash < 0 ? cidr : cidr.slice(0, slash));
  const max = a.family === 4 ? 32 : 128;
  let bits = slash < 0 ? max : Number(cidr.slice(slash + 1));
  if (!Number.isInteger(bits) || bits < 0 || bits > max) fail(sp, field, `"${cidr}" has a bad prefix length`);
  // An IPv4-mapped IPv6 range (::ffff:a.b.c.d/n, n ≥ 96) is normalised with its address.
  if (a.family === 4 && slash >= 0 && cidr.slice(0, slash).includes(':')) bits = Math.max(0, bits - 96);
  return { a, bits };
}

/** Encodes `model` as a snapshot the engine accepts. Throws on input it cannot represent. */
export function encodeSnapshot(model: ServiceModel): Uint8Array {
  const nodeIPs = model.nodeIPs.map((ip, i) => addr(null, `nodeIPs[${i}]`, ip));
  const parts = model.servicePorts.map((sp) => {
    const ns = utf8.encode(sp.namespace);
    const name = utf8.encode(sp.name);
    const portName = utf8.encode(sp.portName);
    const strBytes = ns.length + name.length + portName.length;
    const addrs = sp.clusterIPs.length + sp.externalIPs.length + sp.loadBalancerIPs.length;
    const size = SERVICE_PORT_SIZE + addrs * ADDRESS_SIZE + sp.loadBalancerSourceRanges.length * RANGE_SIZE +
      sp.backends.length * BACKEND_SIZE + ((strBytes + 3) & ~3);
    return { sp, ns, name, portName, size };
  });
  let total = HEADER_SIZE + nodeIPs.length * ADDRESS_SIZE;
  let backends = 0;
  for (const p of parts) {
    total += p.size;
    backends += p.sp.backends.length;
  }
  const bytes = new Uint8Array(total);
  const view = new DataView(bytes.buffer);
  let off = HEADER_SIZE;
  const putAddress = (a: Address): void => {
    view.setUint32(off, a.family, true);
    view.setUint32(off + 4, a.w0, true);
    view.setUint32(off + 8, a.w1, true);
    view.setUint32(off + 12, a.w2, true);
    view.setUint32(off + 16, a.w3, true);
    off += ADDRESS_SIZE;
  };
  for (const a of nodeIPs) putAddress(a);
  // Reused for canonical IPv4 backends (no Address object per backend).
  const v4: { -readonly [K in keyof Address]: Address[K] } = { family: 4, w0: 0, w1: 0, w2: 0, w3: 0, text: '' };
  const prevV4: { -readonly [K in keyof Address]: Address[K] } = { family: 4, w0: 0, w1: 0, w2: 0, w3: 0, text: '' };
  for (const { sp, ns, name, portName } of parts) {
    const proto = PROTOCOL_NUMBER[sp.protocol];
    if (proto === undefined) fail(sp, 'protocol', `"${sp.protocol}" is not TCP, UDP or SCTP`);
    const sched = schedulerId(sp.scheduler);
    if (sched < 0) fail(sp, 'scheduler', `"${sp.scheduler}" is not one of ${SCHEDULERS.join(', ')}`);
    if (sp.port < 1 || sp.port > 65535 || !Number.isInteger(sp.port)) fail(sp, 'port', `${sp.port} is not in 1..65535`);
    // The API server's range for sessionAffinityConfig.clientIP.timeoutSeconds: 0 would pin nothing.
    const timeout = sp.sessionAffinity === 'ClientIP' ? sp.affinityTimeoutSeconds : 0;
    if (sp.sessionAffinity === 'ClientIP' && (!Number.isInteger(timeout) || timeout < 1 || timeout > 86400)) {
      fail(sp, 'affinityTimeoutSeconds', `${timeout} is not in 1..86400 (sessionAffinityConfig.clientIP.timeoutSeconds with ClientIP affinity)`);
    }
    let flags = 0;
    if (sp.schedulerFlags.port) flags |= SPF.schedPort;
    if (sp.schedulerFlags.fallback) flags |= SPF.schedFallback;
    if (sp.sessionAffinity === 'ClientIP') flags |= SPF.affinity;
    if (sp.externalTrafficPolicy === 'Local') flags |= SPF.externalLocal;
    if (sp.internalTrafficPolicy === 'Local') flags |= SPF.internalLocal;
    if (sp.hasEndpoints) flags |= SPF.hasEndpoints;
    const start = off;
    view.setUint8(off, proto);
    view.setUint8(off + 1, sched);
    view.setUint8(off + 2, flags);
    view.setUint8(off + 3, TYPE_ID[sp.type] ?? 0);
    view.setUint16(off + 4, sp.port, true);
    view.setUint16(off + 6, u16(sp, 'nodePort', sp.nodePort), true);
    view.setUint32(off + 8, timeout, true);
    view.setUint16(off + 12, u16(sp, 'clusterIPs', sp.clusterIPs.length), true);
    view.setUint16(off + 14, u16(sp, 'externalIPs', sp.externalIPs.length), true);
    view.setUint16(off + 16, u16(sp, 'loadBalancerIPs', sp.loadBalancerIPs.length), true);
    view.setUint16(off + 18, u16(sp, 'loadBalancerSourceRanges', sp.loadBalancerSourceRanges.length), true);
    if (sp.backends.length > 0xfffe) fail(sp, 'backends', `${sp.backends.length} backends (max 65534)`);
    view.setUint32(off + 20, sp.backends.length, true);
    view.setUint16(off + 24, u16(sp, 'namespace', ns.length), true);
    view.setUint16(off + 26, u16(sp, 'name', name.length), true);
    view.setUint16(off + 28, u16(sp, 'portName', portName.length), true);
    view.setUint16(off + 30, u16(sp, 'healthCheckNodePort', sp.healthCheckNodePort), true);
    off = start + SERVICE_PORT_SIZE;
    sp.clusterIPs.forEach((ip, i) => putAddress(addr(sp, `clusterIPs[${i}]`, ip)));
    sp.externalIPs.forEach((ip, i) => putAddress(addr(sp, `externalIPs[${i}]`, ip)));
    sp.loadBalancerIPs.forEach((ip, i) => putAddress(addr(sp, `loadBalancerIPs[${i}]`, ip)));
    sp.loadBalancerSourceRanges.forEach((cidr, i) => {
      const { a, bits } = parseCIDR(sp, `loadBalancerSourceRanges[${i}]`, cidr);
      putAddress(a);
      view.setUint32(off, bits, true);
      off += 4;
    });
    // Field names are built only on failure: 1.1M template strings cost a full load at 100k services.
    let prev: Address | null = null;
    let prevPort = 0;
    for (let i = 0; i < sp.backends.length; i++) {
      const b = sp.backends[i]!;
      const w0 = canonicalIPv4(b.ip);
      const a = w0 >= 0 ? (v4.w0 = w0, v4) : addr(sp, `backends[${i}].ip`, b.ip);
      if (b.port < 1 || b.port > 65535 || !Number.isInteger(b.port)) fail(sp, `backends[${i}].port`, `${b.port} is not in 1..65535`);
      if (prev) {
        const c = prev.family - a.family || prev.w0 - a.w0 || prev.w1 - a.w1 || prev.w2 - a.w2 || prev.w3 - a.w3 || prevPort - b.port;
        if (c >= 0) fail(sp, `backends[${i}]`, `${b.ip}:${b.port} is not after the previous backend in engine order (address, then port; no duplicates)`);
      }
      putAddress(a);
      prev = a === v4 ? (prevV4.w0 = w0, prevV4) : a;
      prevPort = b.port;
      view.setUint16(off, b.port, true);
      const weight = Number.isInteger(b.weight) && b.weight >= 0 && b.weight <= 0xffff ? b.weight : u16(sp, `backends[${i}].weight`, b.weight);
      view.setUint16(off + 2, weight, true);
      let f = 0;
      if (b.ready) f |= BF.ready;
      if (b.serving) f |= BF.serving;
      if (b.terminating) f |= BF.terminating;
      if (b.local) f |= BF.local;
      if (b.cluster) f |= BF.cluster;
      if (b.external) f |= BF.external;
      view.setUint16(off + 4, f, true);
      off += 8;
    }
    bytes.set(ns, off);
    bytes.set(name, off + ns.length);
    bytes.set(portName, off + ns.length + name.length);
    off += (ns.length + name.length + portName.length + 3) & ~3;
  }
  view.setUint32(0, SNAPSHOT_MAGIC, true);
  view.setUint16(4, SNAPSHOT_VERSION, true);
  view.setUint16(6, HEADER_SIZE, true);
  view.setUint32(8, total, true);
  view.setUint32(12, nodeIPs.length, true);
  view.setUint32(16, model.servicePorts.length, true);
  view.setUint32(20, backends, true);
  view.setUint32(24, 0, true);
  view.setUint32(28, fnv1a(bytes.subarray(HEADER_SIZE)), true);
  return bytes;
}

/** Recomputes the checksum after a deliberate edit (tests of the engine's validation). */
export function resealSnapshot(bytes: Uint8Array): Uint8Array {
  new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).setUint32(28, fnv1a(bytes.subarray(HEADER_SIZE)), true);
  return bytes;
}
