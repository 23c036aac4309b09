/**
 * The `env` (proxy_*) and `wasi_snapshot_preview1` imports of the emulated host, following Envoy's
 * behaviour where the spec leaves room: NOT_FOUND for a missing header, header names lower-cased,
 * proxy_http_call rejects unknown clusters and calls without :method/:path/:authority with
 * BAD_ARGUMENT, set_envoy_filter_state returns NOT_FOUND for keys without a registered factory.
 */
import { deserializeHeaderMap, serializeHeaderMap, type HeaderPairs } from './header-map.js';
import { setEnvoyFilterState } from './foreign.js';
import { BufferType, GuestExit, HostState, LogLevel, MapType, MetricType, ROOT_CONTEXT_ID, Status } from './state.js';

type Fn = (...args: never[]) => number | bigint | void;

function mapOf(host: HostState, type: number): HeaderPairs | null {
  if (type === MapType.HttpCallResponseHeaders) return host.calloutResponse?.headers ?? null;
  if (type === MapType.HttpCallResponseTrailers) return host.calloutResponse?.trailers ?? null;
  const stream = host.stream();
  if (!stream || stream.kind !== 'http' || type > MapType.HttpResponseTrailers) return null;
  let map = stream.maps.get(type);
  if (!map) stream.maps.set(type, (map = []));
  return map;
}

function bufferOf(host: HostState, type: number): Uint8Array | null {
  switch (type) {
    case BufferType.VmConfiguration: return host.vmConfiguration;
    case BufferType.PluginConfiguration: return host.pluginConfiguration;
    case BufferType.HttpCallResponseBody: return host.calloutResponse?.body ?? null;
    case BufferType.ForeignFunctionArguments: return host.foreignArgs;
    default: return host.stream()?.buffers.get(type) ?? null;
  }
}

