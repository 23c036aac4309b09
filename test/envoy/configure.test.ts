import { describe, expect, it } from 'vitest';
import { encodeSnapshot } from '../../host/engine/snapshot.js';
import { ProxyWasmHost } from '../../host/envoy/emulator/host.js';
import { LogLevel } from '../../host/envoy/emulator/state.js';
import { snapshotToBase64 } from '../../host/envoy/filter-config.js';
import { filterModule } from '../../host/envoy/filter-wasm.js';
import { configFor, modelFrom, service } from './fixtures.js';

const model = modelFrom(service({ name: 'web', clusterIP: '10.96.0.10', ips: ['10.1.0.1'] }));
const good = snapshotToBase64(encodeSnapshot(model));

async function configure(text: string): Promise<{ ok: boolean; errors: string[] }> {
  const vm = await ProxyWasmHost.load(await filterModule(), { pluginConfiguration: text });
  expect(vm.startVm()).toBe(true);
  const ok = vm.configure();
  return { ok, errors: vm.getLogs(LogLevel.Error).map((l) => l.message) };
}

describe('proxy_on_configure', () => {
  it('accepts a valid configuration and logs what it loaded', async () => {
    const vm = await ProxyWasmHost.load(await filterModule(), { pluginConfiguration: configFor(model) });
    vm.startVm();
    expect(vm.configure()).toBe(true);
    expect(vm.getLogs(LogLevel.Info).map((l) => l.message)).toContain('vipwasm: configured root 1: snapshot generation 1, 1 service ports');
    expect(vm.getMetric('vipwasm.snapshot.generation')).toBe(1n);
    expect(vm.getTickPeriod()).toBe(10_000);
  });

  const corrupt = Buffer.from(encodeSnapshot(model));
  corrupt[40] = (corrupt[40]! + 1) & 0xff;

  it.each([
    ['', 'vipwasm: invalid plugin configuration: configuration is not a JSON object: expected "{" at offset 0'],
    ['{"snapshot": "' + good + '"', 'vipwasm: invalid plugin configuration: configuration is not valid JSON: expected "}" at offset'],
    ['{"snapshot": "' + good + '", "snapshots": 1}', 'vipwasm: invalid plugin configuration: unknown field "snapshots"'],
    ['{"snapshot": 5}', 'vipwasm: invalid plugin configuration: field "snapshot": expected a string'],
    ['{}', 'vipwasm: invalid plugin configuration: field "snapshot": required unless "snapshotCluster" is set'],
    ['{"snapshot": "@@@@"}', 'vipwasm: invalid plugin configuration: field "snapshot": invalid base64 character at offset 0'],
    ['{"snapshot": "' + Buffer.from('hello world').toString('base64') + '"}', 'vipwasm: invalid plugin configuration: field "snapshot": snapshot rejected: too short (code 1)'],
    ['{"snapshot": "' + corrupt.toString('base64') + '"}', 'vipwasm: invalid plugin configuration: field "snapshot": snapshot rejected: checksum mismatch (code 5)'],
    ['{"snapshot": "' + good + '", "header": "X Bad"}', 'vipwasm: invalid plugin configuration: field "header": "x bad" is not an HTTP header name'],
    ['{"snapshot": "' + good + '", "pollMs": 5}', 'vipwasm: invalid plugin configuration: field "pollMs": expected an integer from 100 to 86400000'],
    ['{"snapshot": "' + good + '", "clusterDomain": "cluster..local."}', 'vipwasm: invalid plugin configuration: field "clusterDomain": "cluster..local." is not a DNS domain'],
    ['{"snapshot": "' + good + '", "sharedAffinity": "yes"}', 'vipwasm: invalid plugin configuration: field "sharedAffinity": expected true or false'],
    ['{"snapshot": {"a": 1}}', 'vipwasm: invalid plugin configuration: field "snapshot": nested objects and arrays are not supported'],
  ])('rejects %j', async (text, message) => {
    const { ok, errors } = await configure(text);
    expect(ok).toBe(false);
    expect(errors).toHaveLength(1);
    expect(errors[0]!.startsWith(message)).toBe(true);
  });

  it.each([
    ['the binary snapshot (google.protobuf.BytesValue)', encodeSnapshot(model)],
    ['the snapshot as base64 text (google.protobuf.StringValue)', `\n ${good}\n`],
  ])('accepts %s alone, with every other field at its default', async (_form, configuration) => {
    const vm = await ProxyWasmHost.load(await filterModule(), { pluginConfiguration: configuration });
    vm.startVm();
    expect(vm.configure()).toBe(true);
    expect(vm.getMetric('vipwasm.snapshot.generation')).toBe(1n);
    const id = vm.initializeHttpContext({ source: '10.0.0.1:1', destination: '127.0.0.1:10000' });
    vm.callOnRequestHeaders(id, [[':authority', 'web.default.svc.cluster.local']], true);
    expect(vm.getRequestHeaders(id)).toContainEqual(['x-vipwasm-endpoint', '10.1.0.1:8080']);
  });

  it.each([
    ['not-a-config', 'vipwasm: invalid plugin configuration: configuration is neither a JSON object nor a base64 snapshot: invalid base64 character at offset 3'],
    [Buffer.from('hello world').toString('base64'), 'vipwasm: invalid plugin configuration: the snapshot: snapshot rejected: too short (code 1)'],
    [corrupt, 'vipwasm: invalid plugin configuration: the snapshot: snapshot rejected: checksum mismatch (code 5)'],
  ])('rejects a bare configuration %#', async (configuration, message) => {
    const vm = await ProxyWasmHost.load(await filterModule(), { pluginConfiguration: configuration });
    vm.startVm();
    expect(vm.configure()).toBe(false);
    expect(vm.getLogs(LogLevel.Error).map((l) => l.message)).toEqual([message]);
  });

  it('keeps serving the old snapshot when a reconfiguration is rejected', async () => {
    const vm = await ProxyWasmHost.load(await filterModule(), { pluginConfiguration: configFor(model) });
    vm.startVm();
    expect(vm.configure()).toBe(true);
    expect(vm.configure('{"snapshot": "AAAA"}')).toBe(false);
    const id = vm.initializeHttpContext({ source: '10.0.0.1:1', destination: '127.0.0.1:1' });
    vm.callOnRequestHeaders(id, [[':authority', 'web']], true);
    expect(vm.getRequestHeaders(id)).toContainEqual(['x-vipwasm-endpoint', '10.1.0.1:8080']);
  });
});

