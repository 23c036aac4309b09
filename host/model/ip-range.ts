/**
 * Address ranges for allocation: a Service CIDR (`10.96.0.0/12`) or a MetalLB-style pool entry
 * (`198.18.0.0/28` or `198.18.0.10-198.18.0.20`), as BigInt offsets so IPv4 and IPv6 share code.
 */
import ipaddr from 'ipaddr.js';
import { isCIDR, isIP } from './fields.js';

export interface IPRange {
  readonly family: 4 | 6;
  /** The text the user gave. */
  readonly text: string;
  /** First and last usable address, as integers. */
  readonly first: bigint;
  readonly last: bigint;
}

function toBig(addr: ipaddr.IPv4 | ipaddr.IPv6): bigint {
  let n = 0n;
  for (const b of addr.toByteArray()) n = (n << 8n) | BigInt(b);
  return n;
}

export function bigToIP(n: bigint, family: 4 | 6): string {
  const len = family === 4 ? 4 : 16;
  const bytes = new Array<number>(len);
  for (let i = len - 1; i >= 0; i--) {
    bytes[i] = Number(n & 0xffn);
    n >>= 8n;
  }
  return ipaddr.fromByteArray(bytes).toString();
}

/** Integer value and family of an IP text (IPv4-mapped IPv6 counts as IPv4). Throws when invalid. */
export function ipToBig(ip: string): { family: 4 | 6; value: bigint } {
  let addr = ipaddr.parse(ip);
  if (addr.kind() === 'ipv6' && (addr as ipaddr.IPv6).isIPv4MappedAddress()) addr = (addr as ipaddr.IPv6).toIPv4Address();
  return { family: addr.kind() === 'ipv4' ? 4 : 6, value: toBig(addr) };
}

/**
 * A Service CIDR as the apiserver's IP allocator uses it: the network address is never handed
 * out, nor is the IPv4 broadcast address. Throws an Error with a readable message when malformed.
 */
export function parseServiceCIDR(cidr: string): IPRange {
  let net: [ipaddr.IPv4 | ipaddr.IPv6, number];
  try {
    if (!isCIDR(cidr.trim())) throw new Error('bad');
    net = ipaddr.parseCIDR(cidr.trim());
  } catch {
    throw new Error(`invalid CIDR "${cidr}"`);
  }
  const [addr, bits] = net;
  const family = addr.kind() === 'ipv4' ? 4 : 6;
  const width = family === 4 ? 32 : 128;
  const size = 1n << BigInt(width - bits);
  const base = (toBig(addr) >> BigInt(width - bits)) << BigInt(width - bits);
  const first = size > 2n ? base + 1n : base;
  const last = family === 4 && size > 2n ? base + size - 2n : base + size - 1n;
  return { family, text: cidr.trim(), first, last };
}

/**
 * A pool entry: a CIDR or `a-b`. For an IPv4 CIDR wider than /31 the network and broadcast
 * addresses are skipped (MetalLB's avoidBuggyIPs), so no Service is handed a `.0`. Throws on bad input.
 */
export function parsePoolEntry(entry: string): IPRange {
  const s = entry.trim();
  if (s.includes('-')) {
    const [a, b] = s.split('-').map((x) => x.trim());
    if (!a || !b || !isIP(a) || !isIP(b)) throw new Error(`invalid address range "${entry}"`);
    const x = ipToBig(a);
    const y = ipToBig(b);
    if (x.family !== y.family || y.value < x.value) throw new Error(`invalid address range "${entry}"`);
    return { family: x.family, text: s, first: x.value, last: y.value };
  }
  let net: [ipaddr.IPv4 | ipaddr.IPv6, number];
  try {
    if (!isCIDR(s)) throw new Error('bad');
    net = ipaddr.parseCIDR(s);
  } catch {
    throw new Error(`invalid address pool entry "${entry}" (want a CIDR or first-last)`);
  }
  const [addr, bits] = net;
  const family = addr.kind() === 'ipv4' ? 4 : 6;
  const width = family === 4 ? 32 : 128;
  const base = (toBig(addr) >> BigInt(width - bits)) << BigInt(width - bits);
  const size = 1n << BigInt(width - bits);
  const skip = family === 4 && size > 2n ? 1n : 0n;
  return { family, text: s, first: base + skip, last: base + size - 1n - skip };
}

export function rangeContains(r: IPRange, ip: string): boolean {
  if (!isIP(ip)) return false;
  const x = ipToBig(ip);
  return x.family === r.family && x.value >= r.first && x.value <= r.last;
}

export function rangeSize(r: IPRange): bigint {
  return r.last - r.first + 1n;
}

/** `30000-32767` (or `N`) → [lo, hi]. Throws on bad input. */
export function parsePortRange(text: string): [number, number] {
  const m = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(text);
  const lo = m ? Number(m[1]) : NaN;
  const hi = m ? Number(m[2] ?? m[1]) : NaN;
  if (!m || lo < 1 || hi > 65535 || hi < lo) throw new Error(`invalid port range "${text}" (want e.g. 30000-32767)`);
  return [lo, hi];
}

/** FNV-1a, 64-bit: a stable start offset for hash-probed allocation. */
export function fnv64(s: string): bigint {
  let h = 0xcbf29ce484222325n;
  for (let i = 0; i < s.length; i++) {
    h ^= BigInt(s.charCodeAt(i));
    h = (h * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return h;
}