export function envImports(host: HostState): Record<string, Fn> {
  /** Property path (NUL-separated) → dotted key, cached: paths repeat on every request. */
  const propertyKeys = new Map<string, string>();
  const str = (p: number, l: number) => host.readString(p >>> 0, l >>> 0);
  const headerOp = (type: number, kp: number, kl: number, op: (map: HeaderPairs, key: string) => Status): number => {
    const map = mapOf(host, type);
    if (!map) return Status.BadArgument;
    const key = str(kp, kl);
    if (key === null) return Status.InvalidMemoryAccess;
    return op(map, key.toLowerCase());
  };
  const removeAll = (map: HeaderPairs, key: string) => {
    for (let i = map.length - 1; i >= 0; i--) if (map[i]![0] === key) map.splice(i, 1);
  };
  return {
    proxy_log(level: number, p: number, l: number) {
      if (level < 0 || level > LogLevel.Critical) return Status.BadArgument;
      const msg = str(p, l);
      if (msg === null) return Status.InvalidMemoryAccess;
      host.log(level as LogLevel, msg);
      return Status.Ok;
    },
    proxy_get_log_level(ret: number) {
      return host.writeU32(ret, host.logLevel) ? Status.Ok : Status.InvalidMemoryAccess;
    },
    proxy_get_current_time_nanoseconds(ret: number) {
      return host.writeU64(ret, host.nowNs) ? Status.Ok : Status.InvalidMemoryAccess;
    },
    proxy_set_tick_period_milliseconds(ms: number) {
      host.tickPeriodMs = ms >>> 0;
      return Status.Ok;
    },
    proxy_get_buffer_status(type: number, retLen: number, retFlags: number) {
      if (type < 0 || type > BufferType.ForeignFunctionArguments) return Status.BadArgument;
      const buf = bufferOf(host, type);
      if (!buf) return Status.NotFound;
      return host.writeU32(retLen, buf.length) && host.writeU32(retFlags, 0) ? Status.Ok : Status.InvalidMemoryAccess;
    },
    proxy_get_buffer_bytes(type: number, start: number, max: number, retPtr: number, retLen: number) {
      if (type < 0 || type > BufferType.ForeignFunctionArguments) return Status.BadArgument;
      const buf = bufferOf(host, type);
      if (!buf) return Status.NotFound;
      if (start > buf.length) return Status.BadArgument;
      return host.returnBytes(buf.subarray(start, Math.min(buf.length, start + (max >>> 0))), retPtr, retLen);
    },
    proxy_set_buffer_bytes(type: number, start: number, size: number, p: number, l: number) {
      const stream = host.stream();
      if (!stream || type > BufferType.UpstreamData) return Status.BadArgument;
      const data = host.read(p >>> 0, l >>> 0);
      if (!data) return Status.InvalidMemoryAccess;
      const cur = stream.buffers.get(type) ?? new Uint8Array();
      let next: Uint8Array;
      if (start === 0 && size === 0) next = concat(data, cur);
      else if (start >= cur.length) next = concat(cur, data);
      else next = concat(concat(cur.subarray(0, start), data), cur.subarray(Math.min(cur.length, start + size)));
      stream.buffers.set(type, next);
      return Status.Ok;
    },
    proxy_get_header_map_size(type: number, ret: number) {
      const map = mapOf(host, type);
      if (!map) return Status.BadArgument;
      return host.writeU32(ret, serializeHeaderMap(map).length) ? Status.Ok : Status.InvalidMemoryAccess;
    },
    proxy_get_header_map_pairs(type: number, retPtr: number, retLen: number) {
      const map = mapOf(host, type);
      if (!map) return Status.BadArgument;
      return host.returnBytes(serializeHeaderMap(map), retPtr, retLen);
    },
    proxy_set_header_map_pairs(type: number, p: number, l: number) {
      const map = mapOf(host, type);
      if (!map) return Status.BadArgument;
      const bytes = host.read(p >>> 0, l >>> 0);
      if (!bytes) return Status.InvalidMemoryAccess;
      map.splice(0, map.length, ...deserializeHeaderMap(bytes).map(([k, v]) => [k.toLowerCase(), v] as [string, string]));
      return Status.Ok;
    },
    proxy_get_header_map_value(type: number, kp: number, kl: number, retPtr: number, retLen: number) {
      return headerOp(type, kp, kl, (map, key) => {
        const hit = map.find(([k]) => k === key);
        return hit ? host.returnBytes(HostState.encode(hit[1]), retPtr, retLen) : Status.NotFound;
      });
    },
    proxy_add_header_map_value(type: number, kp: number, kl: number, vp: number, vl: number) {
      return headerOp(type, kp, kl, (map, key) => {
        const value = str(vp, vl);
        if (value === null) return Status.InvalidMemoryAccess;
        map.push([key, value]);
        return Status.Ok;
      });
    },
    proxy_replace_header_map_value(type: number, kp: number, kl: number, vp: number, vl: number) {
      return headerOp(type, kp, kl, (map, key) => {
        const value = str(vp, vl);
        if (value === null) return Status.InvalidMemoryAccess;
        removeAll(map, key);
        map.push([key, value]);
        return Status.Ok;
      });
    },
    proxy_remove_header_map_value(type: number, kp: number, kl: number) {
      return headerOp(type, kp, kl, (map, key) => {
        removeAll(map, key);
        return Status.Ok;
      });
    },
    proxy_continue_stream(type: number) {
      const stream = host.stream();
      if (!stream || type > 3) return Status.BadArgument;
      stream.continued++;
      return Status.Ok;
    },
    proxy_close_stream(type: number) {
      const stream = host.stream();
      if (!stream || type > 3) return Status.BadArgument;
      stream.closed++;
      return Status.Ok;
    },
    proxy_send_local_response(code: number, dp: number, dl: number, bp: number, bl: number, hp: number, hl: number, grpc: number) {
      const stream = host.stream();
      if (!stream || stream.kind !== 'http') return Status.BadArgument;
      const details = str(dp, dl);
      const body = str(bp, bl);
      const headers = host.read(hp >>> 0, hl >>> 0);
      if (details === null || body === null || !headers) return Status.InvalidMemoryAccess;
      stream.localResponse = { statusCode: code, details, body, headers: deserializeHeaderMap(headers), grpcStatus: grpc };
      return Status.Ok;
    },
    proxy_get_status(retCode: number, retPtr: number, retLen: number) {
      if (!host.writeU32(retCode, 0)) return Status.InvalidMemoryAccess;
      return host.returnBytes(new Uint8Array(), retPtr, retLen);
    },
    proxy_done() {
      // cpp-host WasmBase::done: only a root context waiting after proxy_on_done answered false;
      // for any other context (streams included) the answer is NOT_FOUND.
      if (host.currentContext !== ROOT_CONTEXT_ID || !host.rootPendingDone) return Status.NotFound;
      host.rootPendingDone = false;
      host.rootDeleteDue = true;
      return Status.Ok;
    },
    proxy_set_effective_context(ctx: number) {
      if (ctx !== ROOT_CONTEXT_ID && !host.streams.has(ctx)) return Status.BadArgument;
      host.currentContext = ctx;
      return Status.Ok;
    },
    proxy_http_call(up: number, ul: number, hp: number, hl: number, bp: number, bl: number, tp: number, tl: number, timeout: number, ret: number) {
      const upstream = str(up, ul);
      const hdr = host.read(hp >>> 0, hl >>> 0);
      const body = host.read(bp >>> 0, bl >>> 0);
      const trl = host.read(tp >>> 0, tl >>> 0);
      if (upstream === null || !hdr || !body || !trl) return Status.InvalidMemoryAccess;
      if (host.knownClusters && !host.knownClusters.has(upstream)) return Status.BadArgument;
      const headers = deserializeHeaderMap(hdr);
      for (const required of [':method', ':path', ':authority']) {
        if (!headers.some(([k]) => k === required)) return Status.BadArgument;
      }
      const id = host.nextCalloutId++;
      host.callouts.set(id, { id, contextId: host.currentContext, upstream, headers, body, trailers: deserializeHeaderMap(trl), timeoutMs: timeout >>> 0 });
      return host.writeU32(ret, id) ? Status.Ok : Status.InvalidMemoryAccess;
    },
    proxy_set_shared_data(kp: number, kl: number, vp: number, vl: number, cas: number) {
      const key = str(kp, kl);
      const value = host.read(vp >>> 0, vl >>> 0);
      if (key === null || !value) return Status.InvalidMemoryAccess;
      const cur = host.shared.data.get(key);
      if (cas !== 0 && cur && cur.cas !== cas >>> 0) return Status.CasMismatch;
      host.shared.data.set(key, { value, cas: host.shared.bumpCas() });
      return Status.Ok;
    },
    proxy_get_shared_data(kp: number, kl: number, retPtr: number, retLen: number, retCas: number) {
      const key = str(kp, kl);
      if (key === null) return Status.InvalidMemoryAccess;
      const cur = host.shared.data.get(key);
      if (!cur) return Status.NotFound;
      if (!host.writeU32(retCas, cur.cas)) return Status.InvalidMemoryAccess;
      return host.returnBytes(cur.value, retPtr, retLen);
    },
    proxy_register_shared_queue(np: number, nl: number, ret: number) {
      const name = str(np, nl);
      if (name === null) return Status.InvalidMemoryAccess;
      let id = [...host.shared.queues].find(([, q]) => q.vmId === host.vmId && q.name === name)?.[0];
      if (id === undefined) host.shared.queues.set((id = host.shared.queueId()), { vmId: host.vmId, name, items: [] });
      return host.writeU32(ret, id) ? Status.Ok : Status.InvalidMemoryAccess;
    },
    proxy_resolve_shared_queue(vp: number, vl: number, np: number, nl: number, ret: number) {
      const vm = str(vp, vl);
      const name = str(np, nl);
      if (vm === null || name === null) return Status.InvalidMemoryAccess;
      const hit = [...host.shared.queues].find(([, q]) => q.vmId === vm && q.name === name);
      if (!hit) return Status.NotFound;
      return host.writeU32(ret, hit[0]) ? Status.Ok : Status.InvalidMemoryAccess;
    },
    proxy_enqueue_shared_queue(id: number, vp: number, vl: number) {
      const q = host.shared.queues.get(id);
      if (!q) return Status.NotFound;
      const value = host.read(vp >>> 0, vl >>> 0);
      if (!value) return Status.InvalidMemoryAccess;
      q.items.push(value);
      return Status.Ok;
    },
    proxy_dequeue_shared_queue(id: number, retPtr: number, retLen: number) {
      const q = host.shared.queues.get(id);
      if (!q) return Status.NotFound;
      const item = q.items.shift();
      return item ? host.returnBytes(item, retPtr, retLen) : Status.Empty;
    },
    proxy_define_metric(type: number, np: number, nl: number, ret: number) {
      if (type < MetricType.Counter || type > MetricType.Histogram) return Status.BadArgument;
      const name = str(np, nl);
      if (name === null) return Status.InvalidMemoryAccess;
      let metric = host.shared.metrics.get(name);
      if (metric && metric.type !== type) return Status.BadArgument;
      if (!metric) host.shared.metrics.set(name, (metric = { name, type, value: 0n }));
      const id = host.nextMetricId++;
      host.metricIds.set(id, metric);
      return host.writeU32(ret, id) ? Status.Ok : Status.InvalidMemoryAccess;
    },
    proxy_increment_metric(id: number, delta: bigint) {
      const metric = host.metricIds.get(id);
      if (!metric) return Status.NotFound;
      if (metric.type === MetricType.Counter && delta < 0n) return Status.BadArgument;
      if (metric.type === MetricType.Histogram) return Status.BadArgument;
      metric.value += delta;
      return Status.Ok;
    },
    proxy_record_metric(id: number, value: bigint) {
      const metric = host.metricIds.get(id);
      if (!metric) return Status.NotFound;
      metric.value = BigInt.asUintN(64, value);
      return Status.Ok;
    },
    proxy_get_metric(id: number, ret: number) {
      const metric = host.metricIds.get(id);
      if (!metric) return Status.NotFound;
      return host.writeU64(ret, metric.value) ? Status.Ok : Status.InvalidMemoryAccess;
    },
    proxy_get_property(pp: number, pl: number, retPtr: number, retLen: number) {
      const path = str(pp, pl);
      if (path === null) return Status.InvalidMemoryAccess;
      let key = propertyKeys.get(path);
      if (key === undefined) propertyKeys.set(path, (key = path.split('\0').join('.')));
      const value = host.stream()?.properties.get(key) ?? host.properties.get(key);
      return value ? host.returnBytes(value, retPtr, retLen) : Status.NotFound;
    },
    proxy_set_property(pp: number, pl: number, vp: number, vl: number) {
      const path = str(pp, pl);
      const value = host.read(vp >>> 0, vl >>> 0);
      if (path === null || !value) return Status.InvalidMemoryAccess;
      // Envoy stores these as CEL filter state under "wasm." and cannot reach envoy.* keys.
      (host.stream()?.properties ?? host.properties).set(`wasm.${path.split('\0').join('.')}`, value);
      return Status.Ok;
    },
    proxy_call_foreign_function(np: number, nl: number, ap: number, al: number, retPtr: number, retLen: number) {
      const name = str(np, nl);
      const args = host.read(ap >>> 0, al >>> 0);
      if (name === null || !args) return Status.InvalidMemoryAccess;
      if (name !== 'set_envoy_filter_state') return Status.NotFound;
      const status = setEnvoyFilterState(host, args);
      if (status !== Status.Ok) return status;
      return host.returnBytes(new Uint8Array(), retPtr, retLen);
    },
    proxy_grpc_call: unimplemented(host, 'proxy_grpc_call'),
    proxy_grpc_stream: unimplemented(host, 'proxy_grpc_stream'),
    proxy_grpc_send: unimplemented(host, 'proxy_grpc_send'),
    proxy_grpc_cancel: unimplemented(host, 'proxy_grpc_cancel'),
    proxy_grpc_close: unimplemented(host, 'proxy_grpc_close'),
  };
}

