/**
 * Snapshot decoder and validator. The host (host/engine/snapshot.ts) encodes a ServiceModel into
 * this format; docs/snapshot.md documents it for people. All integers are little-endian.
 *
 *   offset  size  header (32 bytes)
 *   ------  ----  ------------------------------------------------------------
 *        0     4  magic "VIPW" (0x57504956 read as u32)
 *        4     2  format version (SNAPSHOT_VERSION)
 *        6     2  header size (32)
 *        8     4  total length in bytes, header included
 *       12     4  node IP count (N)
 *       16     4  service port count (S)
 *       20     4  backend count, all service ports together (B)
 *       24     4  reserved, 0
 *       28     4  FNV-1a 32 of bytes [32, total)
 *
 *   then N addresses, then S service ports, each:
 *
 *   +--------+--------+--------+--------+  service port, fixed part (32 bytes)
 *   | proto  | sched  | flags  | type   |   proto 6|17|132, sched 0..9 (layout.ts SCHED_*),
 *   +--------+--------+--------+--------+   flags SPF_*, type 0 ClusterIP 1 NodePort 2 LoadBalancer
 *   |      port       |    nodePort     |
 *   +-----------------+-----------------+
 *   |      affinity timeout (seconds)   |
 *   +-----------------+-----------------+
 *   | clusterIP count | externalIP count|
 *   | LB IP count     | src range count |
 *   +-----------------+-----------------+
 *   |          backend count            |
 *   +-----------------+-----------------+
 *   | namespace len   | name len        |
 *   | portName len    | healthCheckNodePort
 *   +-----------------+-----------------+
 *   clusterIPs, externalIPs, LB IPs: ADDRESS each
 *   source ranges: ADDRESS + u32 prefix length (24 bytes each)
 *   backends, strictly ascending in engine order (family, w0..w3, port): BACKEND each
 *   namespace, name, portName: UTF-8 bytes, then zero padding to a multiple of 4
 *
 *   ADDRESS (20 bytes): u32 family (4|6), u32 w0, w1, w2, w3 (IPv4: w0 = a<<24|b<<16|c<<8|d, rest 0)
 *   BACKEND (28 bytes): ADDRESS, u16 port, u16 weight, u16 flags (BF_*), u16 reserved 0
 *
 * A malformed snapshot yields a nonzero code (SNAP_* below) and nothing of it is used.
 */
import { Generation } from './generation';
import {
  B_FAMILY, SPF_AFFINITY, B_FOLD, B_LAST_WEIGHT, B_PORT, B_W0, B_WORDS, H_FLAGS, H_LOCAL_INDEX, H_SP, H_WEIGHT, H_WORDS,
  BF_ALL, PROTO_SCTP, PROTO_TCP, PROTO_UDP, RANGE_WORDS, SCHED_COUNT, SPF_ALL, SP_AFFINITY_MS,
  SP_BACKEND_COUNT, SP_BACKEND_START, SP_META, SP_NAME_LENS, SP_NAME_PTR, SP_PORTNAME_LEN,
  SP_PORTS, SP_RANGE_COUNT, SP_ADDR_PTR, SP_ADDR_COUNTS, SP_LB_COUNT, SP_RANGE_START, SP_WORDS,
} from './layout';
import { foldAddress } from './hash';

/** "VIPW" little-endian. */
// @ts-ignore: decorator
@inline export const SNAPSHOT_MAGIC: u32 = 0x57504956;
/** Bumped on every incompatible layout change. */
// @ts-ignore: decorator
@inline export const SNAPSHOT_VERSION: u32 = 1;
// @ts-ignore: decorator
@inline export const HEADER_SIZE: i32 = 32;
// @ts-ignore: decorator
@inline export const ADDRESS_SIZE: i32 = 20;
// @ts-ignore: decorator
@inline export const RANGE_SIZE: i32 = 24;
// @ts-ignore: decorator
@inline export const BACKEND_SIZE: i32 = 28;
// @ts-ignore: decorator
@inline export const SERVICE_PORT_SIZE: i32 = 32;

