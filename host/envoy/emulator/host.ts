/**
 * A proxy-wasm (ABI v0.2.1) host emulator for tests and benchmarks, shaped like the Go SDK's
 * `proxytest`: one object holds the host state of a VM, drivers fire the callbacks in the order
 * Envoy does (proxy-wasm-cpp-host ContextBase::onStart/onConfigure/onCreate/onDone/onLog/onDelete),
 * and inspectors read what the plugin did. Unlike proxytest it runs the compiled .wasm, so the
 * exact module Envoy would load is what gets tested.
 *
 *   const vm = await ProxyWasmHost.load(bytes, { pluginConfiguration: json });
 *   vm.startVm(); vm.configure();
 *   const id = vm.initializeHttpContext({ source: '10.0.0.1:5555', destination: '10.96.0.10:80' });
 *   vm.callOnRequestHeaders(id, [[':authority', 'web.default']], true);
 *   vm.getRequestHeaders(id); vm.completeHttpContext(id);
 */
import { serializeHeaderMap, type HeaderPairs } from './header-map.js';
import { envImports, wasiImports } from './imports.js';
import {
  Action, BufferType, HostState, MapType, PeerType, ROOT_CONTEXT_ID, SharedState,
  type FilterStateEntry, type HttpCallout, type LocalResponse, type LogEntry, type LogLevel, type StreamState,
} from './state.js';

export interface ProxyWasmHostOptions {
  /** Bytes of the plugin configuration (Envoy: the StringValue `value` of `config.configuration`). */
  pluginConfiguration?: string | Uint8Array;
  /** Bytes of the VM configuration (`vm_config.configuration`). */
  vmConfiguration?: string | Uint8Array;
  /** State shared with other VM copies of the same plugin (other workers). */
  shared?: SharedState;
  /** `vm_config.vm_id`. */
  vmId?: string;
  /** Host properties (`plugin_name`, `plugin_root_id`, ...) as strings or raw bytes. */
  properties?: Record<string, string | Uint8Array>;
  /** Clusters proxy_http_call accepts (Envoy: the configured clusters); default: any. */
  clusters?: string[];
  /** Wall clock, nanoseconds since the epoch. */
  nowNs?: bigint;
  /** Fault injection: these host calls return the given status and do nothing else. */
  faults?: Record<string, number>;
}

/** Addresses Envoy reports for a downstream connection (`source.address`, `destination.address`). */
export interface ConnectionAddresses {
  /** `ip:port` or `[v6]:port`. */
  source: string;
  destination: string;
}

export class ProxyWasmHost {
  readonly state: HostState;
  private nextContextId = ROOT_CONTEXT_ID + 1;

  private constructor(state: HostState) {
    this.state = state;
  }

  /** Instantiates the module and runs `_initialize` (or `_start`), as cpp-host does before any callback. */
  static async load(wasm: Uint8Array | WebAssembly.Module, options: ProxyWasmHostOptions = {}): Promise<ProxyWasmHost> {
    const state = new HostState(options.shared ?? new SharedState(), options.vmId ?? 'vipwasm');
    const toBytes = (v: string | Uint8Array | undefined) => (typeof v === 'string' ? HostState.encode(v) : v ?? new Uint8Array());
    state.pluginConfiguration = toBytes(options.pluginConfiguration);
    state.vmConfiguration = toBytes(options.vmConfiguration);
    state.knownClusters = options.clusters ? new Set(options.clusters) : null;
    if (options.nowNs !== undefined) state.nowNs = options.nowNs;
    for (const [k, v] of Object.entries(options.properties ?? {})) state.properties.set(k, toBytes(v));
    const module = wasm instanceof WebAssembly.Module ? wasm : await WebAssembly.compile(wasm as Uint8Array<ArrayBuffer>);
    const env = envImports(state);
    for (const [name, status] of Object.entries(options.faults ?? {})) {
      if (!(name in env)) throw new Error(`fault injection: no host call "${name}"`);
      env[name] = () => status;
    }
    const instance = await WebAssembly.instantiate(module, {
      env: env as WebAssembly.ModuleImports,
      wasi_snapshot_preview1: wasiImports(state) as WebAssembly.ModuleImports,
      wasi_unstable: wasiImports(state) as WebAssembly.ModuleImports,
    });
    state.exports = instance.exports;
    state.memory = instance.exports['memory'] as WebAssembly.Memory;
    if (!('proxy_abi_version_0_2_1' in instance.exports)) throw new Error('module does not export proxy_abi_version_0_2_1');
    const init = (instance.exports['_initialize'] ?? instance.exports['_start']) as (() => void) | undefined;
    init?.();
    return new ProxyWasmHost(state);
  }

