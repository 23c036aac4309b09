/**
 * The generated envoy.yaml: its structure against Envoy's documented field names, its listeners
 * and clusters, and that the plugin configuration inside it is one the filter accepts.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { encodeSnapshot } from '../../host/engine/snapshot.js';
import { buildEnvoyConfig, isHttpPortName, renderEnvoyYaml } from '../../host/envoy/envoy-config.js';
import { validateBootstrap } from '../../host/envoy/envoy-schema.js';
import { snapshotToBase64 } from '../../host/envoy/filter-config.js';
import { filterModule } from '../../host/envoy/filter-wasm.js';
import { ProxyWasmHost } from '../../host/envoy/emulator/host.js';
import { buildServiceModel, type KubeObject } from '../../host/model/index.js';

function exampleModel() {
  const objects = ['hostnames', 'session-affinity', 'nodeport', 'loadbalancer']
    .flatMap((n) => parseAllDocuments(readFileSync(new URL(`../../examples/${n}.yaml`, import.meta.url), 'utf8')).map((d) => d.toJSON() as KubeObject))
    .filter(Boolean);
  return buildServiceModel(objects, {
    nodeName: 'node-a', nodeIPs: ['127.0.0.1'], serviceClusterIPRanges: ['127.96.0.0/16'], loadBalancerIPPool: ['127.200.0.0/28'],
  }).model;
}

const model = exampleModel();
const options = { wasmPath: '/etc/envoy/envoy-filter.wasm', snapshotBase64: snapshotToBase64(encodeSnapshot(model)) };

describe('envoy.yaml generation', () => {
  it('passes the structure check and survives a YAML round trip, with the snapshot written once', () => {
    const config = buildEnvoyConfig(model, options);
    expect(validateBootstrap(config.bootstrap)).toEqual([]);
    const text = renderEnvoyYaml(config);
    expect(parse(text)).toEqual(JSON.parse(JSON.stringify(config.bootstrap)));
    expect(text.split(options.snapshotBase64).length - 1).toBe(1);
    expect(validateBootstrap(parse(text))).toEqual([]);
  });

  it('has a listener per Service address and NodePort, loopback admin, and the ORIGINAL_DST clusters', () => {
    const config = buildEnvoyConfig(model, options);
    const tcpPorts = model.servicePorts.filter((sp) => sp.protocol === 'TCP');
    const expected = tcpPorts.flatMap((sp) => [...sp.clusterIPs, ...sp.externalIPs, ...sp.loadBalancerIPs].map((ip) => `${ip}:${sp.port}`)
      .concat(sp.nodePort ? model.nodeIPs.map((ip) => `${ip}:${sp.nodePort}`) : []));
    expect(config.listeners.map((l) => l.address).sort()).toEqual(['127.0.0.1:10000', ...expected].sort());
    const sticky = config.listeners.find((l) => l.servicePort === 'default/sticky:http')!;
    expect(sticky.protocol).toBe('http');
    const b = config.bootstrap as { admin: unknown; static_resources: { clusters: Array<Record<string, unknown>> } };
    expect(b.admin).toEqual({ address: { socket_address: { address: '127.0.0.1', port_value: 9901 } } });
    expect(b.static_resources.clusters).toEqual([
      { name: 'vipwasm_endpoints_http', type: 'ORIGINAL_DST', lb_policy: 'CLUSTER_PROVIDED', connect_timeout: '1s',
        original_dst_lb_config: { use_http_header: true, http_header_name: 'x-vipwasm-endpoint' } },
      { name: 'vipwasm_endpoints_tcp', type: 'ORIGINAL_DST', lb_policy: 'CLUSTER_PROVIDED', connect_timeout: '1s' },
    ]);
  });

  it('adds the snapshot cluster and polling settings for --snapshot-url', () => {
    const config = buildEnvoyConfig(model, { ...options, snapshotUrl: 'http://127.0.0.1:9902/snapshot', pollMs: 2000 });
    expect(validateBootstrap(config.bootstrap)).toEqual([]);
    const text = renderEnvoyYaml(config);
    expect(text).toContain('"snapshotCluster":"vipwasm_snapshot","snapshotAuthority":"127.0.0.1:9902","snapshotPath":"/snapshot","pollMs":2000');
    const clusters = (config.bootstrap as { static_resources: { clusters: Array<{ name: string }> } }).static_resources.clusters;
    expect(clusters.at(-1)).toEqual({
      name: 'vipwasm_snapshot', type: 'STATIC', connect_timeout: '1s',
      load_assignment: { cluster_name: 'vipwasm_snapshot', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: 9902 } } } }] }] },
    });
  });

  it('rejects a non-loopback admin address and a snapshot URL with a host name', () => {
    expect(() => buildEnvoyConfig(model, { ...options, admin: '0.0.0.0:9901' })).toThrow('admin address "0.0.0.0:9901": must be a loopback address');
    expect(() => buildEnvoyConfig(model, { ...options, snapshotUrl: 'http://vipwasm:9902/snapshot' })).toThrow('the host must be an IP address');
  });

  it('embeds a plugin configuration the filter accepts and routes with', async () => {
    const config = buildEnvoyConfig(model, options);
    const text = renderEnvoyYaml(config);
    const doc = parse(text) as { static_resources: { listeners: Array<{ filter_chains: Array<{ filters: Array<{ typed_config: { http_filters?: Array<{ typed_config: { config: { configuration: { value: string } } } }> } }> }> }> } };
    const pluginConfig = doc.static_resources.listeners[0]!.filter_chains[0]!.filters[0]!.typed_config.http_filters![0]!.typed_config.config.configuration.value;
    const vm = await ProxyWasmHost.load(await filterModule(), { pluginConfiguration: pluginConfig });
    vm.startVm();
    expect(vm.configure()).toBe(true);
    const id = vm.initializeHttpContext({ source: '127.0.0.1:5000', destination: '127.0.0.1:10000' });
    vm.callOnRequestHeaders(id, [[':authority', 'sticky.default.svc.cluster.local']], true);
    expect(vm.getRequestHeaders(id).find(([k]) => k === 'x-vipwasm-endpoint')?.[1]).toMatch(/^127\.244\.3\.[123]:8080$/);
  });

  it('picks HTTP by port name as Istio does', () => {
    expect(['http', 'http-web', 'HTTP2', 'grpc', 'grpc-web', 'h2c'].every(isHttpPortName)).toBe(true);
    expect(['', 'https', 'tcp', 'httpx', 'web-http', 'mysql'].some(isHttpPortName)).toBe(false);
  });
});

describe('structure check', () => {
  const bad = (mutate: (b: any) => void): string[] => {
    const b = JSON.parse(JSON.stringify(buildEnvoyConfig(model, options).bootstrap));
    mutate(b);
    return validateBootstrap(b);
  };
  it.each([
    ['a misspelt field', (b: any) => (b.static_resources.listeners[0].filter_chain = []), 'static_resources.listeners[0].filter_chain: unknown field of Listener'],
    ['a bad enum', (b: any) => (b.static_resources.clusters[0].type = 'ORIGINAL_DESTINATION'), 'static_resources.clusters[0].type: "ORIGINAL_DESTINATION" is not one of'],
    ['an unknown @type', (b: any) => (b.static_resources.listeners[0].filter_chains[0].filters[0].typed_config['@type'] = 'type.googleapis.com/x.Y'), 'unknown or missing "@type"'],
    ['a bad duration', (b: any) => (b.static_resources.clusters[0].connect_timeout = '1 second'), 'expected a duration like "1s"'],
    ['a wrong lb_policy for ORIGINAL_DST', (b: any) => (b.static_resources.clusters[0].lb_policy = 'ROUND_ROBIN'), 'an ORIGINAL_DST cluster needs lb_policy CLUSTER_PROVIDED'],
    ['a route to a missing cluster', (b: any) => (b.static_resources.clusters.shift()), 'route to unknown cluster "vipwasm_endpoints_http"'],
    ['the router not last', (b: any) => b.static_resources.listeners[0].filter_chains[0].filters[0].typed_config.http_filters.reverse(), 'the last HTTP filter must be envoy.filters.http.router'],
    ['a misspelt Wasm field', (b: any) => (b.static_resources.listeners[0].filter_chains[0].filters[0].typed_config.http_filters[0].typed_config.config.vm_config.vmid = 'x'), 'vm_config.vmid: unknown field of VmConfig'],
    ['a port bound twice', (b: any) => b.static_resources.listeners.push({ ...b.static_resources.listeners[0], name: 'dup' }), 'is bound twice'],
  ])('catches %s', (_what, mutate, message) => {
    const errors = bad(mutate);
    expect(errors.some((e) => e.includes(message))).toBe(true);
  });
});
