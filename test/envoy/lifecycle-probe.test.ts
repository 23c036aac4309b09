/**
 * The emulator's context lifecycle and memory hand-over, checked with a probe plugin compiled
 * here from AssemblyScript: every callback logs its name and arguments, so the test sees exactly
 * which callbacks the emulator fires, in which order, with which ids, and what the host calls
 * answer. The vipwasm filter never delays its shutdown, so the probe also covers the path it
 * does not take: proxy_on_done answering false on the root, then proxy_done (cpp-host
 * WasmBase::startShutdown / done / finishShutdown).
 */
import asc from 'assemblyscript/asc';
import { beforeAll, describe, expect, it } from 'vitest';
import { ProxyWasmHost } from '../../host/envoy/emulator/host.js';

const PROBE = `
@external('env', 'proxy_log') declare function proxy_log(level: u32, ptr: usize, len: usize): u32;
@external('env', 'proxy_done') declare function proxy_done(): u32;
@external('env', 'proxy_get_buffer_bytes') declare function proxy_get_buffer_bytes(t: u32, start: u32, max: u32, p: usize, l: usize): u32;
@external('env', 'proxy_get_header_map_value') declare function proxy_get_header_map_value(m: u32, kp: usize, kl: usize, p: usize, l: usize): u32;

const OUT = memory.data(8);
let allocations = 0;

function say(msg: string): void {
  const b = String.UTF8.encode(msg);
  proxy_log(2, changetype<usize>(b), b.byteLength);
}
function returnedText(): string {
  const p = load<u32>(OUT);
  const n = load<u32>(OUT, 4);
  const s = String.UTF8.decodeUnsafe(p, n);
  heap.free(p);
  return s;
}
function header(name: string): string {
  const k = String.UTF8.encode(name);
  const s = proxy_get_header_map_value(0, changetype<usize>(k), k.byteLength, OUT, OUT + 4);
  return s == 0 ? '=' + returnedText() : ' status ' + s.toString();
}

say('_initialize');

export function proxy_abi_version_0_2_1(): void {}
export function proxy_on_memory_allocate(n: usize): usize { allocations++; return heap.alloc(n); }
export function malloc(n: usize): usize { allocations++; return heap.alloc(n); }
export function proxy_on_context_create(id: u32, parent: u32): void { say('context_create ' + id.toString() + ' ' + parent.toString()); }
export function proxy_on_vm_start(id: u32, n: u32): bool { say('vm_start ' + id.toString() + ' ' + n.toString()); return true; }
export function proxy_on_configure(id: u32, n: u32): bool {
  const s = proxy_get_buffer_bytes(7, 0, n, OUT, OUT + 4);
  say('configure ' + id.toString() + ' ' + n.toString() + ' status ' + s.toString() + ' "' + returnedText() + '" allocations ' + allocations.toString());
  return true;
}
export function proxy_on_request_headers(id: u32, n: u32, eos: u32): u32 {
  say('request_headers ' + id.toString() + ' ' + n.toString() + ' ' + eos.toString() + ' :authority' + header(':authority') + ' x-missing' + header('x-missing'));
  return 0;
}
export function proxy_on_new_connection(id: u32): u32 { say('new_connection ' + id.toString()); return 0; }
export function proxy_on_downstream_connection_close(id: u32, peer: u32): void { say('downstream_close ' + id.toString() + ' ' + peer.toString()); }
export function proxy_on_upstream_connection_close(id: u32, peer: u32): void { say('upstream_close ' + id.toString() + ' ' + peer.toString()); }
export function proxy_on_done(id: u32): bool {
  const later = id == 1;
  say('done ' + id.toString() + (later ? ' later' : ' proxy_done status ' + proxy_done().toString()));
  return !later;
}
export function proxy_on_log(id: u32): void { say('log ' + id.toString()); }
export function proxy_on_delete(id: u32): void { say('delete ' + id.toString()); }
export function proxy_on_tick(id: u32): void { say('tick ' + id.toString() + ' proxy_done status ' + proxy_done().toString() + ' (returning)'); }
`;

let probe: WebAssembly.Module;

beforeAll(async () => {
  const { binary, error, stderr } = await asc.compileString(PROBE, {
    runtime: 'stub', exportStart: '_initialize', optimizeLevel: 0, noAssert: true, use: ['abort='],
  } as Parameters<typeof asc.compileString>[1]);
  if (error || !binary) throw new Error(`probe does not compile: ${error?.message}\n${stderr.toString()}`);
  probe = new WebAssembly.Module(binary as Uint8Array<ArrayBuffer>);
}, 60_000);

const messages = (vm: ProxyWasmHost) => vm.getLogs().map((l) => l.message);

describe('emulator lifecycle (probe plugin)', () => {
  it('starts a plugin, runs an HTTP stream and a TCP connection in cpp-host order', async () => {
    const vm = await ProxyWasmHost.load(probe, { pluginConfiguration: '{"a":1}', vmConfiguration: 'vm' });
    expect(vm.startVm()).toBe(true);
    expect(vm.configure()).toBe(true);
    const http = vm.initializeHttpContext({ source: '10.0.0.1:1', destination: '10.0.0.2:80' });
    vm.callOnRequestHeaders(http, [[':Authority', 'web'], [':path', '/']], false);
    vm.completeHttpContext(http);
    const tcp = vm.initializeConnection({ source: '10.0.0.1:2', destination: '10.0.0.2:5432' });
    vm.completeConnection(tcp.id);
    expect(messages(vm)).toEqual([
      '_initialize',
      'context_create 1 0',
      'vm_start 1 2',
      // The configuration arrives through the plugin's own allocator (one block), as a copy the plugin frees.
      'configure 1 7 status 0 "{"a":1}" allocations 1',
      'context_create 2 1',
      // Header names are lower-case; a missing header is NOT_FOUND (1), as in Envoy.
      'request_headers 2 2 0 :authority=web x-missing status 1',
      // proxy_done is only for a root context that delayed its shutdown: NOT_FOUND for a stream.
      'done 2 proxy_done status 1',
      'log 2',
      'delete 2',
      'context_create 3 1',
      'new_connection 3',
      'downstream_close 3 2',
      'upstream_close 3 1',
      'done 3 proxy_done status 1',
      'log 3',
      'delete 3',
    ]);
    expect(vm.liveContexts()).toBe(0);
  });

  it('keeps a root that answered proxy_on_done false until proxy_done, then deletes it after that call', async () => {
    const vm = await ProxyWasmHost.load(probe, { pluginConfiguration: '{}' });
    vm.startVm();
    vm.configure();
    vm.clearLogs();
    expect(vm.shutdownPlugin()).toBe(false);
    expect(vm.pluginDeleted()).toBe(false);
    expect(messages(vm)).toEqual(['done 1 later']);
    vm.tick(1000);
    expect(messages(vm)).toEqual(['done 1 later', 'tick 1 proxy_done status 0 (returning)', 'delete 1']);
    expect(vm.pluginDeleted()).toBe(true);
  });
});
