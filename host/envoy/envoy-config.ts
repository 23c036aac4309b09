/**
 * Generates a complete envoy.yaml (static bootstrap) that runs the vipwasm filter in Envoy:
 * one listener per Service address (ClusterIP, externalIPs, LoadBalancer IPs at the Service port;
 * each node IP at the NodePort), HTTP ports through the Wasm HTTP filter and an ORIGINAL_DST cluster
 * reading the endpoint header (reference/hosts-and-style.md §3.1 option A), other TCP ports through
 * the Wasm network filter and a tcp_proxy to an ORIGINAL_DST cluster steered by the filter state
 * `envoy.network.transport_socket.original_dst_address` (§3.1 option B), plus an optional loopback
 * "gateway" listener that routes by :authority alone, and the admin interface on loopback.
 *
 * Every Wasm filter carries the same plugin configuration object; the YAML writer emits it once as
 * an anchor and refers to it with aliases, so the embedded snapshot appears once in the file.
 */
import { stringify } from 'yaml';
import { backendKey, servicePortKey, type ModelServicePort, type ServiceModel } from '../engine/model.js';
import { FILTER_DEFAULTS, filterConfigJson, type FilterConfig } from './filter-config.js';

export type ListenerProtocol = 'auto' | 'http' | 'tcp';

export interface EnvoyConfigOptions {
  /** Path of envoy-filter.wasm as Envoy sees it. */
  wasmPath: string;
  /** The snapshot, base64 (filter-config.ts snapshotToBase64). */
  snapshotBase64: string;
  clusterDomain?: string;
  namespace?: string;
  header?: string;
  /** `ip:port` of the admin interface; must be loopback. Default 127.0.0.1:9901. */
  admin?: string;
  /** `ip:port` of an HTTP listener routing by :authority only; null = none. Default 127.0.0.1:10000. */
  gateway?: string | null;
  /** How Service ports are proxied: by port name (Istio's convention: http, http-*, http2, grpc*, h2c) or all one way. */
  protocol?: ListenerProtocol;
  /** URL of a versioned snapshot endpoint (`vipwasm serve`), e.g. http://127.0.0.1:9902/snapshot. */
  snapshotUrl?: string;
  pollMs?: number;
  /** Upstream connect timeout. Default 1s. */
  connectTimeout?: string;
  /** VmConfig.runtime. Default envoy.wasm.runtime.v8 (the one official builds ship). */
  runtime?: string;
}

/** One generated listener, for the CLI's summary. */
export interface ListenerSummary {
  name: string;
  address: string;
  protocol: 'http' | 'tcp';
  servicePort: string;
}

export interface EnvoyConfig {
  bootstrap: Record<string, unknown>;
  listeners: ListenerSummary[];
  /** Service ports that got no listener, with the reason. */
  skipped: string[];
}

export const ENDPOINTS_HTTP_CLUSTER = 'vipwasm_endpoints_http';
export const ENDPOINTS_TCP_CLUSTER = 'vipwasm_endpoints_tcp';
export const SNAPSHOT_CLUSTER = 'vipwasm_snapshot';
const TYPE = 'type.googleapis.com/';

/** Istio's protocol selection by port name (istio.io "Protocol Selection"): http, http2, grpc, h2c prefixes. */
export function isHttpPortName(portName: string): boolean {
  return /^(http|http2|grpc|grpc-web|h2c)(-.*)?$/.test(portName.toLowerCase());
}

function splitHostPort(text: string, what: string): { address: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(text);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port < 1 || port > 65535) throw new Error(`${what}: "${text}" is not ip:port`);
  return { address: m[1] ?? m[2]!, port };
}

function socketAddress(address: string, port: number) {
  return { socket_address: { address, port_value: port } };
}

