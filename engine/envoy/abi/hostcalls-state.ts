/**
 * Proxy-Wasm ABI v0.2.1 host calls for state outside one stream: shared data and queues (the only
 * memory Envoy's per-worker VM copies share), metrics, properties, foreign functions and gRPC.
 * Same conventions as ./hostcalls.ts: one wrapper per import, expected statuses mapped, the
 * unexpected aborts.
 */
import { returned } from './hostcalls';
import { MetricType, Status } from './types';

/** Out-parameter scratch, separate from hostcalls.ts so the two never alias. */
const OUT: usize = memory.data(32);

function unexpected(call: string, status: Status): void {
  throw new Error('proxy-wasm: unexpected status ' + (<i32>status).toString() + ' from ' + call);
}

function takeReturned(): void {
  returned.ptr = <usize>load<u32>(OUT);
  returned.len = <usize>load<u32>(OUT, 4);
}

// --- shared data ------------------------------------------------------------------------------

// @ts-ignore: decorator
@external('env', 'proxy_get_shared_data')
declare function proxy_get_shared_data(keyPtr: usize, keyLen: usize, retPtr: usize, retLen: usize, retCas: usize): Status;
/** The CAS token of the last successful getSharedData. */
export let sharedDataCas: u32 = 0;
/** Reads a shared value into `returned` (and its CAS into sharedDataCas); false when absent. */
export function getSharedData(keyPtr: usize, keyLen: usize): bool {
  store<u64>(OUT, 0);
  store<u32>(OUT, 0, 8);
  const s = proxy_get_shared_data(keyPtr, keyLen, OUT, OUT + 4, OUT + 8);
  if (s == Status.NotFound) return false;
  if (s != Status.Ok) unexpected('proxy_get_shared_data', s);
  takeReturned();
  sharedDataCas = load<u32>(OUT, 8);
  return true;
}

// @ts-ignore: decorator
@external('env', 'proxy_set_shared_data')
declare function proxy_set_shared_data(keyPtr: usize, keyLen: usize, valPtr: usize, valLen: usize, cas: u32): Status;
/** Writes a shared value; cas 0 = unconditional. Returns Ok or CasMismatch. */
export function setSharedData(keyPtr: usize, keyLen: usize, valPtr: usize, valLen: usize, cas: u32): Status {
  const s = proxy_set_shared_data(keyPtr, keyLen, valPtr, valLen, cas);
  if (s != Status.Ok && s != Status.CasMismatch) unexpected('proxy_set_shared_data', s);
  return s;
}

// @ts-ignore: decorator
@external('env', 'proxy_register_shared_queue')
declare function proxy_register_shared_queue(namePtr: usize, nameLen: usize, retId: usize): Status;
export function registerSharedQueue(namePtr: usize, nameLen: usize): u32 {
  const s = proxy_register_shared_queue(namePtr, nameLen, OUT);
  if (s != Status.Ok) unexpected('proxy_register_shared_queue', s);
  return load<u32>(OUT);
}

// @ts-ignore: decorator
@external('env', 'proxy_resolve_shared_queue')
declare function proxy_resolve_shared_queue(vmPtr: usize, vmLen: usize, namePtr: usize, nameLen: usize, retId: usize): Status;
/** A queue's id, or -1 when no VM registered it. */
export function resolveSharedQueue(vmPtr: usize, vmLen: usize, namePtr: usize, nameLen: usize): i64 {
  const s = proxy_resolve_shared_queue(vmPtr, vmLen, namePtr, nameLen, OUT);
  if (s == Status.NotFound) return -1;
  if (s != Status.Ok) unexpected('proxy_resolve_shared_queue', s);
  return <i64>load<u32>(OUT);
}

// @ts-ignore: decorator
@external('env', 'proxy_enqueue_shared_queue')
declare function proxy_enqueue_shared_queue(id: u32, valPtr: usize, valLen: usize): Status;
export function enqueueSharedQueue(id: u32, valPtr: usize, valLen: usize): bool {
  const s = proxy_enqueue_shared_queue(id, valPtr, valLen);
  if (s == Status.NotFound) return false;
  if (s != Status.Ok) unexpected('proxy_enqueue_shared_queue', s);
  return true;
}

