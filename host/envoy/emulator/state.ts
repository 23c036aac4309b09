/**
 * The host side of one proxy-wasm VM in the emulator: what Envoy keeps per VM (contexts, header
 * maps, buffers, properties, callouts, logs) plus the state Envoy shares between the per-worker VM
 * copies of one plugin (shared data, queues, stats). Memory helpers read and write the guest's
 * linear memory and hand data back through the guest's own allocator, as proxy-wasm-cpp-host does.
 */
import type { HeaderPairs } from './header-map.js';

/** proxy_status_t (spec numbering). */
export const Status = {
  Ok: 0, NotFound: 1, BadArgument: 2, SerializationFailure: 3, ParseFailure: 4,
  InvalidMemoryAccess: 6, Empty: 7, CasMismatch: 8, InternalFailure: 10, Unimplemented: 12,
} as const;
export type Status = (typeof Status)[keyof typeof Status];

export const LogLevel = { Trace: 0, Debug: 1, Info: 2, Warn: 3, Error: 4, Critical: 5 } as const;
export type LogLevel = (typeof LogLevel)[keyof typeof LogLevel];
export const Action = { Continue: 0, Pause: 1 } as const;
export type Action = (typeof Action)[keyof typeof Action];
export const BufferType = {
  HttpRequestBody: 0, HttpResponseBody: 1, DownstreamData: 2, UpstreamData: 3, HttpCallResponseBody: 4,
  GrpcCallMessage: 5, VmConfiguration: 6, PluginConfiguration: 7, ForeignFunctionArguments: 8,
} as const;
export const MapType = {
  HttpRequestHeaders: 0, HttpRequestTrailers: 1, HttpResponseHeaders: 2, HttpResponseTrailers: 3,
  GrpcCallInitialMetadata: 4, GrpcCallTrailingMetadata: 5, HttpCallResponseHeaders: 6, HttpCallResponseTrailers: 7,
} as const;
export const MetricType = { Counter: 0, Gauge: 1, Histogram: 2 } as const;
/** The emulator's one root (plugin) context. */
export const ROOT_CONTEXT_ID = 1;
export const PeerType = { Unknown: 0, Local: 1, Remote: 2 } as const;

export interface LogEntry {
  level: LogLevel;
  message: string;
}

export interface LocalResponse {
  statusCode: number;
  details: string;
  body: string;
  headers: HeaderPairs;
  grpcStatus: number;
}

/** Envoy filter-state objects set through set_envoy_filter_state, keyed by path. */
export interface FilterStateEntry {
  value: string;
  /** LifeSpan: 0 FilterChain, 1 DownstreamRequest, 2 DownstreamConnection. */
  span: number;
}

/** One HTTP stream or TCP connection context. */
export interface StreamState {
  readonly id: number;
  readonly kind: 'http' | 'tcp';
  maps: Map<number, HeaderPairs>;
  buffers: Map<number, Uint8Array>;
  properties: Map<string, Uint8Array>;
  filterState: Map<string, FilterStateEntry>;
  localResponse: LocalResponse | null;
  continued: number;
  closed: number;
  done: boolean;
}

export interface HttpCallout {
  readonly id: number;
  readonly contextId: number;
  readonly upstream: string;
  readonly headers: HeaderPairs;
  readonly body: Uint8Array;
  readonly trailers: HeaderPairs;
  readonly timeoutMs: number;
}

/** A metric as Envoy's stats store holds it: one per name, shared by every VM copy. */
export interface MetricState {
  readonly name: string;
  readonly type: number;
  value: bigint;
}

/**
 * What Envoy shares between the VM copies of one plugin (one per worker thread): shared data
 * (proxy_{get,set}_shared_data with CAS), shared queues and the stats store. Pass one instance to
 * several emulated VMs to model several workers.
 */
export class SharedState {
  readonly data = new Map<string, { value: Uint8Array; cas: number }>();
  readonly queues = new Map<number, { vmId: string; name: string; items: Uint8Array[] }>();
  readonly metrics = new Map<string, MetricState>();
  private nextCas = 1;
  private nextQueue = 1;
  bumpCas(): number {
    return this.nextCas++;
  }
  queueId(): number {
    return this.nextQueue++;
  }
}