function parseSnapshotUrl(url: string): { address: string; port: number; path: string; authority: string } {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new Error(`snapshot URL "${url}" is not a URL`);
  }
  if (u.protocol !== 'http:') throw new Error(`snapshot URL "${url}": only http:// is supported`);
  const host = u.hostname.replace(/^\[|\]$/g, '');
  if (!/^[\d.]+$/.test(host) && !host.includes(':')) throw new Error(`snapshot URL "${url}": the host must be an IP address (the cluster is STATIC)`);
  return { address: host, port: Number(u.port || 80), path: u.pathname + u.search, authority: u.host };
}

/**
 * The option values Envoy's protoc-gen-validate rules constrain (found by tools/go/envoycheck):
 * DataSource.filename needs at least one character, Cluster.connect_timeout must be a Duration
 * greater than 0s.
 */
function checkEnvoyRules(wasmPath: string, connectTimeout: string): void {
  if (wasmPath === '') throw new Error('wasm path: must not be empty (Envoy\'s DataSource.filename needs at least 1 character)');
  const m = /^(\d+)(?:\.(\d{1,9}))?s$/.exec(connectTimeout);
  if (!m || Number(`${m[1]}.${m[2] ?? '0'}`) <= 0) throw new Error(`connect timeout "${connectTimeout}": must be a duration greater than 0s, like "1s" or "0.25s"`);
}

