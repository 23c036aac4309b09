/**
 * `SnapshotEncoder`: writes a ServiceModel as the engine's binary snapshot (layout:
 * engine/snapshot.ts and docs/snapshot.md) in bounded chunks, straight into a buffer sized up
 * front (the engine's snapshot buffer, for `Engine.loadInSteps`). Encoding 100k service ports
 * takes 0.5–1 s; in one call that blocks every decision of the host's event loop for as long
 * (issue 10, "a full rebuild must not block decisions"). `encodeSnapshot` (snapshot.ts) runs the
 * same encoder in one go, so both give the same bytes. Input errors throw an Error naming the
 * service port and field; the engine re-validates everything it is given anyway.
 */
import { parseAddress, type Address } from './address.js';
import { PROTOCOL_NUMBER, SCHEDULERS, servicePortKey, type ModelServicePort, type SchedulerName, type ServiceModel } from './model.js';

export const SNAPSHOT_MAGIC = 0x57504956;
export const SNAPSHOT_VERSION = 1;
export const HEADER_SIZE = 32;
const ADDRESS_SIZE = 20;
const RANGE_SIZE = 24;
const BACKEND_SIZE = 28;
const SERVICE_PORT_SIZE = 32;
const FNV_OFFSET = 0x811c9dc5;

/** The engine's scheduler ids: the index in SCHEDULERS (rr 0 … random 9). */
export function schedulerId(name: SchedulerName): number {
  return SCHEDULERS.indexOf(name);
}

/** Service port flag bits (engine/layout.ts SPF_*). */
const SPF = { schedPort: 1, schedFallback: 2, affinity: 4, externalLocal: 8, internalLocal: 16, hasEndpoints: 32 } as const;
/** Backend flag bits (engine/layout.ts BF_*). */
const BF = { ready: 1, serving: 2, terminating: 4, local: 8, cluster: 16, external: 32 } as const;
const TYPE_ID = { ClusterIP: 0, NodePort: 1, LoadBalancer: 2 } as const;

/** FNV-1a 32 of `bytes[from, to)`, continuing from hash `h` (so a checksum can be taken chunk by chunk). */
export function fnv1aFrom(h: number, bytes: Uint8Array, from = 0, to = bytes.length): number {
  for (let i = from; i < to; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193) >>> 0;
  return h >>> 0;
}

/** FNV-1a 32 of bytes. */
export function fnv1a(bytes: Uint8Array): number {
  return fnv1aFrom(FNV_OFFSET, bytes);
}

const utf8 = new TextEncoder();

/**
 * The length of `s` in UTF-8 as TextEncoder writes it: a lone surrogate becomes U+FFFD (3
 * bytes). Sizing the buffer this way needs no encoded copy of every name held until writing.
 */
export function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c < 0xdc00 && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

/** Writes `s` as UTF-8 at `bytes[off]` (ASCII directly: no subarray per name); its length. */
function putString(bytes: Uint8Array, off: number, s: string): number {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) return utf8.encodeInto(s, bytes.subarray(off)).written;
    bytes[off + i] = c;
  }
  return s.length;
}

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
  const text = slash < 0 ? cidr : cidr.slice(0, slash);
  const a = addr(sp, field, text);
  // An IPv4-mapped IPv6 range (::ffff:a.b.c.d/n, 96 ≤ n ≤ 128) is normalised with its address:
  // its prefix length counts the 96 mapping bits, so it is checked against 128, then shortened.
  const mapped = a.family === 4 && text.includes(':');
  const max = a.family === 4 && !mapped ? 32 : 128;
  const bits = slash < 0 ? max : Number(cidr.slice(slash + 1));
  if (!Number.isInteger(bits) || bits < (mapped ? 96 : 0) || bits > max) fail(sp, field, `"${cidr}" has a bad prefix length`);
  return { a, bits: mapped ? bits - 96 : bits };
}

