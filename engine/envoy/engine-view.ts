/**
 * What the filter reads from the serving generation beyond core.ts's functions: a service port's
 * ClusterIPs and names (from the snapshot bytes the engine keeps, layout.ts SP_ADDR_* / SP_NAME_*),
 * and a backend's global index by address (to import a ClientIP affinity entry another worker
 * shared). Read-only; the engine's state changes only through core.ts and affinity.ts.
 */
import { serving } from '../core';
import { B_FAMILY, B_PORT, B_W0, SP_ADDR_COUNTS, SP_ADDR_PTR, SP_BACKEND_COUNT, SP_BACKEND_START,
  SP_NAME_LENS, SP_NAME_PTR, SP_PORTNAME_LEN } from '../layout';

/** The chosen ClusterIP (family, w0..w3), set by pickClusterIP. */
export let vipFamily: u32 = 0;
export let vipW0: u32 = 0;
export let vipW1: u32 = 0;
export let vipW2: u32 = 0;
export let vipW3: u32 = 0;

/**
 * Picks the service port's ClusterIP of `family` (dual-stack Services have one per family),
 * else its first one. False when it has none.
 */
export function pickClusterIP(sp: i32, family: u32): bool {
  const gen = serving();
  const count = <i32>(gen.spWord(sp, SP_ADDR_COUNTS) & 0xffff);
  if (count == 0) return false;
  const base = <usize>gen.spWord(sp, SP_ADDR_PTR);
  let at = base;
  for (let i = 0; i < count; i++) {
    if (load<u32>(base + <usize>(i * 20)) == family) {
      at = base + <usize>(i * 20);
      break;
    }
  }
  vipFamily = load<u32>(at);
  vipW0 = load<u32>(at, 4);
  vipW1 = load<u32>(at, 8);
  vipW2 = load<u32>(at, 12);
  vipW3 = load<u32>(at, 16);
  return true;
}

/** Pointer to the service port's `namespace`, `name`, `portName` bytes (contiguous in the snapshot). */
export function namesPtr(sp: i32): usize {
  const gen = serving();
  return <usize>gen.spWord(sp, SP_NAME_PTR);
}
export function namespaceLen(sp: i32): i32 {
  return <i32>(serving().spWord(sp, SP_NAME_LENS) & 0xffff);
}
export function nameLen(sp: i32): i32 {
  return <i32>(serving().spWord(sp, SP_NAME_LENS) >>> 16);
}
export function portNameLen(sp: i32): i32 {
  return <i32>(serving().spWord(sp, SP_PORTNAME_LEN) & 0xffff);
}

/** `ns/name:portName` (or `ns/name` when unnamed), kube-proxy's ServicePortName; control paths only. */
export function servicePortKey(sp: i32): string {
  const p = namesPtr(sp);
  const ns = namespaceLen(sp);
  const n = nameLen(sp);
  const pn = portNameLen(sp);
  let key = String.UTF8.decodeUnsafe(p, ns) + '/' + String.UTF8.decodeUnsafe(p + <usize>ns, n);
  if (pn > 0) key += ':' + String.UTF8.decodeUnsafe(p + <usize>(ns + n), pn);
  return key;
}

/** Global index of the service port's backend with this address and port, or -1. */
export function findBackend(sp: i32, family: u32, w0: u32, w1: u32, w2: u32, w3: u32, port: u32): i32 {
  const gen = serving();
  const start = <i32>gen.spWord(sp, SP_BACKEND_START);
  const end = start + <i32>gen.spWord(sp, SP_BACKEND_COUNT);
  for (let b = start; b < end; b++) {
    if (gen.backendWord(b, B_FAMILY) == family && gen.backendWord(b, B_W0) == w0 && gen.backendWord(b, B_W0 + 1) == w1 &&
      gen.backendWord(b, B_W0 + 2) == w2 && gen.backendWord(b, B_W0 + 3) == w3 && gen.backendWord(b, B_PORT) == port) return b;
  }
  return -1;
}

const SNAPSHOT_ERRORS: string[] = [
  'ok', 'too short', 'bad magic', 'unsupported version', 'length mismatch', 'checksum mismatch', 'truncated',
  'bad protocol', 'bad scheduler', 'bad flags', 'bad address family', 'bad prefix length', 'bad port',
  'backends out of order', 'bad count', 'too many backends', 'bad header', 'engine not initialized',
];

/** A snapshot rejection code (snapshot.ts SNAP_*) as text. */
export function snapshotErrorText(code: i32): string {
  const name = code >= 0 && code < SNAPSHOT_ERRORS.length ? SNAPSHOT_ERRORS[code] : 'unknown error';
  return 'snapshot rejected: ' + name + ' (code ' + code.toString() + ')';
}
