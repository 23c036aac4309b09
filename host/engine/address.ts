/**
 * IP addresses in the engine's wire form. Parsing happens once, off the hot path; the engine is
 * then called with four 32-bit words per address, never strings or BigInt.
 */
import ipaddr from 'ipaddr.js';

/**
 * A parsed address. IPv4 a.b.c.d is `family 4, w0 = (a<<24|b<<16|c<<8|d)>>>0, w1 = w2 = w3 = 0`;
 * IPv6 is `family 6` with w0..w3 the four big-endian 32-bit words. IPv4-mapped IPv6
 * (::ffff:a.b.c.d) is normalised to IPv4, as sockets report it on dual-stack listeners.
 */
export interface Address {
  readonly family: 4 | 6;
  readonly w0: number;
  readonly w1: number;
  readonly w2: number;
  readonly w3: number;
  /** Canonical text form. */
  readonly text: string;
}

/**
 * Whether `text` is an IP address in strict syntax: dotted-quad IPv4 (no inet_aton shorthands such
 * as "1.2.3" or "0x7f.1"), or IPv6 (an embedded dotted quad allowed, as sockets report
 * IPv4-mapped peers).
 */
export function isStrictIP(text: string): boolean {
  return text.includes(':') ? ipaddr.IPv6.isValid(text) : ipaddr.IPv4.isValidFourPartDecimal(text);
}

/** Throws an Error naming the text when it is not an IP address in strict syntax. */
export function parseAddress(text: string): Address {
  if (!isStrictIP(text)) throw new Error(`invalid IP address "${text}"`);
  let addr = ipaddr.parse(text);
  if (addr.kind() === 'ipv6' && (addr as ipaddr.IPv6).isIPv4MappedAddress()) {
    addr = (addr as ipaddr.IPv6).toIPv4Address();
  }
  const bytes = addr.toByteArray();
  if (addr.kind() === 'ipv4') {
    const w0 = ((bytes[0]! << 24) | (bytes[1]! << 16) | (bytes[2]! << 8) | bytes[3]!) >>> 0;
    return { family: 4, w0, w1: 0, w2: 0, w3: 0, text: addr.toString() };
  }
  const w = [0, 0, 0, 0].map(
    (_, i) => ((bytes[4 * i]! << 24) | (bytes[4 * i + 1]! << 16) | (bytes[4 * i + 2]! << 8) | bytes[4 * i + 3]!) >>> 0,
  );
  return { family: 6, w0: w[0]!, w1: w[1]!, w2: w[2]!, w3: w[3]!, text: addr.toString() };
}

/** Canonical text of an address (IPv6 compressed, lower case; IPv4-mapped → IPv4). */
export function canonicalIP(text: string): string {
  return parsedCached(text).text;
}

/**
 * Parsed addresses by text for {@link compareAddresses} and {@link canonicalIP}: sorting a Service's
 * endpoints compares each address O(log n) times, and a model rebuild canonicalises and sorts every
 * Service's. Bounded: cleared when full. Only valid addresses are cached (parseAddress throws).
 */
const parsedForCompare = new Map<string, Address>();
const PARSED_FOR_COMPARE_MAX = 1 << 18;

function parsedCached(text: string): Address {
  let a = parsedForCompare.get(text);
  if (a === undefined) {
    a = parseAddress(text);
    if (parsedForCompare.size >= PARSED_FOR_COMPARE_MAX) parsedForCompare.clear();
    parsedForCompare.set(text, a);
  }
  return a;
}

/** Numeric order with every IPv4 address before every IPv6 address. */
export function compareAddresses(a: string, b: string): number {
  const x = parsedCached(a);
  const y = parsedCached(b);
  return x.family - y.family || x.w0 - y.w0 || x.w1 - y.w1 || x.w2 - y.w2 || x.w3 - y.w3;
}

/** Whether `ip` lies in `cidr` (same family only). Throws on a malformed CIDR. */
export function cidrContains(cidr: string, ip: string): boolean {
  const [net, bits] = ipaddr.parseCIDR(cidr);
  let addr = ipaddr.parse(ip);
  if (addr.kind() === 'ipv6' && (addr as ipaddr.IPv6).isIPv4MappedAddress()) addr = (addr as ipaddr.IPv6).toIPv4Address();
  return addr.kind() === net.kind() && addr.match(net, bits);
}