/** Records a service port counts against a chunk's budget: itself, its addresses, ranges and backends. */
function records(sp: ModelServicePort): number {
  return 1 + sp.clusterIPs.length + sp.externalIPs.length + sp.loadBalancerIPs.length + sp.loadBalancerSourceRanges.length + sp.backends.length;
}

type MutableAddress = { -readonly [K in keyof Address]: Address[K] };

/**
 * Encodes one model in two passes, each in chunks of about `budget` records (a service port,
 * an address, a range or a backend each): `measure` until it returns true, which gives
 * `byteLength`; then `write` into a buffer of that length until it returns true (each call may
 * pass a new view of the same bytes: Wasm memory that grew detaches the old one). The buffer
 * need not be zeroed: every byte, padding included, is written. The checksum is taken as the
 * chunks are written, so `write`'s last call seals the header. Precondition: the model does not
 * change between the calls.
 */
export class SnapshotEncoder {
  private readonly nodeIPs: Address[];
  private measured = 0;
  private total: number;
  private backends = 0;
  private written = 0;
  private off = HEADER_SIZE;
  private hash = FNV_OFFSET;
  private readonly v4: MutableAddress = { family: 4, w0: 0, w1: 0, w2: 0, w3: 0, text: '' };
  private readonly prevV4: MutableAddress = { family: 4, w0: 0, w1: 0, w2: 0, w3: 0, text: '' };

  constructor(private readonly model: ServiceModel) {
    this.nodeIPs = model.nodeIPs.map((ip, i) => addr(null, `nodeIPs[${i}]`, ip));
    this.total = HEADER_SIZE + this.nodeIPs.length * ADDRESS_SIZE;
  }

  /** The snapshot's length in bytes; known once `measure` returned true. */
  get byteLength(): number {
    if (this.measured < this.model.servicePorts.length) throw new Error('SnapshotEncoder.byteLength: measure the model first');
    return this.total;
  }

  /** Sizes about `budget` more records; true when the whole model is sized. */
  measure(budget: number): boolean {
    const ports = this.model.servicePorts;
    let done = 0;
    while (this.measured < ports.length && done < budget) {
      const sp = ports[this.measured++]!;
      const strBytes = utf8Length(sp.namespace) + utf8Length(sp.name) + utf8Length(sp.portName);
      const addrs = sp.clusterIPs.length + sp.externalIPs.length + sp.loadBalancerIPs.length;
      this.total += SERVICE_PORT_SIZE + addrs * ADDRESS_SIZE + sp.loadBalancerSourceRanges.length * RANGE_SIZE +
        sp.backends.length * BACKEND_SIZE + ((strBytes + 3) & ~3);
      this.backends += sp.backends.length;
      done += records(sp);
    }
    return this.measured === ports.length;
  }

  /**
   * Writes about `budget` more records into `bytes` (`byteLength` long, the same buffer every
   * call); true when the snapshot is complete, header and checksum included.
   */
  write(bytes: Uint8Array, budget: number): boolean {
    if (bytes.length !== this.byteLength) throw new Error(`SnapshotEncoder.write: the buffer holds ${bytes.length} bytes, the snapshot ${this.total}`);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const from = this.off;
    if (from === HEADER_SIZE) for (const a of this.nodeIPs) this.putAddress(view, a);
    const ports = this.model.servicePorts;
    let done = 0;
    while (this.written < ports.length && done < budget) {
      const sp = ports[this.written++]!;
      this.putServicePort(bytes, view, sp);
      done += records(sp);
    }
    this.hash = fnv1aFrom(this.hash, bytes, from, this.off);
    if (this.written < ports.length) return false;
    if (this.off !== this.total) throw new Error(`SnapshotEncoder: wrote ${this.off} bytes of ${this.total} (the model changed while it was encoded)`);
    view.setUint32(0, SNAPSHOT_MAGIC, true);
    view.setUint16(4, SNAPSHOT_VERSION, true);
    view.setUint16(6, HEADER_SIZE, true);
    view.setUint32(8, this.total, true);
    view.setUint32(12, this.nodeIPs.length, true);
    view.setUint32(16, ports.length, true);
    view.setUint32(20, this.backends, true);
    view.setUint32(24, 0, true);
    view.setUint32(28, this.hash, true);
    return true;
  }

