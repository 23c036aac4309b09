/**
 * Entry of envoy-filter.wasm: the vipwasm engine as a Proxy-Wasm (ABI v0.2.1) filter for Envoy.
 * One module serves both the HTTP filter (envoy.filters.http.wasm → proxy_on_request_headers) and
 * the network filter (envoy.filters.network.wasm → proxy_on_new_connection).
 *
 * Context lifecycle, as proxy-wasm-cpp-host drives it: _initialize → proxy_on_context_create(root, 0)
 * → proxy_on_vm_start → proxy_on_configure (the VM is then cloned to each worker) → per request or
 * connection: proxy_on_context_create(id, root) → stream callbacks → proxy_on_done → proxy_on_log
 * → proxy_on_delete.
 *
 * Per-worker copies: each worker has its own engine, so rr/wrr rotate per worker (each worker's
 * sequence is the scheduler's; globally the workers interleave) and lc/wlc/sed/nq count only that
 * worker's open flows. dh/sh/mh hash and give the same answer everywhere. ClientIP affinity is
 * shared through proxy shared data (shared-affinity.ts).
 */
import { generation, init, servicePortCount } from '../core';
import { getBufferBytes, log, returned, setTickPeriod } from './abi/hostcalls';
import { BufferType, LogLevel } from './abi/types';
import { isBinarySnapshot, parseFilterConfig, snapshotOnlyConfig } from './config';
import { serializeHeaders } from './header-map';
import { onRequestHeaders } from './http';
import { metrics } from './metrics';
import { Root, roots } from './root';
import { closeStream, openStream, streamOf } from './streams';
import { closeFlow, onNewConnection } from './tcp';
import { applySnapshot, onHttpCallResponse, onTick } from './updates';

/** Tick period when no snapshot endpoint is configured: flow and affinity expiry only. */
// @ts-ignore: decorator
@inline const HOUSEKEEPING_TICK_MS: u32 = 10_000;

let engineReady = false;
let metricsDefined = false;

/** Marker export: the host detects ABI v0.2.1 from it. Never called. */
export function proxy_abi_version_0_2_1(): void {}

/** Memory for data the host returns; freed by the filter after decoding (unmanaged heap). */
export function proxy_on_memory_allocate(size: usize): usize {
  return heap.alloc(size > 0 ? size : 1);
}

/** Deprecated alias that proxy-wasm-cpp-host looks up first. */
export function malloc(size: usize): usize {
  return heap.alloc(size > 0 ? size : 1);
}

export function proxy_on_context_create(ctx: u32, parent: u32): void {
  if (parent != 0) openStream(ctx, parent);
}

export function proxy_on_vm_start(root: u32, vmConfigSize: u32): bool {
  return true;
}

export function proxy_on_configure(rootId: u32, size: u32): bool {
  let raw = new ArrayBuffer(0);
  if (size > 0 && getBufferBytes(BufferType.PluginConfiguration, 0, size)) raw = returned.toBuffer();
  const cfg = isBinarySnapshot(raw) ? snapshotOnlyConfig(Uint8Array.wrap(raw)) : parseFilterConfig(String.UTF8.decode(raw));
  if (cfg.error.length > 0) {
    log(LogLevel.Error, 'vipwasm: invalid plugin configuration: ' + cfg.error);
    return false;
  }
  if (!metricsDefined) {
    metrics.define();
    metricsDefined = true;
  }
  if (!engineReady) {
    init(cfg.flowCapacity, cfg.affinityCapacity, cfg.seed, 0, 0, 0, 0, 0);
    engineReady = true;
  }
  const snapshot = cfg.snapshot;
  if (snapshot != null) {
    const error = applySnapshot(snapshot);
    if (error.length > 0) {
      log(LogLevel.Error, 'vipwasm: invalid plugin configuration: ' + cfg.snapshotLabel + ': ' + error);
      return false;
    }
  }
  const root = new Root(rootId, cfg);
  root.replyHeaders = serializeHeaders(['content-type'], ['text/plain; charset=utf-8']);
  roots.set(rootId, root);
  setTickPeriod(cfg.snapshotCluster.length > 0 ? cfg.pollMs : HOUSEKEEPING_TICK_MS);
  log(LogLevel.Info, 'vipwasm: configured root ' + rootId.toString() + ': snapshot generation ' + generation().toString() + ', ' +
    servicePortCount().toString() + ' service ports' + (cfg.snapshotCluster.length > 0 ? ', polling cluster "' + cfg.snapshotCluster + '"' : ''));
  return true;
}

export function proxy_on_tick(root: u32): void {
  onTick(root);
}

export function proxy_on_http_call_response(root: u32, callId: u32, numHeaders: u32, bodySize: u32, numTrailers: u32): void {
  onHttpCallResponse(root, callId, numHeaders, bodySize);
}

export function proxy_on_request_headers(ctx: u32, numHeaders: u32, endOfStream: u32): u32 {
  return onRequestHeaders(ctx);
}

export function proxy_on_new_connection(ctx: u32): u32 {
  return onNewConnection(ctx);
}

export function proxy_on_downstream_connection_close(ctx: u32, peer: u32): void {
  const rec = streamOf(ctx);
  if (rec >= 0) closeFlow(rec);
}

/** The stream is over: close its engine flow (an HTTP request ends its use of the flow). */
export function proxy_on_done(ctx: u32): bool {
  const rec = streamOf(ctx);
  if (rec >= 0) closeFlow(rec);
  return true;
}

export function proxy_on_log(ctx: u32): void {}

export function proxy_on_delete(ctx: u32): void {
  if (streamOf(ctx) >= 0) closeStream(ctx);
  else if (roots.has(ctx)) roots.delete(ctx);
}