/** Thrown when the guest calls proc_exit (an AssemblyScript abort): the VM is dead. */
export class GuestExit extends Error {
  constructor(readonly code: number, readonly lastLog: string) {
    super(`proxy-wasm guest exited with code ${code}${lastLog ? `: ${lastLog}` : ''}`);
    this.name = 'GuestExit';
  }
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export class HostState {
  exports!: Record<string, WebAssembly.ExportValue>;
  memory!: WebAssembly.Memory;
  readonly logs: LogEntry[] = [];
  logLevel: LogLevel = LogLevel.Trace;
  tickPeriodMs = 0;
  nowNs = 1_700_000_000_000_000_000n;
  vmConfiguration: Uint8Array = new Uint8Array();
  pluginConfiguration: Uint8Array = new Uint8Array();
  readonly properties = new Map<string, Uint8Array>();
  readonly streams = new Map<number, StreamState>();
  readonly callouts = new Map<number, HttpCallout>();
  /** Upstream clusters proxy_http_call accepts; null = any. */
  knownClusters: Set<string> | null = null;
  nextCalloutId = 1;
  /** The context host calls act on (the one whose callback runs, or proxy_set_effective_context). */
  currentContext = 0;
  /** Set only while proxy_on_http_call_response runs. */
  calloutResponse: { headers: HeaderPairs; body: Uint8Array; trailers: HeaderPairs } | null = null;
  foreignArgs: Uint8Array = new Uint8Array();
  readonly metricIds = new Map<number, MetricState>();
  nextMetricId = 1;
  /** Calls to host functions the emulator does not implement, by name. */
  readonly unimplemented: string[] = [];
  /**
   * Plugin shutdown as cpp-host runs it (WasmBase::startShutdown/done/finishShutdown): a root
   * context whose proxy_on_done answered false is pending until the guest calls proxy_done; its
   * proxy_on_delete then runs after that VM call returns, never from inside it.
   */
  rootPendingDone = false;
  rootDeleteDue = false;
  rootDeleted = false;

  constructor(readonly shared: SharedState, readonly vmId: string) {}

  private cachedView: DataView | null = null;

  /** A DataView of guest memory, renewed when memory.grow replaces the buffer. */
  view(): DataView {
    const buf = this.memory.buffer;
    if (this.cachedView?.buffer !== buf) this.cachedView = new DataView(buf);
    return this.cachedView;
  }

  /** Guest bytes [ptr, ptr+len), or null when out of bounds (→ INVALID_MEMORY_ACCESS). */
  read(ptr: number, len: number): Uint8Array | null {
    const buf = this.memory.buffer;
    if (ptr < 0 || len < 0 || ptr + len > buf.byteLength) return null;
    return new Uint8Array(buf, ptr, len).slice();
  }

  readString(ptr: number, len: number): string | null {
    const bytes = this.read(ptr, len);
    return bytes ? decoder.decode(bytes) : null;
  }

  writeU32(ptr: number, value: number): boolean {
    if (ptr < 0 || ptr + 4 > this.memory.buffer.byteLength) return false;
    this.view().setUint32(ptr, value >>> 0, true);
    return true;
  }

  writeU64(ptr: number, value: bigint): boolean {
    if (ptr < 0 || ptr + 8 > this.memory.buffer.byteLength) return false;
    this.view().setBigUint64(ptr, value, true);
    return true;
  }

  /**
   * Copies bytes into memory obtained from the guest's allocator and stores (ptr, len) at the two
   * return slots. cpp-host looks up `malloc` first, then `proxy_on_memory_allocate`.
   */
  returnBytes(bytes: Uint8Array, retPtr: number, retLen: number): Status {
    const alloc = (this.exports['malloc'] ?? this.exports['proxy_on_memory_allocate']) as ((n: number) => number) | undefined;
    if (!alloc) throw new Error('proxy-wasm module exports neither malloc nor proxy_on_memory_allocate');
    let ptr = 0;
    if (bytes.length > 0) {
      ptr = alloc(bytes.length) >>> 0;
      if (ptr === 0) return Status.InvalidMemoryAccess;
      new Uint8Array(this.memory.buffer, ptr, bytes.length).set(bytes);
    }
    if (!this.writeU32(retPtr, ptr) || !this.writeU32(retLen, bytes.length)) return Status.InvalidMemoryAccess;
    return Status.Ok;
  }

  stream(): StreamState | undefined {
    return this.streams.get(this.currentContext);
  }

  log(level: LogLevel, message: string): void {
    this.logs.push({ level, message });
  }

  static encode(text: string): Uint8Array {
    return encoder.encode(text);
  }
}