// Rejection codes (host/engine/snapshot.ts SNAPSHOT_ERRORS mirrors them with messages).
export const SNAP_OK: i32 = 0;
export const SNAP_TOO_SHORT: i32 = 1;
export const SNAP_BAD_MAGIC: i32 = 2;
export const SNAP_BAD_VERSION: i32 = 3;
export const SNAP_BAD_LENGTH: i32 = 4;
export const SNAP_BAD_CHECKSUM: i32 = 5;
export const SNAP_TRUNCATED: i32 = 6;
export const SNAP_BAD_PROTOCOL: i32 = 7;
export const SNAP_BAD_SCHEDULER: i32 = 8;
export const SNAP_BAD_FLAGS: i32 = 9;
export const SNAP_BAD_FAMILY: i32 = 10;
export const SNAP_BAD_PREFIX: i32 = 11;
export const SNAP_BAD_PORT: i32 = 12;
export const SNAP_BAD_ORDER: i32 = 13;
export const SNAP_BAD_COUNT: i32 = 14;
export const SNAP_TOO_MANY_BACKENDS: i32 = 15;
export const SNAP_BAD_HEADER: i32 = 16;
export const SNAP_NOT_INITIALIZED: i32 = 17;

/** Where decoding stopped, for error messages: byte offset and service port index (-1 = none). */
export let snapshotErrorOffset: i32 = 0;
export let snapshotErrorServicePort: i32 = -1;

/** FNV-1a 32 over `len` bytes at `ptr`. */
export function fnv1a(ptr: usize, len: i32): u32 {
  let h: u32 = 0x811c9dc5;
  for (let i = 0; i < len; i++) {
    h = (h ^ <u32>load<u8>(ptr + <usize>i)) * 0x01000193;
  }
  return h;
}

/** Validates an ADDRESS at `p`; 0 or SNAP_BAD_FAMILY. */
function checkAddress(p: usize): i32 {
  const family = load<u32>(p);
  if (family == 4) {
    if ((load<u32>(p, 8) | load<u32>(p, 12) | load<u32>(p, 16)) != 0) return SNAP_BAD_FAMILY;
    return SNAP_OK;
  }
  return family == 6 ? SNAP_OK : SNAP_BAD_FAMILY;
}

/** Engine order of two ADDRESS+port records: <0, 0, >0. */
function compareBackendRecords(a: usize, b: usize): i32 {
  for (let i: usize = 0; i < 20; i += 4) {
    const x = load<u32>(a + i);
    const y = load<u32>(b + i);
    if (x != y) return x < y ? -1 : 1;
  }
  const pa = <i32>load<u16>(a, 20);
  const pb = <i32>load<u16>(b, 20);
  return pa - pb;
}

/**
 * Records to allocate for `n`: a sixteenth more (and 256), so the deltas that follow a full load
 * (delta.ts) append into room instead of copying 100 MB arrays to grow them (a 20-350 ms swap at
 * 100k services, bench/swap.ts).
 */
export function withSlack(n: i32): i32 {
  return n + (n >> 4) + 256;
}

/** A StaticArray<u32> of `n` words whose contents are whatever the allocator hands out. */
export function unzeroedWords(n: i32): StaticArray<u32> {
  return changetype<StaticArray<u32>>(__new(<usize>n << 2, idof<StaticArray<u32>>()));
}

/** Records where a delta (delta.ts) was rejected; returns `code`. */
export function setSnapshotError(code: i32, offset: i32): i32 {
  snapshotErrorOffset = offset;
  snapshotErrorServicePort = -1;
  return code;
}

function fail(code: i32, offset: i32, sp: i32): i32 {
  snapshotErrorOffset = offset;
  snapshotErrorServicePort = sp;
  return code;
}

/** Totals found by `validateSnapshot`, used to size the generation's arrays. */
export let countedRanges: i32 = 0;

/**
 * Where a resumable pass over a snapshot stands (engine/build.ts runs the passes in bounded
 * steps): the checksum so far, the next service port and its byte offset, and running totals.
 */
export class SnapshotCursor {
  hash: u32 = 0x811c9dc5;
  hashed: i32 = HEADER_SIZE;
  off: i64 = HEADER_SIZE;
  sp: i32 = 0;
  backends: i64 = 0;
  ranges: i32 = 0;
}

/** The header's fields and the node addresses; SNAP_OK or a code. Leaves `cur` at the first service port. */
export function validateHeader(base: usize, len: i32, cur: SnapshotCursor): i32 {
  snapshotErrorOffset = 0;
  snapshotErrorServicePort = -1;
  if (len < HEADER_SIZE) return fail(SNAP_TOO_SHORT, 0, -1);
  if (load<u32>(base) != SNAPSHOT_MAGIC) return fail(SNAP_BAD_MAGIC, 0, -1);
  if (<u32>load<u16>(base, 4) != SNAPSHOT_VERSION) return fail(SNAP_BAD_VERSION, 4, -1);
  if (<i32>load<u16>(base, 6) != HEADER_SIZE || load<u32>(base, 24) != 0) return fail(SNAP_BAD_HEADER, 6, -1);
  if (load<u32>(base, 8) != <u32>len) return fail(SNAP_BAD_LENGTH, 8, -1);
  return SNAP_OK;
}

