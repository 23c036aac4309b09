/**
 * Chain, set and map names exactly as kube-proxy derives them (reference/kube-proxy.md §1.3, §3).
 * Pure: runs in Node and in the browser (SHA-256 in ./sha256-base32.ts, no node: imports).
 */
import { sha256Base32 } from './sha256-base32.js';
import { backendKey, servicePortKey, type ModelBackend, type ModelServicePort } from '../engine/model.js';

const BASE32_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** RFC 4648 standard base32 (upper case, no padding needed here: callers keep a prefix). */
export function base32(bytes: Uint8Array): string {
  let out = '';
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = ((buffer << 8) | byte) & 0xffff;
    bits += 8;
    while (bits >= 5) {
      out += BASE32_ALPHABET[(buffer >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += BASE32_ALPHABET[(buffer << (5 - bits)) & 31];
  return out;
}

/**
 * First `n` characters of base32(sha256(text)). Not memoised: the renderers' per-port memo already
 * skips unchanged ports, so names are only computed for new or changed ports (the former 220k-entry
 * name cache only added Map and GC work to cold renders).
 */
function hashPrefix(text: string, n: number): string {
  return sha256Base32(text, n);
}

type PortIdentity = Pick<ModelServicePort, 'namespace' | 'name' | 'portName' | 'protocol'>;

/** kube-proxy's portProtoHash: base32(sha256(`ns/name[:port]` + lower-case protocol))[:16]. */
export function portProtoHash(sp: PortIdentity): string {
  return hashPrefix(servicePortKey(sp) + sp.protocol.toLowerCase(), 16);
}

/** The per-service-port iptables chains (all share one hash). */
export interface IptablesServiceChainNames {
  readonly svc: string;
  readonly svl: string;
  readonly ext: string;
  readonly fw: string;
}

export function iptablesServiceChains(sp: PortIdentity): IptablesServiceChainNames {
  const h = portProtoHash(sp);
  return { svc: `KUBE-SVC-${h}`, svl: `KUBE-SVL-${h}`, ext: `KUBE-EXT-${h}`, fw: `KUBE-FW-${h}` };
}

/** KUBE-SEP-<base32(sha256(`ns/name[:port]` + protocol + `ip:port`))[:16]> (servicePortEndpointChainName). */
export function iptablesEndpointChain(sp: PortIdentity, b: Pick<ModelBackend, 'ip' | 'port'>): string {
  return iptablesEndpointChainOf(sp)(b);
}

/** The KUBE-SEP namer for one port (computes the port's part of the hashed text once). */
export function iptablesEndpointChainOf(sp: PortIdentity): (b: Pick<ModelBackend, 'ip' | 'port'>) => string {
  const prefix = servicePortKey(sp) + sp.protocol.toLowerCase();
  return (b) => `KUBE-SEP-${hashPrefix(prefix + backendKey(b), 16)}`;
}

/** Whether a chain name is one of the per-service chains kube-proxy (and we) own (isServiceChainName). */
export function isIptablesServiceChain(name: string): boolean {
  return /^KUBE-(SVC|SVL|SEP|FW|EXT)-/.test(name);
}

/** knftables NameLengthMax (256) minus the 16 bytes kube-proxy keeps in reserve. */
const NFT_NAME_MAX = 240;

/** kube-proxy nftables hashAndTruncate: base32(sha256(name))[:8] + "-" + name, cut to 240 with "...". */
export function hashAndTruncate(name: string): string {
  const full = `${hashPrefix(name, 8)}-${name}`;
  return full.length > NFT_NAME_MAX ? `${full.slice(0, NFT_NAME_MAX - 3)}...` : full;
}

/** `ns/svc/proto/portName`: the name nftables service chains are derived from. */
function nftServicePortName(sp: PortIdentity): string {
  return `${sp.namespace}/${sp.name}/${sp.protocol.toLowerCase()}/${sp.portName}`;
}

export interface NftServiceChainNames {
  readonly service: string;
  readonly local: string;
  readonly external: string;
  readonly firewall: string;
}

export function nftServiceChains(sp: PortIdentity): NftServiceChainNames {
  const base = hashAndTruncate(nftServicePortName(sp));
  return { service: `service-${base}`, local: `local-${base}`, external: `external-${base}`, firewall: `firewall-${base}` };
}

/** `endpoint-<hash>-ns/svc/proto/port__ip/port` (IPv6 colons become dots) and its `affinity-` set. */
export function nftEndpointNames(sp: PortIdentity, b: Pick<ModelBackend, 'ip' | 'port'>): { chain: string; affinitySet: string } {
  const base = hashAndTruncate(`${nftServicePortName(sp)}__${b.ip.replaceAll(':', '.')}/${b.port}`);
  return { chain: `endpoint-${base}`, affinitySet: `affinity-${base}` };
}
