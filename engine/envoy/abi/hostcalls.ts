/**
 * One small wrapper per Proxy-Wasm ABI v0.2.1 host call (module `env`), each declared next to its
 * import, as the Rust SDK's src/hostcalls.rs does. Expected outcomes are mapped (NOT_FOUND → false /
 * none, CAS_MISMATCH → a status the caller handles); anything the spec does not allow for that
 * call is a host contract violation and aborts the VM, like the Rust SDK's "unexpected status" panic.
 *
 * Data the host hands back (`**ret_ptr`) lives in memory the host obtained from our
 * `proxy_on_memory_allocate`, i.e. an unmanaged `heap.alloc` block. Wrappers that return bytes leave
 * the block in `returned.ptr`/`returned.len`; the caller reads it and calls `returned.release()`.
 * No wrapper on the request path allocates GC memory.
 */
import { BufferType, LogLevel, MapType, Status, StreamType } from './types';

/** Scratch for the host's out-parameters: four little-endian u32 slots (and one u64 at +16). */
const OUT: usize = memory.data(32);

/** The last block the host returned through the guest allocator. */
export class Returned {
  ptr: usize = 0;
  len: usize = 0;
  /** Takes ownership of the block the host wrote at OUT (ptr) / OUT+4 (len). */
  take(): void {
    this.ptr = <usize>load<u32>(OUT);
    this.len = <usize>load<u32>(OUT, 4);
  }
  /** Frees the block; safe to call twice. */
  release(): void {
    if (this.ptr != 0) heap.free(this.ptr);
    this.ptr = 0;
    this.len = 0;
  }
  /** Copies the block into a managed buffer and frees it (configuration and control paths only). */
  toBuffer(): ArrayBuffer {
    const buf = new ArrayBuffer(<i32>this.len);
    if (this.len > 0) memory.copy(changetype<usize>(buf), this.ptr, this.len);
    this.release();
    return buf;
  }
}
export const returned = new Returned();

function unexpected(call: string, status: Status): void {
  throw new Error('proxy-wasm: unexpected status ' + (<i32>status).toString() + ' from ' + call);
}

function clearOut(): void {
  store<u64>(OUT, 0);
  store<u64>(OUT, 0, 8);
}

// --- logging and time -------------------------------------------------------------------------

// @ts-ignore: decorator
@external('env', 'proxy_log')
declare function proxy_log(level: LogLevel, ptr: usize, len: usize): Status;
/** Logs a UTF-8 message (control paths only: it encodes the string). */
export function log(level: LogLevel, message: string): void {
  const bytes = String.UTF8.encode(message);
  const s = proxy_log(level, changetype<usize>(bytes), bytes.byteLength);
  if (s != Status.Ok) unexpected('proxy_log', s);
}

// @ts-ignore: decorator
@external('env', 'proxy_get_log_level')
declare function proxy_get_log_level(retLevel: usize): Status;
export function getLogLevel(): LogLevel {
  const s = proxy_get_log_level(OUT);
  if (s != Status.Ok) unexpected('proxy_get_log_level', s);
  return <LogLevel>load<u32>(OUT);
}

// @ts-ignore: decorator
@external('env', 'proxy_get_current_time_nanoseconds')
declare function proxy_get_current_time_nanoseconds(retTime: usize): Status;
/** Wall-clock time in milliseconds, as the engine's clock. */
export function currentTimeMs(): f64 {
  const s = proxy_get_current_time_nanoseconds(OUT + 16);
  if (s != Status.Ok) unexpected('proxy_get_current_time_nanoseconds', s);
  return <f64>(load<u64>(OUT, 16) / 1_000_000);
}

// @ts-ignore: decorator
@external('env', 'proxy_set_tick_period_milliseconds')
declare function proxy_set_tick_period_milliseconds(period: u32): Status;
export function setTickPeriod(ms: u32): void {
  const s = proxy_set_tick_period_milliseconds(ms);
  if (s != Status.Ok) unexpected('proxy_set_tick_period_milliseconds', s);
}

// --- buffers ----------------------------------------------------------------------------------

// @ts-ignore: decorator
@external('env', 'proxy_get_buffer_bytes')
declare function proxy_get_buffer_bytes(type: BufferType, start: usize, max: usize, retPtr: usize, retLen: usize): Status;
/** Reads a buffer into `returned`; false when the buffer does not exist (NOT_FOUND) or is empty. */
export function getBufferBytes(type: BufferType, start: usize, max: usize): bool {
  clearOut();
  const s = proxy_get_buffer_bytes(type, start, max, OUT, OUT + 4);
  if (s == Status.NotFound) return false;
  if (s != Status.Ok) unexpected('proxy_get_buffer_bytes', s);
  returned.take();
  return true;
}

