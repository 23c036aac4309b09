/**
 * The plugin configuration the vipwasm proxy-wasm filter reads in proxy_on_configure
 * (engine/envoy/config.ts parses it). Envoy passes it as the `value` of a
 * google.protobuf.StringValue in `config.configuration`, so it is one JSON object. (The filter
 * also accepts the snapshot alone, as base64 text or as the binary snapshot in a
 * google.protobuf.BytesValue, with every other field at its default.)
 */

/** Every field the filter accepts; unknown fields make proxy_on_configure fail. */
export interface FilterConfig {
  /** The encoded snapshot (host/engine/snapshot.ts encodeSnapshot), base64. Required unless snapshotCluster is set. */
  snapshot?: string;
  /** Kubernetes cluster domain for `<svc>.<ns>.svc.<domain>` names. Default `cluster.local`. */
  clusterDomain?: string;
  /** Namespace for bare `<svc>` names (a client's own namespace in Kubernetes DNS). Default `default`. */
  namespace?: string;
  /** Request header the ORIGINAL_DST cluster reads. Default `x-vipwasm-endpoint`. */
  header?: string;
  /** Envoy cluster serving the snapshot endpoint; enables live updates. */
  snapshotCluster?: string;
  /** `:authority` of the snapshot request. Default `vipwasm-snapshot`. */
  snapshotAuthority?: string;
  /** Path of the snapshot endpoint. Default `/snapshot`. */
  snapshotPath?: string;
  /** Poll period in milliseconds. Default 5000. */
  pollMs?: number;
  /** Timeout of one snapshot request in milliseconds. Default 2000. */
  pollTimeoutMs?: number;
  /** Share ClientIP affinity between Envoy's per-worker VM copies through proxy shared data. Default true. */
  sharedAffinity?: boolean;
  /** Seed of the `random` scheduler. Default 1. */
  seed?: number;
  /** Flow table capacity. Default 65536. */
  flowCapacity?: number;
  /** Affinity table capacity. Default 65536. */
  affinityCapacity?: number;
}

export const FILTER_DEFAULTS = {
  clusterDomain: 'cluster.local',
  namespace: 'default',
  header: 'x-vipwasm-endpoint',
  snapshotAuthority: 'vipwasm-snapshot',
  snapshotPath: '/snapshot',
  pollMs: 5000,
  pollTimeoutMs: 2000,
} as const;

/** Base64 of bytes (standard alphabet, padded), as the filter's decoder expects. */
export function snapshotToBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

export function filterConfigJson(config: FilterConfig): string {
  return JSON.stringify(config);
}