  private putAddress(view: DataView, a: Address): void {
    const off = this.off;
    view.setUint32(off, a.family, true);
    view.setUint32(off + 4, a.w0, true);
    view.setUint32(off + 8, a.w1, true);
    view.setUint32(off + 12, a.w2, true);
    view.setUint32(off + 16, a.w3, true);
    this.off = off + ADDRESS_SIZE;
  }

  private putServicePort(bytes: Uint8Array, view: DataView, sp: ModelServicePort): void {
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
    const start = this.off;
    view.setUint8(start, proto);
    view.setUint8(start + 1, sched);
    view.setUint8(start + 2, flags);
    view.setUint8(start + 3, TYPE_ID[sp.type] ?? 0);
    view.setUint16(start + 4, sp.port, true);
    view.setUint16(start + 6, u16(sp, 'nodePort', sp.nodePort), true);
    view.setUint32(start + 8, timeout, true);
    view.setUint16(start + 12, u16(sp, 'clusterIPs', sp.clusterIPs.length), true);
    view.setUint16(start + 14, u16(sp, 'externalIPs', sp.externalIPs.length), true);
    view.setUint16(start + 16, u16(sp, 'loadBalancerIPs', sp.loadBalancerIPs.length), true);
    view.setUint16(start + 18, u16(sp, 'loadBalancerSourceRanges', sp.loadBalancerSourceRanges.length), true);
    if (sp.backends.length > 0xfffe) fail(sp, 'backends', `${sp.backends.length} backends (max 65534)`);
    view.setUint32(start + 20, sp.backends.length, true);
    view.setUint16(start + 30, u16(sp, 'healthCheckNodePort', sp.healthCheckNodePort), true);
    this.off = start + SERVICE_PORT_SIZE;
    sp.clusterIPs.forEach((ip, i) => this.putAddress(view, addr(sp, `clusterIPs[${i}]`, ip)));
    sp.externalIPs.forEach((ip, i) => this.putAddress(view, addr(sp, `externalIPs[${i}]`, ip)));
    sp.loadBalancerIPs.forEach((ip, i) => this.putAddress(view, addr(sp, `loadBalancerIPs[${i}]`, ip)));
    sp.loadBalancerSourceRanges.forEach((cidr, i) => {
      const { a, bits } = parseCIDR(sp, `loadBalancerSourceRanges[${i}]`, cidr);
      this.putAddress(view, a);
      view.setUint32(this.off, bits, true);
      this.off += 4;
    });
    this.putBackends(view, sp);
    // The names, then their lengths (known once written), then zeroed padding to 4 bytes.
    const ns = putString(bytes, this.off, sp.namespace);
    const name = putString(bytes, this.off + ns, sp.name);
    const portName = putString(bytes, this.off + ns + name, sp.portName);
    view.setUint16(start + 24, u16(sp, 'namespace', ns), true);
    view.setUint16(start + 26, u16(sp, 'name', name), true);
    view.setUint16(start + 28, u16(sp, 'portName', portName), true);
    const end = this.off + ((ns + name + portName + 3) & ~3);
    bytes.fill(0, this.off + ns + name + portName, end);
    this.off = end;
  }

  /** Field names are built only on failure: 1.1M template strings cost a full load at 100k services. */
  private putBackends(view: DataView, sp: ModelServicePort): void {
    const v4 = this.v4;
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
      this.putAddress(view, a);
      prev = a === v4 ? (this.prevV4.w0 = w0, this.prevV4) : a;
      prevPort = b.port;
      const off = this.off;
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
      view.setUint16(off + 6, 0, true);
      this.off = off + 8;
    }
  }
}