/** Hashes up to `budget` more bytes; SNAP_OK when done and matching, -1 when not done, or SNAP_BAD_CHECKSUM. */
export function checksumStep(base: usize, len: i32, cur: SnapshotCursor, budget: i32): i32 {
  const end = len - cur.hashed > budget ? cur.hashed + budget : len;
  let h = cur.hash;
  for (let i = cur.hashed; i < end; i++) h = (h ^ <u32>load<u8>(base + <usize>i)) * 0x01000193;
  cur.hash = h;
  cur.hashed = end;
  if (end < len) return -1;
  return h == load<u32>(base, 28) ? SNAP_OK : fail(SNAP_BAD_CHECKSUM, 28, -1);
}

/** Checks the node addresses; SNAP_OK or a code. Leaves `cur` at the first service port. */
export function validateNodeIPs(base: usize, len: i32, cur: SnapshotCursor): i32 {
  const nodeIPs = load<u32>(base, 12);
  let off: i64 = HEADER_SIZE;
  if (off + <i64>nodeIPs * ADDRESS_SIZE > <i64>len) return fail(SNAP_TRUNCATED, 12, -1);
  for (let i: u32 = 0; i < nodeIPs; i++) {
    const code = checkAddress(base + <usize>off);
    if (code) return fail(code, <i32>off, -1);
    off += ADDRESS_SIZE;
  }
  cur.off = off;
  return SNAP_OK;
}

/**
 * Checks up to `budget` more service ports; -1 when some remain, else SNAP_OK (totals add up;
 * `countedRanges` set) or a code with `snapshotErrorOffset` / `snapshotErrorServicePort`.
 */
export function validateStep(base: usize, len: i32, cur: SnapshotCursor, budget: i32): i32 {
  const spCount = <i32>load<u32>(base, 16);
  const stop = spCount - cur.sp > budget ? cur.sp + budget : spCount;
  let off = cur.off;
  for (let s = cur.sp; s < stop; s++) {
    if (off + SERVICE_PORT_SIZE > <i64>len) return fail(SNAP_TRUNCATED, <i32>off, s);
    const p = base + <usize>off;
    const proto = <u32>load<u8>(p);
    if (proto != PROTO_TCP && proto != PROTO_UDP && proto != PROTO_SCTP) return fail(SNAP_BAD_PROTOCOL, <i32>off, s);
    if (<u32>load<u8>(p, 1) >= SCHED_COUNT) return fail(SNAP_BAD_SCHEDULER, <i32>off + 1, s);
    if ((<u32>load<u8>(p, 2) & ~SPF_ALL) != 0) return fail(SNAP_BAD_FLAGS, <i32>off + 2, s);
    if (<u32>load<u8>(p, 3) > 2) return fail(SNAP_BAD_FLAGS, <i32>off + 3, s);
    if (load<u16>(p, 4) == 0) return fail(SNAP_BAD_PORT, <i32>off + 4, s);
    // ClientIP affinity: timeoutSeconds in the API server's 1..86400; none: 0..86400.
    const affinityS = load<u32>(p, 8);
    if (affinityS > 86400 || (affinityS == 0 && (<u32>load<u8>(p, 2) & SPF_AFFINITY) != 0)) return fail(SNAP_BAD_FLAGS, <i32>off + 8, s);
    const addrCount = <i64>load<u16>(p, 12) + <i64>load<u16>(p, 14) + <i64>load<u16>(p, 16);
    const rangeCount = <i64>load<u16>(p, 18);
    const bCount = <i64>load<u32>(p, 20);
    const strBytes = <i64>load<u16>(p, 24) + <i64>load<u16>(p, 26) + <i64>load<u16>(p, 28);
    off += SERVICE_PORT_SIZE;
    const need = addrCount * ADDRESS_SIZE + rangeCount * RANGE_SIZE + bCount * BACKEND_SIZE + ((strBytes + 3) & ~3);
    if (off + need > <i64>len) return fail(SNAP_TRUNCATED, <i32>off, s);
    for (let i: i64 = 0; i < addrCount; i++) {
      const code = checkAddress(base + <usize>off);
      if (code) return fail(code, <i32>off, s);
      off += ADDRESS_SIZE;
    }
    for (let i: i64 = 0; i < rangeCount; i++) {
      const q = base + <usize>off;
      const code = checkAddress(q);
      if (code) return fail(code, <i32>off, s);
      const prefix = load<u32>(q, 20);
      if (prefix > (load<u32>(q) == 4 ? <u32>32 : <u32>128)) return fail(SNAP_BAD_PREFIX, <i32>off + 20, s);
      off += RANGE_SIZE;
    }
    if (bCount > 0xfffe) return fail(SNAP_TOO_MANY_BACKENDS, <i32>off, s);
    for (let i: i64 = 0; i < bCount; i++) {
      const q = base + <usize>off;
      const code = checkAddress(q);
      if (code) return fail(code, <i32>off, s);
      if (load<u16>(q, 20) == 0) return fail(SNAP_BAD_PORT, <i32>off + 20, s);
      if ((<u32>load<u16>(q, 24) & ~BF_ALL) != 0 || load<u16>(q, 26) != 0) return fail(SNAP_BAD_FLAGS, <i32>off + 24, s);
      if (i > 0 && compareBackendRecords(q - BACKEND_SIZE, q) >= 0) return fail(SNAP_BAD_ORDER, <i32>off, s);
      off += BACKEND_SIZE;
    }
    const padded = (strBytes + 3) & ~3;
    for (let i = strBytes; i < padded; i++) {
      if (load<u8>(base + <usize>(off + i)) != 0) return fail(SNAP_BAD_FLAGS, <i32>(off + i), s);
    }
    off += padded;
    cur.backends += bCount;
    cur.ranges += <i32>rangeCount;
  }
  cur.off = off;
  cur.sp = stop;
  if (stop < spCount) return -1;
  if (cur.backends != <i64>load<u32>(base, 20)) return fail(SNAP_BAD_COUNT, 20, -1);
  if (off != <i64>len) return fail(SNAP_BAD_COUNT, <i32>off, -1);
  countedRanges = cur.ranges;
  return SNAP_OK;
}

