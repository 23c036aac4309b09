/**
 * Live snapshot updates without restarting Envoy. On every tick the root asks the snapshot
 * endpoint (`vipwasm serve`) for the current snapshot with `If-None-Match: <etag>`; 304 means
 * unchanged, 200 carries the binary snapshot (application/octet-stream) and its version in `etag`.
 * The engine swaps the new generation in atomically and carries flows and affinity over
 * (engine/core.ts loadSnapshot), so established connections and ClientIP pinning survive.
 * Each worker's VM copy polls on its own (they share no memory). The tick also expires flows
 * and affinity entries.
 */
import { expire, generation, loadSnapshot, servicePortCount, SNAP_OK } from '../core';
import { currentTimeMs, getBufferBytes, getHeaderValue, httpCall, log, returned } from './abi/hostcalls';
import { BufferType, LogLevel, MapType } from './abi/types';
import { servicePortKey, snapshotErrorText } from './engine-view';
import { serializeHeaders } from './header-map';
import { metrics } from './metrics';
import { Root, roots } from './root';

/** Loads snapshot bytes; on success re-defines the per-service-port metrics. Returns '' or the error. */
export function applySnapshot(bytes: Uint8Array): string {
  const copy = new StaticArray<u8>(bytes.length);
  memory.copy(changetype<usize>(copy), bytes.dataStart, <usize>bytes.length);
  const code = loadSnapshot(copy);
  if (code != SNAP_OK) return snapshotErrorText(code);
  const n = servicePortCount();
  const keys = new Array<string>(n);
  for (let i = 0; i < n; i++) {
    keys[i] = servicePortKey(i).replaceAll('/', '.').replaceAll(':', '.');
  }
  metrics.defineServicePorts(keys);
  metrics.setGeneration(generation());
  return '';
}

export function onTick(rootId: u32): void {
  expire(currentTimeMs());
  if (!roots.has(rootId)) return;
  const root = roots.get(rootId);
  if (root.cfg.snapshotCluster.length == 0 || root.pendingCall >= 0) return;
  const keys = [':method', ':path', ':authority', 'accept'];
  const values = ['GET', root.cfg.snapshotPath, root.cfg.snapshotAuthority, 'application/octet-stream'];
  if (root.etag.length > 0) {
    keys.push('if-none-match');
    values.push(root.etag);
  }
  const headers = serializeHeaders(keys, values);
  const cluster = String.UTF8.encode(root.cfg.snapshotCluster);
  const id = httpCall(changetype<usize>(cluster), cluster.byteLength, changetype<usize>(headers), headers.byteLength, root.cfg.pollTimeoutMs);
  if (id < 0) {
    metrics.count(metrics.snapshotUpdateFailures);
    log(LogLevel.Warn, 'vipwasm: snapshot request to cluster "' + root.cfg.snapshotCluster + '" was refused by the host (unknown cluster?)');
    return;
  }
  root.pendingCall = id;
}

function header(name: string): string {
  const key = String.UTF8.encode(name);
  if (!getHeaderValue(MapType.HttpCallResponseHeaders, changetype<usize>(key), key.byteLength)) return '';
  return String.UTF8.decode(returned.toBuffer());
}

function fail(root: Root, why: string): void {
  metrics.count(metrics.snapshotUpdateFailures);
  log(LogLevel.Warn, 'vipwasm: snapshot update from cluster "' + root.cfg.snapshotCluster + '" failed: ' + why +
    '; generation ' + generation().toString() + ' keeps serving');
}

export function onHttpCallResponse(rootId: u32, callId: u32, numHeaders: u32, bodySize: u32): void {
  if (!roots.has(rootId)) return;
  const root = roots.get(rootId);
  if (root.pendingCall != <i64>callId) return;
  root.pendingCall = -1;
  if (numHeaders == 0) {
    fail(root, 'the request failed (timeout or connection error)');
    return;
  }
  const status = header(':status');
  if (status == '304') return;
  if (status != '200') {
    fail(root, 'HTTP status ' + status);
    return;
  }
  const etag = header('etag');
  if (bodySize == 0 || !getBufferBytes(BufferType.HttpCallResponseBody, 0, bodySize)) {
    fail(root, 'empty body');
    return;
  }
  const body = Uint8Array.wrap(returned.toBuffer());
  const error = applySnapshot(body);
  if (error.length > 0) {
    fail(root, error);
    return;
  }
  root.etag = etag;
  metrics.count(metrics.snapshotUpdates);
  log(LogLevel.Info, 'vipwasm: loaded snapshot generation ' + generation().toString() + ' (' + servicePortCount().toString() +
    ' service ports, etag ' + etag + ')');
}