describe('a plugin whose configuration was rejected', () => {
  it('fails closed: HTTP streams get 503, TCP connections are closed', async () => {
    const vm = await ProxyWasmHost.load(await filterModule(), { pluginConfiguration: '{"snapshot": 1}' });
    vm.startVm();
    expect(vm.configure()).toBe(false);
    const id = vm.initializeHttpContext({ source: '10.0.0.1:1', destination: '10.96.0.10:80' });
    expect(vm.callOnRequestHeaders(id, [[':authority', 'web'], ['x-vipwasm-endpoint', '169.254.169.254:80']], true)).toBe(1);
    expect(vm.getLocalResponse(id)).toMatchObject({ statusCode: 503, body: 'vipwasm: the filter has no valid configuration\n' });
    const conn = vm.initializeConnection({ source: '10.0.0.1:2', destination: '10.96.0.10:80' });
    expect(conn.action).toBe(1);
    expect(vm.state.streams.get(conn.id)!.closed).toBe(1);
    expect(vm.getFilterState(conn.id).size).toBe(0);
  });
});

describe('context lifecycle', () => {
  it('creates, completes and deletes stream contexts without leaking them', async () => {
    const vm = await ProxyWasmHost.load(await filterModule(), { pluginConfiguration: configFor(model) });
    vm.startVm();
    vm.configure();
    const ids = [1, 2, 3].map(() => vm.initializeHttpContext({ source: '10.0.0.1:1', destination: '10.96.0.10:80' }));
    expect(vm.liveContexts()).toBe(3);
    for (const id of ids) vm.callOnRequestHeaders(id, [[':authority', 'web']], true);
    for (const id of ids) vm.completeHttpContext(id);
    expect(vm.liveContexts()).toBe(0);
    vm.initializeHttpContext({ source: '10.0.0.1:2', destination: '10.96.0.10:80' });
    expect(vm.shutdownPlugin()).toBe(true);
    expect(vm.liveContexts()).toBe(0);
    expect(vm.state.unimplemented).toEqual([]);
    expect(vm.getLogs(LogLevel.Warn)).toEqual([]);
  });
});
