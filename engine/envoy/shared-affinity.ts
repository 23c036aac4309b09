/**
 * ClientIP affinity across Envoy's worker threads. Envoy runs one copy of the VM per worker and
 * the copies share no memory (Envoy arch overview "Wasm"), so each copy's engine has its own
 * affinity table: without help, a client whose connections land on two workers could be pinned
 * to two different backends, which breaks sessionAffinity: ClientIP. Proxy-wasm shared data is the
 * one store all copies see, so the pinning is published there:
 *
 *   key    "vipwasm/affinity/<ns>/<name>:<portName>/<family>/<w0>.<w1>.<w2>.<w3>"  (words in hex)
 *   value  32 bytes: u32 family, u32 w0..w3, u32 port, f64 last use (ms since the epoch)
 *
 * Before the engine decides for a ClientIP service port, a fresh shared entry is imported into the
 * local affinity table (replacing a different local pinning), so the engine itself honours it and
 * its connection counts stay right; after a Backend verdict the entry is written back with the new
 * last-use time. Two workers racing on a client's very first connection may pick different
 * backends; the later write wins and every later connection follows it.
 */
import { affinityBackend, affinityExpired, affinityFind, affinityHash, affinityInsert, affinityRemove, affinityTouch, setAffinityBackend } from '../affinity';
import { affinityTimeoutMs, backendFamily, backendPort, backendWord } from '../core';
import { toTick } from '../state';
import { getSharedData, setSharedData } from './abi/hostcalls-state';
import { returned } from './abi/hostcalls';
import { Status } from './abi/types';
import { findBackend, namesPtr, namespaceLen, nameLen, portNameLen } from './engine-view';

/** Key scratch: prefix + names (≤ 63 + 1 + 253 + 1 + 15 bytes) + address (≤ 2 + 36 hex and dots). */
const KEY: usize = memory.data(512);
let keyLen: usize = 0;
const VALUE: usize = memory.data(32);
const PREFIX = 'vipwasm/affinity/';
const HEX: usize = memory.data<u8>([0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66]);

/** Whether the last import created or replaced a local pinning (for the metric). */
export let imported: bool = false;

function putByte(c: u32): void {
  store<u8>(KEY + keyLen, <u8>c);
  keyLen++;
}

function putBytes(ptr: usize, len: i32): void {
  memory.copy(KEY + keyLen, ptr, <usize>len);
  keyLen += <usize>len;
}

function putHexWord(w: u32): void {
  for (let s: i32 = 28; s >= 0; s -= 4) putByte(<u32>load<u8>(HEX + <usize>((w >>> <u32>s) & 0xf)));
}

function buildKey(sp: i32, family: u32, w0: u32, w1: u32, w2: u32, w3: u32): void {
  keyLen = 0;
  for (let i = 0; i < PREFIX.length; i++) putByte(<u32>PREFIX.charCodeAt(i));
  const p = namesPtr(sp);
  const ns = namespaceLen(sp);
  const n = nameLen(sp);
  const pn = portNameLen(sp);
  if (ns + n + pn > 400) {
    keyLen = 0;
    return;
  }
  putBytes(p, ns);
  putByte(0x2f);
  putBytes(p + <usize>ns, n);
  putByte(0x3a);
  putBytes(p + <usize>(ns + n), pn);
  putByte(0x2f);
  putByte(family == 6 ? 0x36 : 0x34);
  putByte(0x2f);
  putHexWord(w0);
  if (family == 6) {
    putByte(0x2e);
    putHexWord(w1);
    putByte(0x2e);
    putHexWord(w2);
    putByte(0x2e);
    putHexWord(w3);
  }
}

/**
 * Imports the shared pinning of (sp, client) into the engine's affinity table, as the entry of
 * `pool` (the service address the stream goes to), when it is fresh and its backend still belongs
 * to the service port. Sets `imported`.
 */
export function importSharedAffinity(sp: i32, pool: i32, sf: u32, s0: u32, s1: u32, s2: u32, s3: u32, nowMs: f64): void {
  imported = false;
  const timeout = affinityTimeoutMs(sp);
  buildKey(sp, sf, s0, s1, s2, s3);
  if (keyLen == 0 || !getSharedData(KEY, keyLen)) return;
  if (returned.len != 32) {
    returned.release();
    return;
  }
  const v = returned.ptr;
  const lastMs = load<f64>(v, 24);
  const b = findBackend(sp, load<u32>(v), load<u32>(v, 4), load<u32>(v, 8), load<u32>(v, 12), load<u32>(v, 16), load<u32>(v, 20));
  returned.release();
  if (b < 0 || nowMs - lastMs >= <f64>timeout) return;
  const now = toTick(nowMs);
  const h = affinityHash(<u32>pool, sf, s0, s1, s2, s3);
  let a = affinityFind(h, <u32>pool, sf, s0, s1, s2, s3);
  if (a >= 0 && affinityExpired(a, now)) {
    affinityRemove(a);
    a = -1;
  }
  if (a >= 0) {
    if (affinityBackend(a) == <u32>b) return;
    setAffinityBackend(a, <u32>b);
    affinityTouch(a, now);
  } else {
    affinityInsert(h, <u32>pool, sf, s0, s1, s2, s3, <u32>b, timeout, now);
  }
  imported = true;
}

/** Publishes (sp, client) → backend k of sp with last use `nowMs`. Call right after importSharedAffinity. */
export function publishSharedAffinity(sp: i32, k: i32, nowMs: f64): void {
  if (keyLen == 0) return;
  store<u32>(VALUE, backendFamily(sp, k));
  for (let i = 0; i < 4; i++) store<u32>(VALUE + <usize>(4 + 4 * i), backendWord(sp, k, i));
  store<u32>(VALUE, backendPort(sp, k), 20);
  store<f64>(VALUE, nowMs, 24);
  const s = setSharedData(KEY, keyLen, VALUE, 32, 0);
  if (s != Status.Ok) keyLen = 0;
}