// @ts-ignore: decorator
@external('env', 'proxy_dequeue_shared_queue')
declare function proxy_dequeue_shared_queue(id: u32, retPtr: usize, retLen: usize): Status;
/** Pops one item into `returned`; false when the queue is empty or unknown. */
export function dequeueSharedQueue(id: u32): bool {
  store<u64>(OUT, 0);
  const s = proxy_dequeue_shared_queue(id, OUT, OUT + 4);
  if (s == Status.Empty || s == Status.NotFound) return false;
  if (s != Status.Ok) unexpected('proxy_dequeue_shared_queue', s);
  takeReturned();
  return true;
}

// --- metrics ----------------------------------------------------------------------------------

// @ts-ignore: decorator
@external('env', 'proxy_define_metric')
declare function proxy_define_metric(type: MetricType, namePtr: usize, nameLen: usize, retId: usize): Status;
/** Defines (or finds) a metric by name; control path only (encodes the name). */
export function defineMetric(type: MetricType, name: string): u32 {
  const bytes = String.UTF8.encode(name);
  const s = proxy_define_metric(type, changetype<usize>(bytes), bytes.byteLength, OUT);
  if (s != Status.Ok) unexpected('proxy_define_metric', s);
  return load<u32>(OUT);
}

// @ts-ignore: decorator
@external('env', 'proxy_increment_metric')
declare function proxy_increment_metric(id: u32, delta: i64): Status;
export function incrementMetric(id: u32, delta: i64): void {
  const s = proxy_increment_metric(id, delta);
  if (s != Status.Ok) unexpected('proxy_increment_metric', s);
}

// @ts-ignore: decorator
@external('env', 'proxy_record_metric')
declare function proxy_record_metric(id: u32, value: u64): Status;
export function recordMetric(id: u32, value: u64): void {
  const s = proxy_record_metric(id, value);
  if (s != Status.Ok) unexpected('proxy_record_metric', s);
}

// @ts-ignore: decorator
@external('env', 'proxy_get_metric')
declare function proxy_get_metric(id: u32, retValue: usize): Status;
export function getMetric(id: u32): u64 {
  const s = proxy_get_metric(id, OUT + 16);
  if (s != Status.Ok) unexpected('proxy_get_metric', s);
  return load<u64>(OUT, 16);
}

// --- properties and foreign functions ---------------------------------------------------------

// @ts-ignore: decorator
@external('env', 'proxy_get_property')
declare function proxy_get_property(pathPtr: usize, pathLen: usize, retPtr: usize, retLen: usize): Status;
/** Reads a property (path segments joined by NUL) into `returned`; false when absent. */
export function getProperty(pathPtr: usize, pathLen: usize): bool {
  store<u64>(OUT, 0);
  const s = proxy_get_property(pathPtr, pathLen, OUT, OUT + 4);
  if (s == Status.NotFound || s == Status.SerializationFailure) return false;
  if (s != Status.Ok) unexpected('proxy_get_property', s);
  takeReturned();
  return true;
}

// @ts-ignore: decorator
@external('env', 'proxy_set_property')
declare function proxy_set_property(pathPtr: usize, pathLen: usize, valPtr: usize, valLen: usize): Status;
export function setProperty(pathPtr: usize, pathLen: usize, valPtr: usize, valLen: usize): bool {
  const s = proxy_set_property(pathPtr, pathLen, valPtr, valLen);
  if (s == Status.NotFound) return false;
  if (s != Status.Ok) unexpected('proxy_set_property', s);
  return true;
}

// @ts-ignore: decorator
@external('env', 'proxy_call_foreign_function')
declare function proxy_call_foreign_function(namePtr: usize, nameLen: usize, argPtr: usize, argLen: usize,
  retPtr: usize, retLen: usize): Status;
