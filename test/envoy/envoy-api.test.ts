/**
 * Every envoy.yaml in examples/ and every configuration `vipwasm envoy-config` generates, checked
 * against Envoy's own v3 API (go-control-plane's protos and protoc-gen-validate rules, through
 * tools/go/envoycheck): strict decoding, typed_config resolved, ValidateAll on every message.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { main } from '../../host/cli/main.js';
import { encodeSnapshot } from '../../host/engine/snapshot.js';
import { buildEnvoyConfig, renderEnvoyYaml, type EnvoyConfigOptions } from '../../host/envoy/envoy-config.js';
import { snapshotToBase64 } from '../../host/envoy/filter-config.js';
import { envoycheck, envoycheckSkipReason } from './envoycheck.js';
import { modelFrom, service } from './fixtures.js';

const skip = envoycheckSkipReason();
if (skip) console.log(`envoy.yaml checks against Envoy's API skipped: ${skip}`);

const root = new URL('../..', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'vipwasm-envoycheck-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function envoyYamlsUnder(folder: string): string[] {
  return readdirSync(folder, { recursive: true, encoding: 'utf8' })
    .filter((f) => /(^|\/)envoy[^/]*\.ya?ml$/.test(f))
    .map((f) => join(folder, f));
}

// Dual-stack, NodePort, several port names (http → HTTP filter chain, others → TCP), plus UDP (skipped).
const model = modelFrom([
  service({ name: 'web', clusterIP: '10.96.0.10', ips: ['10.1.0.1', '10.1.0.2'], ports: [{ name: 'http', port: 80, targetPort: 8080 }, { name: 'db', port: 5432, targetPort: 5432 }] }),
  service({ name: 'six', clusterIP: 'fd00:96::10', ips: ['fd00::1'], ports: [{ name: 'grpc-api', port: 9000, targetPort: 9000 }], extra: '\n  ipFamilies: [IPv6]' }),
  `apiVersion: v1
kind: Service
metadata: { name: dns, namespace: default }
spec:
  type: NodePort
  clusterIP: 10.96.0.53
  externalIPs: [198.18.0.53]
  ports: [{ name: dns, port: 53, protocol: UDP }, { name: dns-tcp, port: 53, protocol: TCP, nodePort: 30053 }]
`,
].join('\n---\n'));
const base: EnvoyConfigOptions = { wasmPath: '/etc/envoy/envoy-filter.wasm', snapshotBase64: snapshotToBase64(encodeSnapshot(model)) };
const variants: Record<string, Partial<EnvoyConfigOptions>> = {
  defaults: {},
  'all-http': { protocol: 'http' },
  'all-tcp-no-gateway': { protocol: 'tcp', gateway: null },
  'ipv6-admin-gateway-snapshot': { admin: '[::1]:9901', gateway: '[::1]:10000', snapshotUrl: 'http://[::1]:9902/snapshot', pollMs: 1000 },
  'snapshot-header-timeout-runtime': { snapshotUrl: 'http://127.0.0.1:9902/snapshot?v=1', header: 'x-endpoint', connectTimeout: '0.25s', runtime: 'envoy.wasm.runtime.wamr' },
};

describe.skipIf(skip !== undefined)("envoy.yaml against Envoy's v3 API (go-control-plane)", () => {
  it('accepts every envoy.yaml in examples/', () => {
    const files = envoyYamlsUnder(join(root, 'examples'));
    expect(files.length).toBeGreaterThan(0);
    const r = envoycheck(files);
    expect(r.lines).toEqual(files.map((f) => `${f}: ok`));
    expect(r.status).toBe(0);
  });

  it.each(Object.keys(variants))('accepts the generated config: %s', (name) => {
    const config = buildEnvoyConfig(model, { ...base, ...variants[name] });
    expect(config.listeners.length).toBeGreaterThan(2);
    const file = join(dir, `${name}.yaml`);
    writeFileSync(file, renderEnvoyYaml(config));
    expect(envoycheck([file])).toEqual({ status: 0, lines: [`${file}: ok`] });
  });

  it('accepts what the envoy-config verb writes for every example manifest', async () => {
    const out = join(dir, 'cli');
    const code = await main(['node', 'vipwasm', 'envoy-config', '-f', join(root, 'examples'), '--service-cluster-ip-range', '127.96.0.0/16',
      '--node-ip', '127.0.0.1', '--loadbalancer-ip-pool', '127.200.0.0/28', '-o', out, '--snapshot-url', 'http://127.0.0.1:9902/snapshot']);
    expect(code).toBe(0);
    const file = join(out, 'envoy.yaml');
    expect(envoycheck([file])).toEqual({ status: 0, lines: [`${file}: ok`] });
  });

  describe('rejects what Envoy would reject, naming the field', () => {
    const bootstrap = () => JSON.parse(JSON.stringify(buildEnvoyConfig(model, base).bootstrap)) as {
      static_resources: { listeners: Array<{ filter_chains: Array<{ filters: Array<{ typed_config: Record<string, unknown> }> }> }> };
      [k: string]: unknown;
    };
    const tcpProxyOf = (b: ReturnType<typeof bootstrap>) => {
      const l = b.static_resources.listeners.findIndex((x) => x.filter_chains[0]!.filters.length === 2);
      return { l, tcpProxy: b.static_resources.listeners[l]!.filter_chains[0]!.filters[1]!.typed_config };
    };
    const at = (b: ReturnType<typeof bootstrap>) => `static_resources.listeners[${tcpProxyOf(b).l}].filter_chains[0].filters[1]`;
    const check = (b: unknown) => envoycheck({ text: stringify(b) });

    it('an unknown field, at the top and inside a typed_config', () => {
      expect(check({ ...bootstrap(), stats_flush: '5s' })).toEqual({ status: 1, lines: ['-: not a v3 Bootstrap: stats_flush: unknown field "stats_flush"'] });
      const b = bootstrap();
      const { l, tcpProxy } = tcpProxyOf(b);
      tcpProxy['idle_timout'] = '1s';
      expect(check(b)).toEqual({
        status: 1,
        lines: [`-: not a v3 Bootstrap: static_resources.listeners[${l}].filter_chains[0].filters[1].typed_config.idle_timout: unknown field "idle_timout"`],
      });
    });

    it('a deprecated field only as a warning, as Envoy logs it', () => {
      const b = bootstrap();
      (b['admin'] as Record<string, unknown>)['access_log_path'] = '/dev/null';
      expect(check(b)).toEqual({ status: 0, lines: ['-: warning: admin.access_log_path: field envoy.config.bootstrap.v3.Admin.access_log_path is deprecated', '-: ok'] });
    });

    it('a typed_config whose type Envoy does not know', () => {
      const b = bootstrap();
      tcpProxyOf(b).tcpProxy['@type'] = 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxi';
      expect(check(b).lines).toEqual([`-: not a v3 Bootstrap: ${at(b)}.typed_config.@type: unable to resolve "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxi": "not found"`]);
    });

    it('protoc-gen-validate rules deep inside typed_config, every violation', () => {
      const b = bootstrap();
      const { l, tcpProxy } = tcpProxyOf(b);
      tcpProxy['stat_prefix'] = '';
      (b['admin'] as { address: { socket_address: { port_value: number } } }).address.socket_address.port_value = 65536;
      const r = check(b);
      expect(r.status).toBe(1);
      expect(r.lines).toEqual([
        '-: admin.address.socket_address.port_value: value must be less than or equal to 65535',
        `-: static_resources.listeners[${l}].filter_chains[0].filters[1].typed_config.stat_prefix: value length must be at least 1 runes`,
      ]);
    });
  });
});

// What the checker found in host/envoy: an empty wasm path (DataSource.filename min_len 1) and a
// non-positive connect timeout (Cluster.connect_timeout gt 0s) made configs Envoy refuses to load.
describe('envoy-config refuses what Envoy would refuse at load', () => {
  it('an empty wasm path', async () => {
    expect(() => buildEnvoyConfig(model, { ...base, wasmPath: '' })).toThrow("wasm path: must not be empty (Envoy's DataSource.filename needs at least 1 character)");
    expect(await main(['node', 'vipwasm', 'envoy-config', '-f', join(root, 'examples/hostnames.yaml'), '--wasm-path='])).toBe(2);
  });

  it.each(['0s', '0.000s', '1m', '-1s', 'abc'])('connect timeout %j', (connectTimeout) => {
    expect(() => buildEnvoyConfig(model, { ...base, connectTimeout })).toThrow(`connect timeout "${connectTimeout}": must be a duration greater than 0s`);
  });
});

