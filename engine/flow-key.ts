/**
 * A flow's key and its hash: the protocol and address families (`keyMetaOf`) and the keyed hash
 * of the 5-tuple that places it in the flow table (flows.ts).
 */
import { finishNH, nhTerm, tableKey } from './hash';

/** Key meta bits: the source, the destination is IPv6. */
// @ts-ignore: decorator
@inline export const META_SRC_V6: u32 = 0x100;
// @ts-ignore: decorator
@inline export const META_DST_V6: u32 = 0x200;

// @ts-ignore: decorator
@inline export function keyMetaOf(proto: u32, sf: u32, df: u32): u32 {
  return (proto & 0xff) | (sf == 6 ? META_SRC_V6 : 0) | (df == 6 ? META_DST_V6 : 0);
}

/** sport << 16 | dport: the key's port word. */
// @ts-ignore: decorator
@inline export function flowPorts(sport: u32, dport: u32): u32 {
  return (sport << 16) | (dport & 0xffff);
}

/**
 * All ones when the key's source (destination) is IPv6, else 0: an IPv4 address is its w0 alone,
 * so its words 1..3 are masked out of the hash, the compare and the stored key (flows.ts).
 */
// @ts-ignore: decorator
@inline export function srcWordMask(keyMeta: u32): u32 {
  return (keyMeta & META_SRC_V6) != 0 ? 0xffffffff : 0;
}
// @ts-ignore: decorator
@inline export function dstWordMask(keyMeta: u32): u32 {
  return (keyMeta & META_DST_V6) != 0 ? 0xffffffff : 0;
}

/**
 * Hash of a flow key (protocol and families in `keyMeta`): an NH sum over the key's ten words
 * (hash.ts nhTerm, the secret table key), then finishNH. The pairs put each IPv4 key word (s0, d0,
 * ports) with a different partner, so IPv4 keys, whose other words are 0, still mix every bit.
 */
// @ts-ignore: decorator
@inline export function flowHash(keyMeta: u32, s0: u32, s1: u32, s2: u32, s3: u32, ports: u32, d0: u32, d1: u32, d2: u32, d3: u32): u32 {
  const sm = srcWordMask(keyMeta);
  const dm = dstWordMask(keyMeta);
  s1 &= sm;
  s2 &= sm;
  s3 &= sm;
  d1 &= dm;
  d2 &= dm;
  d3 &= dm;
  return finishNH(
    nhTerm(s0, tableKey(0), ports, tableKey(1)) +
    nhTerm(d0, tableKey(2), keyMeta, tableKey(3)) +
    nhTerm(s1, tableKey(4), s2, tableKey(5)) +
    nhTerm(s3, tableKey(6), d1, tableKey(7)) +
    nhTerm(d2, tableKey(8), d3, tableKey(9)) +
    (<u64>(s0 ^ tableKey(10)) << 32 | <u64>(d0 ^ tableKey(11))));
}

/** The flow hash of a connection's 5-tuple (flowHash over its key words), as the batches compute it ahead. */
// @ts-ignore: decorator
@inline export function tupleHash(proto: u32, sf: u32, s0: u32, s1: u32, s2: u32, s3: u32, sport: u32,
  df: u32, d0: u32, d1: u32, d2: u32, d3: u32, dport: u32): u32 {
  return flowHash(keyMetaOf(proto, sf, df), s0, s1, s2, s3, flowPorts(sport, dport), d0, d1, d2, d3);
}