  get rootContextId(): number {
    return ROOT_CONTEXT_ID;
  }

  /** Nesting of guest calls: work deferred until "after the VM call" runs at depth 0. */
  private depth = 0;

  private call(name: string, contextId: number, ...args: Array<number | bigint>): number {
    const fn = this.state.exports[name] as ((...a: Array<number | bigint>) => number | undefined) | undefined;
    if (!fn) return -1;
    const saved = this.state.currentContext;
    this.state.currentContext = contextId;
    this.depth++;
    try {
      return fn(contextId, ...args) ?? 0;
    } finally {
      this.state.currentContext = saved;
      this.depth--;
      if (this.depth === 0 && this.state.rootDeleteDue) {
        this.state.rootDeleteDue = false;
        this.deleteRoot();
      }
    }
  }

  private deleteRoot(): void {
    this.state.tickPeriodMs = 0;
    this.state.rootDeleted = true;
    this.call('proxy_on_delete', ROOT_CONTEXT_ID);
  }

  // --- drivers ---------------------------------------------------------------------------------

  /** proxy_on_context_create(root, 0) then proxy_on_vm_start; returns what vm_start returned. */
  startVm(): boolean {
    this.call('proxy_on_context_create', ROOT_CONTEXT_ID, 0);
    return this.call('proxy_on_vm_start', ROOT_CONTEXT_ID, this.state.vmConfiguration.length) !== 0;
  }

  /** proxy_on_configure with the plugin configuration (optionally replaced first). */
  configure(pluginConfiguration?: string | Uint8Array): boolean {
    if (pluginConfiguration !== undefined) {
      this.state.pluginConfiguration = typeof pluginConfiguration === 'string' ? HostState.encode(pluginConfiguration) : pluginConfiguration;
    }
    return this.call('proxy_on_configure', ROOT_CONTEXT_ID, this.state.pluginConfiguration.length) !== 0;
  }

  /** Advances the clock by `ms` and fires proxy_on_tick (as Envoy's timer would). */
  tick(ms = this.state.tickPeriodMs): void {
    this.advance(ms);
    this.call('proxy_on_tick', ROOT_CONTEXT_ID);
  }

  advance(ms: number): void {
    this.state.nowNs += BigInt(Math.round(ms * 1e6));
  }

  private newStream(kind: 'http' | 'tcp', addresses?: ConnectionAddresses): number {
    const id = this.nextContextId++;
    const stream: StreamState = {
      id, kind, maps: new Map(), buffers: new Map(), properties: new Map(), filterState: new Map(),
      localResponse: null, continued: 0, closed: 0, done: false,
    };
    if (addresses) {
      for (const side of ['source', 'destination'] as const) {
        const text = addresses[side];
        const cut = text.lastIndexOf(':');
        const port = new Uint8Array(8);
        const n = Number(text.slice(cut + 1));
        port[0] = n & 0xff;
        port[1] = n >>> 8;
        stream.properties.set(side === 'source' ? 'source.address' : 'destination.address', HostState.encode(text));
        stream.properties.set(side === 'source' ? 'source.port' : 'destination.port', port);
      }
    }
    this.state.streams.set(id, stream);
    this.call('proxy_on_context_create', id, ROOT_CONTEXT_ID);
    return id;
  }

  /** A new HTTP stream on a downstream connection with these addresses. */
  initializeHttpContext(addresses?: ConnectionAddresses): number {
    return this.newStream('http', addresses);
  }

  callOnRequestHeaders(id: number, headers: HeaderPairs, endOfStream: boolean): Action {
    this.streamOf(id).maps.set(MapType.HttpRequestHeaders, headers.map(([k, v]) => [k.toLowerCase(), v]));
    return this.call('proxy_on_request_headers', id, headers.length, endOfStream ? 1 : 0) as Action;
  }

  callOnRequestBody(id: number, body: Uint8Array, endOfStream: boolean): Action {
    this.streamOf(id).buffers.set(BufferType.HttpRequestBody, body);
    return this.call('proxy_on_request_body', id, body.length, endOfStream ? 1 : 0) as Action;
  }

  callOnResponseHeaders(id: number, headers: HeaderPairs, endOfStream: boolean): Action {
    this.streamOf(id).maps.set(MapType.HttpResponseHeaders, headers.map(([k, v]) => [k.toLowerCase(), v]));
    return this.call('proxy_on_response_headers', id, headers.length, endOfStream ? 1 : 0) as Action;
  }