/**
 * Calls a host-specific function; its result (if any) goes to `returned`. Returns the status, since
 * each foreign function defines its own (Envoy's set_envoy_filter_state: NOT_FOUND for an
 * unregistered key, BAD_ARGUMENT for a value its factory rejects).
 */
export function callForeignFunction(namePtr: usize, nameLen: usize, argPtr: usize, argLen: usize): Status {
  store<u64>(OUT, 0);
  const s = proxy_call_foreign_function(namePtr, nameLen, argPtr, argLen, OUT, OUT + 4);
  if (s == Status.Ok) takeReturned();
  return s;
}

// --- gRPC (wrapped for completeness; the filter does not use gRPC) ----------------------------

// @ts-ignore: decorator
@external('env', 'proxy_grpc_call')
declare function proxy_grpc_call(upPtr: usize, upLen: usize, svcPtr: usize, svcLen: usize, mPtr: usize, mLen: usize,
  iniPtr: usize, iniLen: usize, msgPtr: usize, msgLen: usize, timeoutMs: u32, retId: usize): Status;
/** Starts a unary gRPC call; -1 when the upstream is unknown. */
export function grpcCall(upPtr: usize, upLen: usize, svcPtr: usize, svcLen: usize, mPtr: usize, mLen: usize,
  iniPtr: usize, iniLen: usize, msgPtr: usize, msgLen: usize, timeoutMs: u32): i64 {
  const s = proxy_grpc_call(upPtr, upLen, svcPtr, svcLen, mPtr, mLen, iniPtr, iniLen, msgPtr, msgLen, timeoutMs, OUT);
  if (s == Status.ParseFailure || s == Status.BadArgument) return -1;
  if (s != Status.Ok) unexpected('proxy_grpc_call', s);
  return <i64>load<u32>(OUT);
}

// @ts-ignore: decorator
@external('env', 'proxy_grpc_stream')
declare function proxy_grpc_stream(upPtr: usize, upLen: usize, svcPtr: usize, svcLen: usize, mPtr: usize, mLen: usize,
  iniPtr: usize, iniLen: usize, retId: usize): Status;
export function grpcStream(upPtr: usize, upLen: usize, svcPtr: usize, svcLen: usize, mPtr: usize, mLen: usize,
  iniPtr: usize, iniLen: usize): i64 {
  const s = proxy_grpc_stream(upPtr, upLen, svcPtr, svcLen, mPtr, mLen, iniPtr, iniLen, OUT);
  if (s == Status.ParseFailure || s == Status.BadArgument) return -1;
  if (s != Status.Ok) unexpected('proxy_grpc_stream', s);
  return <i64>load<u32>(OUT);
}

// @ts-ignore: decorator
@external('env', 'proxy_grpc_send')
declare function proxy_grpc_send(id: u32, msgPtr: usize, msgLen: usize, endStream: u32): Status;
export function grpcSend(id: u32, msgPtr: usize, msgLen: usize, endStream: bool): bool {
  const s = proxy_grpc_send(id, msgPtr, msgLen, endStream ? 1 : 0);
  if (s == Status.NotFound) return false;
  if (s != Status.Ok) unexpected('proxy_grpc_send', s);
  return true;
}

// @ts-ignore: decorator
@external('env', 'proxy_grpc_cancel')
declare function proxy_grpc_cancel(id: u32): Status;
export function grpcCancel(id: u32): bool {
  const s = proxy_grpc_cancel(id);
  if (s == Status.NotFound) return false;
  if (s != Status.Ok) unexpected('proxy_grpc_cancel', s);
  return true;
}

// @ts-ignore: decorator
@external('env', 'proxy_grpc_close')
declare function proxy_grpc_close(id: u32): Status;
export function grpcClose(id: u32): bool {
  const s = proxy_grpc_close(id);
  if (s == Status.NotFound) return false;
  if (s != Status.Ok) unexpected('proxy_grpc_close', s);
  return true;
}
