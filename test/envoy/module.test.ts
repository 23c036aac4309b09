/**
 * envoy-filter.wasm against the ABI v0.2.1 surface a host links it to: every export is a callback
 * the spec defines, with the spec's parameter count (a wrong arity would be called with garbage),
 * and every import is a host function the spec (module `env`) or cpp-host's WASI set provides.
 * Envoy refuses to start a VM whose imports it cannot satisfy.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ProxyWasmHost } from '../../host/envoy/emulator/host.js';
import { filterWasmPath } from '../../host/envoy/filter-wasm.js';

/** Guest exports of ABI v0.2.1 (spec "Callbacks") → parameter count. */
const CALLBACKS: Record<string, number> = {
  proxy_abi_version_0_2_1: 0, _initialize: 0, _start: 0, proxy_on_memory_allocate: 1, malloc: 1,
  proxy_on_context_create: 2, proxy_on_done: 1, proxy_on_log: 1, proxy_on_delete: 1,
  proxy_on_vm_start: 2, proxy_on_configure: 2, proxy_on_tick: 1, proxy_on_queue_ready: 2, proxy_on_foreign_function: 3,
  proxy_on_new_connection: 1, proxy_on_downstream_data: 3, proxy_on_downstream_connection_close: 2,
  proxy_on_upstream_data: 3, proxy_on_upstream_connection_close: 2,
  proxy_on_request_headers: 3, proxy_on_request_body: 3, proxy_on_request_trailers: 2,
  proxy_on_response_headers: 3, proxy_on_response_body: 3, proxy_on_response_trailers: 2,
  proxy_on_http_call_response: 5, proxy_on_grpc_receive_initial_metadata: 3, proxy_on_grpc_receive: 3,
  proxy_on_grpc_receive_trailing_metadata: 3, proxy_on_grpc_close: 3,
};

/** Host functions of ABI v0.2.1 (spec "Functions exposed by the host", module env). */
const HOST_FUNCTIONS = new Set(`proxy_log proxy_get_log_level proxy_get_current_time_nanoseconds proxy_set_tick_period_milliseconds
  proxy_set_buffer_bytes proxy_get_buffer_bytes proxy_get_buffer_status proxy_get_header_map_size proxy_get_header_map_pairs
  proxy_set_header_map_pairs proxy_get_header_map_value proxy_add_header_map_value proxy_replace_header_map_value
  proxy_remove_header_map_value proxy_continue_stream proxy_close_stream proxy_get_status proxy_send_local_response
  proxy_http_call proxy_grpc_call proxy_grpc_stream proxy_grpc_send proxy_grpc_cancel proxy_grpc_close
  proxy_set_shared_data proxy_get_shared_data proxy_register_shared_queue proxy_resolve_shared_queue
  proxy_enqueue_shared_queue proxy_dequeue_shared_queue proxy_define_metric proxy_record_metric proxy_increment_metric
  proxy_get_metric proxy_get_property proxy_set_property proxy_call_foreign_function proxy_done
  proxy_set_effective_context`.split(/\s+/));

/** WASI functions proxy-wasm-cpp-host registers (spec "WASI"; cpp-host stubs the rest of its list). */
const WASI = new Set(`fd_write fd_read fd_seek fd_close fd_fdstat_get clock_time_get random_get environ_sizes_get environ_get
  args_sizes_get args_get proc_exit sched_yield poll_oneoff`.split(/\s+/));

describe('envoy-filter.wasm ABI surface', () => {
  const module = new WebAssembly.Module(readFileSync(filterWasmPath()));

  it('exports the ABI marker, both allocators and only spec callbacks with the spec arity', async () => {
    const names = WebAssembly.Module.exports(module).filter((e) => e.kind === 'function').map((e) => e.name);
    expect(names).toEqual(expect.arrayContaining(['proxy_abi_version_0_2_1', 'malloc', 'proxy_on_memory_allocate', '_initialize',
      'proxy_on_context_create', 'proxy_on_vm_start', 'proxy_on_configure', 'proxy_on_request_headers', 'proxy_on_new_connection',
      'proxy_on_done', 'proxy_on_log', 'proxy_on_delete', 'proxy_on_tick', 'proxy_on_http_call_response']));
    expect(names.filter((n) => !(n in CALLBACKS))).toEqual([]);
    const vm = await ProxyWasmHost.load(module);
    for (const n of names) expect([n, (vm.state.exports[n] as (...a: unknown[]) => unknown).length]).toEqual([n, CALLBACKS[n]]);
    expect(WebAssembly.Module.exports(module).find((e) => e.name === 'memory')?.kind).toBe('memory');
  });

  it('imports only ABI v0.2.1 host functions and WASI calls Envoy provides', () => {
    const imports = WebAssembly.Module.imports(module);
    const unknown = imports.filter((i) => !(i.kind === 'function' &&
      ((i.module === 'env' && HOST_FUNCTIONS.has(i.name)) || (i.module === 'wasi_snapshot_preview1' && WASI.has(i.name)))));
    expect(unknown).toEqual([]);
    expect(imports.some((i) => i.name === 'proxy_call_foreign_function')).toBe(true);
  });

  it('gives the host distinct in-bounds blocks from both allocators, even for size 0', async () => {
    const vm = await ProxyWasmHost.load(module);
    const malloc = vm.state.exports['malloc'] as (n: number) => number;
    const alloc = vm.state.exports['proxy_on_memory_allocate'] as (n: number) => number;
    const a = malloc(100);
    const b = alloc(100);
    expect(a).toBeGreaterThan(0);
    expect(b).toBeGreaterThan(0);
    expect(Math.abs(a - b)).toBeGreaterThanOrEqual(100);
    expect(a + 100).toBeLessThanOrEqual(vm.memoryBytes());
    expect(alloc(0)).toBeGreaterThan(0);
  });
});