// @ts-ignore: decorator
@external('env', 'proxy_get_buffer_status')
declare function proxy_get_buffer_status(type: BufferType, retLen: usize, retFlags: usize): Status;
/** Length of a buffer, or -1 when it does not exist. */
export function getBufferLength(type: BufferType): i64 {
  const s = proxy_get_buffer_status(type, OUT, OUT + 4);
  if (s == Status.NotFound) return -1;
  if (s != Status.Ok) unexpected('proxy_get_buffer_status', s);
  return <i64>load<u32>(OUT);
}

// @ts-ignore: decorator
@external('env', 'proxy_set_buffer_bytes')
declare function proxy_set_buffer_bytes(type: BufferType, start: usize, size: usize, ptr: usize, len: usize): Status;
export function setBufferBytes(type: BufferType, start: usize, size: usize, ptr: usize, len: usize): bool {
  const s = proxy_set_buffer_bytes(type, start, size, ptr, len);
  if (s == Status.NotFound) return false;
  if (s != Status.Ok) unexpected('proxy_set_buffer_bytes', s);
  return true;
}

// --- header maps ------------------------------------------------------------------------------

// @ts-ignore: decorator
@external('env', 'proxy_get_header_map_value')
declare function proxy_get_header_map_value(map: MapType, keyPtr: usize, keyLen: usize, retPtr: usize, retLen: usize): Status;
/** Reads one header value into `returned`; false when the header is absent (NOT_FOUND). */
export function getHeaderValue(map: MapType, keyPtr: usize, keyLen: usize): bool {
  clearOut();
  const s = proxy_get_header_map_value(map, keyPtr, keyLen, OUT, OUT + 4);
  if (s == Status.NotFound) return false;
  if (s != Status.Ok) unexpected('proxy_get_header_map_value', s);
  returned.take();
  return true;
}

// @ts-ignore: decorator
@external('env', 'proxy_get_header_map_pairs')
declare function proxy_get_header_map_pairs(map: MapType, retPtr: usize, retLen: usize): Status;
/** Reads a whole serialized header map into `returned`. */
export function getHeaderPairs(map: MapType): void {
  clearOut();
  const s = proxy_get_header_map_pairs(map, OUT, OUT + 4);
  if (s != Status.Ok) unexpected('proxy_get_header_map_pairs', s);
  returned.take();
}

// @ts-ignore: decorator
@external('env', 'proxy_get_header_map_size')
declare function proxy_get_header_map_size(map: MapType, retSize: usize): Status;
export function getHeaderMapSize(map: MapType): u32 {
  const s = proxy_get_header_map_size(map, OUT);
  if (s != Status.Ok) unexpected('proxy_get_header_map_size', s);
  return load<u32>(OUT);
}

// @ts-ignore: decorator
@external('env', 'proxy_set_header_map_pairs')
declare function proxy_set_header_map_pairs(map: MapType, ptr: usize, len: usize): Status;
export function setHeaderPairs(map: MapType, ptr: usize, len: usize): void {
  const s = proxy_set_header_map_pairs(map, ptr, len);
  if (s != Status.Ok) unexpected('proxy_set_header_map_pairs', s);
}

// @ts-ignore: decorator
@external('env', 'proxy_add_header_map_value')
declare function proxy_add_header_map_value(map: MapType, keyPtr: usize, keyLen: usize, valPtr: usize, valLen: usize): Status;
export function addHeader(map: MapType, keyPtr: usize, keyLen: usize, valPtr: usize, valLen: usize): void {
  const s = proxy_add_header_map_value(map, keyPtr, keyLen, valPtr, valLen);
  if (s != Status.Ok) unexpected('proxy_add_header_map_value', s);
}

// @ts-ignore: decorator
@external('env', 'proxy_replace_header_map_value')
declare function proxy_replace_header_map_value(map: MapType, keyPtr: usize, keyLen: usize, valPtr: usize, valLen: usize): Status;
/** Adds or replaces a header (every previous value is dropped). */
export function replaceHeader(map: MapType, keyPtr: usize, keyLen: usize, valPtr: usize, valLen: usize): void {
  const s = proxy_replace_header_map_value(map, keyPtr, keyLen, valPtr, valLen);
  if (s != Status.Ok) unexpected('proxy_replace_header_map_value', s);
}