function unimplemented(host: HostState, name: string): Fn {
  return () => {
    host.unimplemented.push(name);
    host.log(LogLevel.Warn, `${name}: not implemented in the host emulator`);
    return Status.Unimplemented;
  };
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

/** The WASI calls proxy-wasm-cpp-host provides, with its semantics (fd 1 → info log, fd 2 → error log). */
export function wasiImports(host: HostState): Record<string, Fn> {
  let seed = 0x9e3779b9;
  const lineBuffers: Record<number, string> = { 1: '', 2: '' };
  return {
    fd_write(fd: number, iovs: number, n: number, retWritten: number) {
      if (fd !== 1 && fd !== 2) return 8; // BADF
      const view = host.view();
      let total = 0;
      let text = '';
      for (let i = 0; i < n; i++) {
        const p = view.getUint32(iovs + 8 * i, true);
        const l = view.getUint32(iovs + 8 * i + 4, true);
        text += host.readString(p, l) ?? '';
        total += l;
      }
      const lines = (lineBuffers[fd] + text).split('\n');
      lineBuffers[fd] = lines.pop() ?? '';
      for (const line of lines) host.log(fd === 1 ? LogLevel.Info : LogLevel.Error, line);
      view.setUint32(retWritten, total, true);
      return 0;
    },
    proc_exit(code: number) {
      if (lineBuffers[2]) host.log(LogLevel.Error, lineBuffers[2]);
      throw new GuestExit(code, host.logs.at(-1)?.message ?? '');
    },
    clock_time_get(_id: number, _precision: bigint, ret: number) {
      host.writeU64(ret, host.nowNs);
      return 0;
    },
    random_get(p: number, l: number) {
      const bytes = new Uint8Array(host.memory.buffer, p, l);
      for (let i = 0; i < l; i++) {
        seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
        bytes[i] = seed >>> 24;
      }
      return 0;
    },
    environ_sizes_get(c: number, s: number) {
      host.writeU32(c, 0);
      host.writeU32(s, 0);
      return 0;
    },
    environ_get: () => 0,
    args_sizes_get(c: number, s: number) {
      host.writeU32(c, 0);
      host.writeU32(s, 0);
      return 0;
    },
    args_get: () => 0,
    fd_close: () => 8,
    fd_seek: () => 8,
    fd_fdstat_get: () => 8,
    fd_read: () => 8,
    sched_yield: () => 0,
    poll_oneoff: () => 58, // NOTSUP
  };
}