/**
 * Pass 1: checks every field and bound without building anything. Returns SNAP_OK or a code;
 * `snapshotErrorOffset` / `snapshotErrorServicePort` say where.
 */
export function validateSnapshot(base: usize, len: i32): i32 {
  const cur = new SnapshotCursor();
  let code = validateHeader(base, len, cur);
  if (code == SNAP_OK) code = checksumStep(base, len, cur, i32.MAX_VALUE);
  if (code == SNAP_OK) code = validateNodeIPs(base, len, cur);
  if (code == SNAP_OK) code = validateStep(base, len, cur, i32.MAX_VALUE);
  return code;
}

function readAddress(p: usize, out: StaticArray<u32>, at: i32): void {
  for (let i = 0; i < 5; i++) unchecked((out[at + i] = load<u32>(p + <usize>(i * 4))));
}

/**
 * Pass 2: fills a Generation's service ports, backends, node IPs and source ranges from a snapshot
 * that `validateSnapshot` accepted. Pools, tables and the match index are built afterwards.
 * `decodeHeader` sizes the arrays; `decodeStep` decodes up to `budget` service ports at a time.
 */
export function decodeHeader(bytes: StaticArray<u8>, gen: Generation, cur: SnapshotCursor): void {
  const base = changetype<usize>(bytes);
  const nodeIPs = <i32>load<u32>(base, 12);
  const spCount = <i32>load<u32>(base, 16);
  const backendTotal = <i32>load<u32>(base, 20);
  gen.bytes = bytes;
  gen.nodeIPCount = nodeIPs;
  gen.nodeIPs = new StaticArray<u32>(nodeIPs * 5);
  gen.spCount = spCount;
  // Not zeroed (decodeStep writes every word that is read, counters included): zeroing 100 MB
  // here was one 50 ms step of a staged build at 100k services; first touches now happen in the
  // bounded decode steps.
  gen.sps = unzeroedWords(withSlack(spCount) * SP_WORDS);
  gen.backendCount = backendTotal;
  gen.backends = unzeroedWords(withSlack(backendTotal) * B_WORDS);
  gen.hot = unzeroedWords(withSlack(backendTotal) * H_WORDS);
  gen.ranges = new StaticArray<u32>(countedRanges * RANGE_WORDS);
  gen.rangeCount = countedRanges;
  let off: i32 = HEADER_SIZE;
  for (let i = 0; i < nodeIPs; i++) {
    readAddress(base + <usize>off, gen.nodeIPs, i * 5);
    off += ADDRESS_SIZE;
  }
  cur.off = off;
  cur.sp = 0;
  cur.backends = 0;
  cur.ranges = 0;
}

