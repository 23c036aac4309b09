/**
 * A flow's key and its hash: the protocol and address families (`keyMetaOf`) and the keyed hash
 * of the 5-tuple that places it in the flow table (flows.ts).
 */
import { finishNH, nhTerm, tableKey } from './hash';

// @ts-ignore: decorator
@inline export function keyMetaOf(proto: u32, sf: u32, df: u32): u32 {
  return (proto & 0xff) | (sf == 6 ? <u32>0x100 : 0) | (df == 6 ? <u32>0x200 : 0);
}

/**
 * Hash of a flow key (protocol and families in `keyMeta`): an NH sum over the key's ten words
 * (hash.ts nhTerm, the secret table key), then finishNH. The pairs put each IPv4 key word (s0, d0,
 * ports) with a different partner, so IPv4 keys, whose other words are 0, still mix every bit.
 */
// @ts-ignore: decorator
@inline export function flowHash(keyMeta: u32, s0: u32, s1: u32, s2: u32, s3: u32, ports: u32, d0: u32, d1: u32, d2: u32, d3: u32): u32 {
  // An IPv4 address is its w0 alone: the other words are not part of the key (flowFind).
  const sm: u32 = (keyMeta & 0x100) != 0 ? 0xffffffff : 0;
  const dm: u32 = (keyMeta & 0x200) != 0 ? 0xffffffff : 0;
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
  return flowHash(keyMetaOf(proto, sf, df), s0, s1, s2, s3, (sport << 16) | (dport & 0xffff), d0, d1, d2, d3);
}
