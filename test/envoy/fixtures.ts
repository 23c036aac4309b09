/**
 * Shared setup for the Envoy filter tests: manifests → model (host/model) → snapshot
 * (host/engine/snapshot.ts) → plugin configuration → the compiled envoy-filter.wasm in the
 * proxy-wasm host emulator, started the way Envoy starts a plugin.
 */
import { parseAllDocuments } from 'yaml';
import { encodeSnapshot } from '../../host/engine/snapshot.js';
import type { ServiceModel } from '../../host/engine/model.js';
import { ProxyWasmHost, SharedState } from '../../host/envoy/emulator/host.js';
import { filterConfigJson, snapshotToBase64, type FilterConfig } from '../../host/envoy/filter-config.js';
import { filterModule } from '../../host/envoy/filter-wasm.js';
import { buildServiceModel, type KubeObject } from '../../host/model/index.js';

export const NOW_NS = 1_700_000_000_000_000_000n;

/** A model from multi-document YAML, on node `node-a`, ClusterIPs from 10.96.0.0/16 (and fd00:96::/112). */
export function modelFrom(yamlText: string): ServiceModel {
  const objects = parseAllDocuments(yamlText).map((d) => d.toJSON() as KubeObject).filter(Boolean);
  const { model, diagnostics } = buildServiceModel(objects, {
    nodeName: 'node-a',
    nodeIPs: ['192.168.1.10'],
    serviceClusterIPRanges: ['10.96.0.0/16', 'fd00:96::/112'],
  });
  const errors = diagnostics.filter((d) => d.severity === 'error');
  if (errors.length) throw new Error(`fixture manifests are invalid: ${JSON.stringify(errors)}`);
  return model;
}

/** A Service with an EndpointSlice of `ips` (all ready, on `node` unless `nodes` says otherwise). */
export function service(opts: {
  name: string;
  namespace?: string;
  clusterIP?: string;
  ports?: Array<{ name?: string; port: number; targetPort?: number }>;
  ips: string[];
  nodes?: string[];
  scheduler?: string;
  affinity?: number;
  internalTrafficPolicy?: 'Local' | 'Cluster';
  extra?: string;
  /** Endpoint weights (vipwasm.io/weights on the EndpointSlice), parallel to ips. */
  weights?: number[];
}): string {
  const ns = opts.namespace ?? 'default';
  const ports = opts.ports ?? [{ name: 'http', port: 80, targetPort: 8080 }];
  const ann = opts.scheduler ? `\n  annotations:\n    vipwasm.io/scheduler: ${opts.scheduler}` : '';
  const aff = opts.affinity
    ? `\n  sessionAffinity: ClientIP\n  sessionAffinityConfig:\n    clientIP:\n      timeoutSeconds: ${opts.affinity}`
    : '';
  const itp = opts.internalTrafficPolicy ? `\n  internalTrafficPolicy: ${opts.internalTrafficPolicy}` : '';
  const cip = opts.clusterIP ? `\n  clusterIP: ${opts.clusterIP}` : '';
  const portYaml = ports
    .map((p) => `\n    - ${p.name ? `name: ${p.name}\n      ` : ''}port: ${p.port}\n      targetPort: ${p.targetPort ?? p.port}`)
    .join('');
  const slicePorts = ports.map((p) => `\n  - ${p.name ? `name: ${p.name}\n    ` : ''}port: ${p.targetPort ?? p.port}\n    protocol: TCP`).join('');
  const endpoints = opts.ips
    .map((ip, i) => `\n  - addresses: ["${ip}"]\n    conditions: { ready: true }\n    nodeName: ${opts.nodes?.[i] ?? 'node-a'}`)
    .join('');
  return `apiVersion: v1
kind: Service
metadata:
  name: ${opts.name}
  namespace: ${ns}${ann}
spec:${cip}${aff}${itp}
  ports:${portYaml}${opts.extra ?? ''}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: ${opts.name}-1
  namespace: ${ns}${opts.weights ? `\n  annotations:\n    vipwasm.io/weights: "${opts.ips.map((ip, i) => `${ip}=${opts.weights![i]}`).join(',')}"` : ''}
  labels:
    kubernetes.io/service-name: ${opts.name}
addressType: ${opts.ips[0]?.includes(':') ? 'IPv6' : 'IPv4'}
ports:${slicePorts || ' []'}
endpoints:${endpoints || ' []'}
`;
}

export function configFor(model: ServiceModel, extra: FilterConfig = {}): string {
  return filterConfigJson({ snapshot: snapshotToBase64(encodeSnapshot(model)), ...extra });
}

/** A started and configured filter VM (one Envoy worker). */
export async function startFilter(model: ServiceModel, extra: FilterConfig = {}, shared?: SharedState): Promise<ProxyWasmHost> {
  const vm = await ProxyWasmHost.load(await filterModule(), {
    pluginConfiguration: configFor(model, extra),
    nowNs: NOW_NS,
    ...(shared ? { shared } : {}),
  });
  if (!vm.startVm()) throw new Error('proxy_on_vm_start returned false');
  if (!vm.configure()) throw new Error(`proxy_on_configure returned false: ${JSON.stringify(vm.getLogs())}`);
  return vm;
}

/** One full HTTP stream; returns the endpoint header (or null) and the local reply (or null). */
export function request(
  vm: ProxyWasmHost,
  authority: string | null,
  source = '10.0.0.1:40000',
  destination = '127.0.0.1:10000',
  extraHeaders: Array<[string, string]> = [],
): { endpoint: string | null; status: number | null; body: string | null; action: number } {
  const id = vm.initializeHttpContext({ source, destination });
  const headers: Array<[string, string]> = [[':method', 'GET'], [':path', '/'], [':scheme', 'http'], ...extraHeaders];
  if (authority !== null) headers.push([':authority', authority]);
  const action = vm.callOnRequestHeaders(id, headers, true);
  const endpoint = vm.getRequestHeaders(id).find(([k]) => k === 'x-vipwasm-endpoint')?.[1] ?? null;
  const reply = vm.getLocalResponse(id);
  vm.completeHttpContext(id);
  return { endpoint, status: reply?.statusCode ?? null, body: reply?.body ?? null, action };
}

export { ProxyWasmHost, SharedState };