/** Decodes up to `budget` more service ports; true when all are. */
export function decodeStep(gen: Generation, cur: SnapshotCursor, budget: i32): bool {
  const base = changetype<usize>(gen.bytes);
  const stop = gen.spCount - cur.sp > budget ? cur.sp + budget : gen.spCount;
  let off = <i32>cur.off;
  let b = <i32>cur.backends;
  let r = cur.ranges;
  for (let s = cur.sp; s < stop; s++) {
    const p = base + <usize>off;
    const sw = s * SP_WORDS;
    const sps = gen.sps;
    unchecked((sps[sw + SP_META] = load<u32>(p)));
    unchecked((sps[sw + SP_PORTS] = load<u32>(p, 4)));
    unchecked((sps[sw + SP_AFFINITY_MS] = load<u32>(p, 8) * 1000));
    const addrCount = <i32>load<u16>(p, 12) + <i32>load<u16>(p, 14) + <i32>load<u16>(p, 16);
    const rangeCount = <i32>load<u16>(p, 18);
    const bCount = <i32>load<u32>(p, 20);
    const nsLen = <i32>load<u16>(p, 24);
    const nameLen = <i32>load<u16>(p, 26);
    const portNameLen = <i32>load<u16>(p, 28);
    unchecked((sps[sw + SP_ADDR_PTR] = <u32>(base + <usize>(off + SERVICE_PORT_SIZE))));
    unchecked((sps[sw + SP_ADDR_COUNTS] = <u32>load<u16>(p, 12) | (<u32>load<u16>(p, 14) << 16)));
    unchecked((sps[sw + SP_LB_COUNT] = <u32>load<u16>(p, 16)));
    off += SERVICE_PORT_SIZE + addrCount * ADDRESS_SIZE;
    unchecked((sps[sw + SP_RANGE_START] = r));
    unchecked((sps[sw + SP_RANGE_COUNT] = rangeCount));
    for (let i = 0; i < rangeCount; i++) {
      const q = base + <usize>off;
      readAddress(q, gen.ranges, r * RANGE_WORDS);
      unchecked((gen.ranges[r * RANGE_WORDS + 5] = load<u32>(q, 20)));
      r++;
      off += RANGE_SIZE;
    }
    unchecked((sps[sw + SP_BACKEND_START] = b));
    unchecked((sps[sw + SP_BACKEND_COUNT] = bCount));
    for (let i = 0; i < bCount; i++) {
      const q = base + <usize>off;
      const bw = b * B_WORDS;
      const backends = gen.backends;
      readAddress(q, backends, bw + B_FAMILY);
      const weight = <u32>load<u16>(q, 22);
      unchecked((backends[bw + B_PORT] = <u32>load<u16>(q, 20)));
      const hw = b * H_WORDS;
      unchecked((gen.hot[hw + H_WEIGHT] = weight));
      unchecked((gen.hot[hw + H_FLAGS] = <u32>load<u16>(q, 24)));
      unchecked((gen.hot[hw + H_SP] = s));
      unchecked((gen.hot[hw + H_LOCAL_INDEX] = i));
      unchecked((backends[bw + B_LAST_WEIGHT] = weight));
      unchecked((backends[bw + B_FOLD] = foldAddress(
        unchecked(backends[bw + B_FAMILY]), unchecked(backends[bw + B_W0]), unchecked(backends[bw + B_W0 + 1]),
        unchecked(backends[bw + B_W0 + 2]), unchecked(backends[bw + B_W0 + 3]))));
      b++;
      off += BACKEND_SIZE;
    }
    unchecked((sps[sw + SP_NAME_PTR] = <u32>(base + <usize>off)));
    unchecked((sps[sw + SP_NAME_LENS] = <u32>nsLen | (<u32>nameLen << 16)));
    unchecked((sps[sw + SP_PORTNAME_LEN] = <u32>portNameLen | (<u32>load<u16>(p, 30) << 16)));
    off += (nsLen + nameLen + portNameLen + 3) & ~3;
  }
  cur.off = off;
  cur.sp = stop;
  cur.backends = b;
  cur.ranges = r;
  return stop == gen.spCount;
}

export function decodeSnapshot(bytes: StaticArray<u8>, gen: Generation): void {
  const cur = new SnapshotCursor();
  decodeHeader(bytes, gen, cur);
  decodeStep(gen, cur, i32.MAX_VALUE);
}