export function buildEnvoyConfig(model: ServiceModel, options: EnvoyConfigOptions): EnvoyConfig {
  const header = options.header ?? FILTER_DEFAULTS.header;
  const connectTimeout = options.connectTimeout ?? '1s';
  checkEnvoyRules(options.wasmPath, connectTimeout);
  const protocol = options.protocol ?? 'auto';
  const filterConfig: FilterConfig = {
    snapshot: options.snapshotBase64,
    clusterDomain: options.clusterDomain ?? FILTER_DEFAULTS.clusterDomain,
    namespace: options.namespace ?? FILTER_DEFAULTS.namespace,
    header,
  };
  const snapshotSource = options.snapshotUrl ? parseSnapshotUrl(options.snapshotUrl) : null;
  if (snapshotSource) {
    filterConfig.snapshotCluster = SNAPSHOT_CLUSTER;
    filterConfig.snapshotAuthority = snapshotSource.authority;
    filterConfig.snapshotPath = snapshotSource.path;
    filterConfig.pollMs = options.pollMs ?? FILTER_DEFAULTS.pollMs;
  }
  // One object, reused: the YAML writer turns the repeats into aliases.
  const plugin = {
    name: 'vipwasm',
    root_id: 'vipwasm',
    vm_config: {
      vm_id: 'vipwasm',
      runtime: options.runtime ?? 'envoy.wasm.runtime.v8',
      code: { local: { filename: options.wasmPath } },
    },
    configuration: { '@type': `${TYPE}google.protobuf.StringValue`, value: filterConfigJson(filterConfig) },
  };
  const httpFilters = [
    { name: 'envoy.filters.http.wasm', typed_config: { '@type': `${TYPE}envoy.extensions.filters.http.wasm.v3.Wasm`, config: plugin } },
    { name: 'envoy.filters.http.router', typed_config: { '@type': `${TYPE}envoy.extensions.filters.http.router.v3.Router` } },
  ];
  const routeConfig = {
    name: 'vipwasm_services',
    virtual_hosts: [{ name: 'services', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: ENDPOINTS_HTTP_CLUSTER, timeout: '0s' } }] }],
  };
  const httpChain = [{
    filters: [{
      name: 'envoy.filters.network.http_connection_manager',
      typed_config: {
        '@type': `${TYPE}envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager`,
        stat_prefix: 'vipwasm_http',
        route_config: routeConfig,
        http_filters: httpFilters,
      },
    }],
  }];
  const tcpChain = [{
    filters: [
      { name: 'envoy.filters.network.wasm', typed_config: { '@type': `${TYPE}envoy.extensions.filters.network.wasm.v3.Wasm`, config: plugin } },
      {
        name: 'envoy.filters.network.tcp_proxy',
        typed_config: { '@type': `${TYPE}envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy`, stat_prefix: 'vipwasm_tcp', cluster: ENDPOINTS_TCP_CLUSTER },
      },
    ],
  }];

  const listeners: Record<string, unknown>[] = [];
  const summaries: ListenerSummary[] = [];
  const skipped: string[] = [];
  const seen = new Set<string>();
  const addListener = (sp: ModelServicePort, ip: string, port: number, kind: 'http' | 'tcp') => {
    const address = backendKey({ ip, port });
    if (seen.has(address)) return;
    seen.add(address);
    const name = `${kind}_${sp.namespace}_${sp.name}_${address}`;
    listeners.push({ name, address: socketAddress(ip, port), filter_chains: kind === 'http' ? httpChain : tcpChain });
    summaries.push({ name, address, protocol: kind, servicePort: servicePortKey(sp) });
  };
  if (options.gateway !== null) {
    const gw = splitHostPort(options.gateway ?? '127.0.0.1:10000', 'gateway address');
    seen.add(backendKey({ ip: gw.address, port: gw.port }));
    listeners.push({ name: 'vipwasm_gateway', address: socketAddress(gw.address, gw.port), filter_chains: httpChain });
    summaries.push({ name: 'vipwasm_gateway', address: backendKey({ ip: gw.address, port: gw.port }), protocol: 'http', servicePort: '(by :authority)' });
  }
  for (const sp of model.servicePorts) {
    if (sp.protocol !== 'TCP') {
      skipped.push(`${servicePortKey(sp)}: protocol ${sp.protocol} (Envoy's Wasm filters see TCP streams only)`);
      continue;
    }
    const kind = protocol === 'auto' ? (isHttpPortName(sp.portName) ? 'http' : 'tcp') : protocol;
    for (const ip of [...sp.clusterIPs, ...sp.externalIPs, ...sp.loadBalancerIPs]) addListener(sp, ip, sp.port, kind);
    if (sp.nodePort > 0) for (const ip of model.nodeIPs) addListener(sp, ip, sp.nodePort, kind);
  }

  const originalDst = (name: string, lb?: Record<string, unknown>) => ({
    name,
    type: 'ORIGINAL_DST',
    lb_policy: 'CLUSTER_PROVIDED',
    connect_timeout: connectTimeout,
    ...(lb ? { original_dst_lb_config: lb } : {}),
  });
  const clusters: Record<string, unknown>[] = [
    originalDst(ENDPOINTS_HTTP_CLUSTER, { use_http_header: true, http_header_name: header }),
    originalDst(ENDPOINTS_TCP_CLUSTER),
  ];
  if (snapshotSource) {
    clusters.push({
      name: SNAPSHOT_CLUSTER,
      type: 'STATIC',
      connect_timeout: connectTimeout,
      load_assignment: {
        cluster_name: SNAPSHOT_CLUSTER,
        endpoints: [{ lb_endpoints: [{ endpoint: { address: socketAddress(snapshotSource.address, snapshotSource.port) } }] }],
      },
    });
  }
  const admin = splitHostPort(options.admin ?? '127.0.0.1:9901', 'admin address');
  if (!/^127\.|^::1$/.test(admin.address)) throw new Error(`admin address "${options.admin}": must be a loopback address`);
  const bootstrap = {
    admin: { address: socketAddress(admin.address, admin.port) },
    static_resources: { listeners, clusters },
  };
  return { bootstrap, listeners: summaries, skipped };
}

/** YAML text with a header comment; repeated objects become anchors and aliases. */
export function renderEnvoyYaml(config: EnvoyConfig): string {
  const head = [
    '# Generated by `vipwasm envoy-config`. Envoy bootstrap (v3 API) running the vipwasm proxy-wasm filter.',
    ...config.listeners.map((l) => `#   ${l.protocol.padEnd(4)} ${l.address.padEnd(24)} ${l.servicePort}`),
    ...config.skipped.map((s) => `#   skipped ${s}`),
  ];
  return `${head.join('\n')}\n${stringify(config.bootstrap, { aliasDuplicateObjects: true, lineWidth: 0 })}`;
}
