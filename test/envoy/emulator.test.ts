/** The host emulator's own spec details: header-map bytes and set_envoy_filter_state arguments. */
import { describe, expect, it } from 'vitest';
import { decodeSetEnvoyFilterStateArguments, isIpPort } from '../../host/envoy/emulator/foreign.js';
import { deserializeHeaderMap, serializeHeaderMap } from '../../host/envoy/emulator/header-map.js';

describe('header map serialization (ABI v0.2.1 "Serialization")', () => {
  it('writes the count, the length pairs, then NUL-terminated keys and values', () => {
    const bytes = serializeHeaderMap([['a', '1'], ['bb', '']]);
    expect([...bytes]).toEqual([
      2, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0,
      0x61, 0, 0x31, 0, 0x62, 0x62, 0, 0,
    ]);
    expect(deserializeHeaderMap(bytes)).toEqual([['a', '1'], ['bb', '']]);
  });

  it('reads the empty forms and rejects truncated maps', () => {
    expect(deserializeHeaderMap(new Uint8Array())).toEqual([]);
    expect(deserializeHeaderMap(new Uint8Array([0]))).toEqual([]);
    expect(() => deserializeHeaderMap(new Uint8Array([5, 0, 0, 0]))).toThrow('header map: count 5 needs 44 bytes, have 4');
    const cut = serializeHeaderMap([['key', 'value']]).subarray(0, 15);
    expect(() => deserializeHeaderMap(cut)).toThrow('header map: pair 0 overruns the buffer');
  });
});

describe('set_envoy_filter_state arguments', () => {
  it('decodes path, value and span', () => {
    const enc = new TextEncoder();
    const path = enc.encode('envoy.tcp_proxy.cluster');
    const value = enc.encode('c1');
    const bytes = new Uint8Array([0x0a, path.length, ...path, 0x12, value.length, ...value, 0x18, 2]);
    expect(decodeSetEnvoyFilterStateArguments(bytes)).toEqual({ path: 'envoy.tcp_proxy.cluster', value: 'c1', span: 2 });
    expect(decodeSetEnvoyFilterStateArguments(new Uint8Array([0x0a, 9, 1]))).toBeNull();
  });

  it('accepts only IP:port values for original_dst_address', () => {
    expect(['10.0.0.1:80', '[fd00::1]:8080'].every(isIpPort)).toBe(true);
    expect(['10.0.0.1', 'host:80', '10.0.0.1:70000', 'fd00::1:80', '[10.0.0.1]:80'].some(isIpPort)).toBe(false);
  });
});

describe('status mapping in the filter ABI layer', () => {
  it('treats a status the spec does not allow as a bug and aborts the VM with the call named', async () => {
    const { ProxyWasmHost } = await import('../../host/envoy/emulator/host.js');
    const { GuestExit } = await import('../../host/envoy/emulator/state.js');
    const { filterModule } = await import('../../host/envoy/filter-wasm.js');
    const { configFor, modelFrom, service } = await import('./fixtures.js');
    const model = modelFrom(service({ name: 'web', clusterIP: '10.96.0.10', ips: ['10.1.0.1'] }));
    const vm = await ProxyWasmHost.load(await filterModule(), {
      pluginConfiguration: configFor(model),
      faults: { proxy_replace_header_map_value: 6 },
    });
    vm.startVm();
    vm.configure();
    const id = vm.initializeHttpContext({ source: '10.0.0.1:1', destination: '10.96.0.10:80' });
    let thrown: unknown;
    try {
      vm.callOnRequestHeaders(id, [[':authority', 'web']], true);
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(GuestExit);
    expect(vm.getLogs().map((l) => l.message).join('\n')).toContain('proxy-wasm: unexpected status 6 from proxy_replace_header_map_value');
  });

  it('maps NOT_FOUND from proxy_get_property to "absent" (no source address: 0.0.0.0)', async () => {
    const { ProxyWasmHost } = await import('../../host/envoy/emulator/host.js');
    const { filterModule } = await import('../../host/envoy/filter-wasm.js');
    const { configFor, modelFrom, service } = await import('./fixtures.js');
    const model = modelFrom(service({ name: 'web', clusterIP: '10.96.0.10', ips: ['10.1.0.1'] }));
    const vm = await ProxyWasmHost.load(await filterModule(), { pluginConfiguration: configFor(model) });
    vm.startVm();
    vm.configure();
    const id = vm.initializeHttpContext();
    expect(vm.callOnRequestHeaders(id, [[':authority', 'web']], true)).toBe(0);
    expect(vm.getRequestHeaders(id)).toContainEqual(['x-vipwasm-endpoint', '10.1.0.1:8080']);
  });
});