// @ts-ignore: decorator
@external('env', 'proxy_remove_header_map_value')
declare function proxy_remove_header_map_value(map: MapType, keyPtr: usize, keyLen: usize): Status;
export function removeHeader(map: MapType, keyPtr: usize, keyLen: usize): void {
  const s = proxy_remove_header_map_value(map, keyPtr, keyLen);
  if (s != Status.Ok) unexpected('proxy_remove_header_map_value', s);
}

// --- streams and replies ----------------------------------------------------------------------

// @ts-ignore: decorator
@external('env', 'proxy_continue_stream')
declare function proxy_continue_stream(stream: StreamType): Status;
export function continueStream(stream: StreamType): void {
  const s = proxy_continue_stream(stream);
  if (s != Status.Ok) unexpected('proxy_continue_stream', s);
}

// @ts-ignore: decorator
@external('env', 'proxy_close_stream')
declare function proxy_close_stream(stream: StreamType): Status;
export function closeStream(stream: StreamType): void {
  const s = proxy_close_stream(stream);
  if (s != Status.Ok) unexpected('proxy_close_stream', s);
}

// @ts-ignore: decorator
@external('env', 'proxy_send_local_response')
declare function proxy_send_local_response(
  code: u32, detailsPtr: usize, detailsLen: usize, bodyPtr: usize, bodyLen: usize,
  headersPtr: usize, headersLen: usize, grpcStatus: i32): Status;
/** Ends the stream with a locally generated reply; grpcStatus -1 = not a gRPC reply. */
export function sendLocalResponse(code: u32, detailsPtr: usize, detailsLen: usize, bodyPtr: usize, bodyLen: usize,
  headersPtr: usize, headersLen: usize): void {
  const s = proxy_send_local_response(code, detailsPtr, detailsLen, bodyPtr, bodyLen, headersPtr, headersLen, -1);
  if (s != Status.Ok) unexpected('proxy_send_local_response', s);
}

// @ts-ignore: decorator
@external('env', 'proxy_get_status')
declare function proxy_get_status(retCode: usize, retPtr: usize, retLen: usize): Status;
/** The gRPC status of the last gRPC callback; its message is left in `returned`. */
export function getStatus(): u32 {
  clearOut();
  const s = proxy_get_status(OUT + 8, OUT, OUT + 4);
  if (s != Status.Ok) unexpected('proxy_get_status', s);
  returned.take();
  return load<u32>(OUT, 8);
}

// @ts-ignore: decorator
@external('env', 'proxy_done')
declare function proxy_done(): Status;
/** Tells the host a context that answered false from proxy_on_done has finished; false if unknown. */
export function done(): bool {
  const s = proxy_done();
  if (s == Status.NotFound) return false;
  if (s != Status.Ok) unexpected('proxy_done', s);
  return true;
}

// @ts-ignore: decorator
@external('env', 'proxy_set_effective_context')
declare function proxy_set_effective_context(ctx: u32): Status;
/** Makes later host calls act on `ctx`; false when the host does not know it. */
export function setEffectiveContext(ctx: u32): bool {
  const s = proxy_set_effective_context(ctx);
  if (s == Status.BadArgument) return false;
  if (s != Status.Ok) unexpected('proxy_set_effective_context', s);
  return true;
}

// --- HTTP callouts ----------------------------------------------------------------------------

// @ts-ignore: decorator
@external('env', 'proxy_http_call')
declare function proxy_http_call(
  upPtr: usize, upLen: usize, hdrPtr: usize, hdrLen: usize, bodyPtr: usize, bodyLen: usize,
  trlPtr: usize, trlLen: usize, timeoutMs: u32, retCallId: usize): Status;
/** Starts an HTTP call; returns its id, or -1 when the host rejects it (unknown cluster, bad headers). */
export function httpCall(upPtr: usize, upLen: usize, hdrPtr: usize, hdrLen: usize, timeoutMs: u32): i64 {
  const s = proxy_http_call(upPtr, upLen, hdrPtr, hdrLen, 0, 0, 0, 0, timeoutMs, OUT);
  if (s == Status.BadArgument || s == Status.InternalFailure) return -1;
  if (s != Status.Ok) unexpected('proxy_http_call', s);
  return <i64>load<u32>(OUT);
}