  /** proxy_on_done, proxy_on_log, proxy_on_delete: the end of any stream or connection context. */
  completeContext(id: number): void {
    const stream = this.streamOf(id);
    stream.done = this.call('proxy_on_done', id) !== 0;
    this.call('proxy_on_log', id);
    this.call('proxy_on_delete', id);
    this.state.streams.delete(id);
  }

  completeHttpContext(id: number): void {
    this.completeContext(id);
  }

  /** A new downstream TCP connection: context create, then proxy_on_new_connection. */
  initializeConnection(addresses: ConnectionAddresses): { id: number; action: Action } {
    const id = this.newStream('tcp', addresses);
    return { id, action: this.call('proxy_on_new_connection', id) as Action };
  }

  callOnDownstreamData(id: number, data: Uint8Array, endOfStream: boolean): Action {
    this.streamOf(id).buffers.set(BufferType.DownstreamData, data);
    return this.call('proxy_on_downstream_data', id, data.length, endOfStream ? 1 : 0) as Action;
  }

  /** Both sides closed (downstream by the remote peer), then done/log/delete. */
  completeConnection(id: number): void {
    this.call('proxy_on_downstream_connection_close', id, PeerType.Remote);
    this.call('proxy_on_upstream_connection_close', id, PeerType.Local);
    this.completeContext(id);
  }

  /**
   * Removes the plugin as Envoy does when its configuration goes away (cpp-host
   * WasmBase::startShutdown): streams still open are completed, then proxy_on_done on the root
   * context. If it answers true, proxy_on_delete follows at once; if false, the root stays
   * pending (its tick and callouts keep running) until the guest calls proxy_done, and
   * proxy_on_delete runs right after that VM call returns. Returns what proxy_on_done answered.
   */
  shutdownPlugin(): boolean {
    for (const id of [...this.state.streams.keys()]) this.completeContext(id);
    const done = this.call('proxy_on_done', ROOT_CONTEXT_ID) !== 0;
    if (done) this.deleteRoot();
    else this.state.rootPendingDone = true;
    return done;
  }

  /** Whether proxy_on_delete has run on the root context (the plugin is gone). */
  pluginDeleted(): boolean {
    return this.state.rootDeleted;
  }

  /** Delivers the response of a pending proxy_http_call; `headers` empty = the call failed. */
  callOnHttpCallResponse(callId: number, headers: HeaderPairs, body: Uint8Array = new Uint8Array(), trailers: HeaderPairs = []): void {
    const callout = this.state.callouts.get(callId);
    if (!callout) throw new Error(`no pending http call ${callId}`);
    this.state.callouts.delete(callId);
    this.state.calloutResponse = { headers, body, trailers };
    try {
      this.call('proxy_on_http_call_response', callout.contextId, callId, headers.length, body.length, trailers.length);
    } finally {
      this.state.calloutResponse = null;
    }
  }

  // --- inspectors ------------------------------------------------------------------------------

  private streamOf(id: number): StreamState {
    const stream = this.state.streams.get(id);
    if (!stream) throw new Error(`no context ${id}`);
    return stream;
  }

  getRequestHeaders(id: number): HeaderPairs {
    return [...(this.streamOf(id).maps.get(MapType.HttpRequestHeaders) ?? [])];
  }

  getLocalResponse(id: number): LocalResponse | null {
    return this.streamOf(id).localResponse;
  }

  getFilterState(id: number): Map<string, FilterStateEntry> {
    return this.streamOf(id).filterState;
  }

  getLogs(minLevel: LogLevel = 0 as LogLevel): LogEntry[] {
    return this.state.logs.filter((l) => l.level >= minLevel);
  }

  clearLogs(): void {
    this.state.logs.length = 0;
  }

  /** A metric's value by name (shared by every VM copy, as Envoy's stats are). */
  getMetric(name: string): bigint | undefined {
    return this.state.shared.metrics.get(name)?.value;
  }

  metricNames(): string[] {
    return [...this.state.shared.metrics.keys()].sort();
  }

  getTickPeriod(): number {
    return this.state.tickPeriodMs;
  }

  pendingHttpCalls(): HttpCallout[] {
    return [...this.state.callouts.values()];
  }

  /** Bytes of the guest's linear memory. */
  memoryBytes(): number {
    return this.state.memory.buffer.byteLength;
  }

  liveContexts(): number {
    return this.state.streams.size;
  }

  static serializeHeaders(pairs: HeaderPairs): Uint8Array {
    return serializeHeaderMap(pairs);
  }
}

export { SharedState };
