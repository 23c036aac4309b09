/**
 * The filter's plugin configuration (host/envoy/filter-config.ts documents the same fields for
 * the TypeScript side). Parsed in proxy_on_configure; any problem yields a message naming the
 * field, and the filter then returns false so Envoy rejects the configuration.
 *
 * Three forms are accepted: a JSON object with the fields below (the snapshot base64 in
 * `snapshot`); the snapshot alone as base64 text (a google.protobuf.StringValue); or the binary
 * snapshot itself (a google.protobuf.BytesValue, whose bytes Envoy passes as they are). The two
 * bare forms take every other field's default.
 */
import { SNAPSHOT_MAGIC, SNAPSHOT_VERSION } from '../snapshot';
import { base64Error, decodeBase64 } from './base64';
import { JsonObject, parseJsonObject } from './json-object';

export class FilterConfig {
  snapshot: Uint8Array | null = null;
  clusterDomain: string = 'cluster.local';
  namespace: string = 'default';
  header: string = 'x-vipwasm-endpoint';
  snapshotCluster: string = '';
  snapshotAuthority: string = 'vipwasm-snapshot';
  snapshotPath: string = '/snapshot';
  pollMs: u32 = 5000;
  pollTimeoutMs: u32 = 2000;
  sharedAffinity: bool = true;
  seed: u32 = 1;
  flowCapacity: i32 = 65536;
  affinityCapacity: i32 = 65536;
  /** How errors in the snapshot are introduced: the JSON field, or the bare snapshot. */
  snapshotLabel: string = 'field "snapshot"';
  /** Empty when valid. */
  error: string = '';
}

/** A binary snapshot starts with its magic "VIPW" and a u16 format version 1 (docs/snapshot.md). */
export function isBinarySnapshot(buf: ArrayBuffer): bool {
  const p = changetype<usize>(buf);
  return buf.byteLength >= 6 && load<u32>(p) == SNAPSHOT_MAGIC && load<u16>(p, 4) == <u16>SNAPSHOT_VERSION;
}

/** The configuration for a bare snapshot (binary, or decoded from base64): defaults otherwise. */
export function snapshotOnlyConfig(bytes: Uint8Array): FilterConfig {
  const cfg = new FilterConfig();
  cfg.snapshot = bytes;
  cfg.snapshotLabel = 'the snapshot';
  return cfg;
}

const KNOWN = [
  'snapshot', 'clusterDomain', 'namespace', 'header', 'snapshotCluster', 'snapshotAuthority', 'snapshotPath',
  'pollMs', 'pollTimeoutMs', 'sharedAffinity', 'seed', 'flowCapacity', 'affinityCapacity',
];

function isSpace(c: i32): bool {
  return c == 0x20 || c == 0x09 || c == 0x0a || c == 0x0d;
}

function isHeaderName(s: string): bool {
  if (s.length == 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const ok = (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c == 0x2d || c == 0x5f;
    if (!ok) return false;
  }
  return true;
}

function isDomain(s: string): bool {
  if (s.length == 0 || s.charCodeAt(0) == 0x2e || s.charCodeAt(s.length - 1) == 0x2e) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const ok = (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c == 0x2d || c == 0x2e;
    if (!ok) return false;
  }
  return true;
}

class Fields {
  constructor(public obj: JsonObject, public cfg: FilterConfig) {}

  str(key: string, dflt: string): string {
    const i = this.obj.indexOf(key);
    if (i < 0) return dflt;
    const v = this.obj.values[i];
    if (v.kind != 0) {
      this.fail('field "' + key + '": expected a string');
      return dflt;
    }
    return v.text;
  }

  int(key: string, dflt: u32, min: u32, max: u32): u32 {
    const i = this.obj.indexOf(key);
    if (i < 0) return dflt;
    const v = this.obj.values[i];
    if (v.kind != 1 || v.num != Math.floor(v.num) || v.num < <f64>min || v.num > <f64>max) {
      this.fail('field "' + key + '": expected an integer from ' + min.toString() + ' to ' + max.toString());
      return dflt;
    }
    return <u32>v.num;
  }

  flag(key: string, dflt: bool): bool {
    const i = this.obj.indexOf(key);
    if (i < 0) return dflt;
    const v = this.obj.values[i];
    if (v.kind != 2) {
      this.fail('field "' + key + '": expected true or false');
      return dflt;
    }
    return v.flag;
  }

  fail(msg: string): void {
    if (this.cfg.error.length == 0) this.cfg.error = msg;
  }
}

/** Parses the JSON configuration; `error` is set (and names the field) when it is unusable. */
export function parseFilterConfig(text: string): FilterConfig {
  let start = 0;
  while (start < text.length && isSpace(text.charCodeAt(start))) start++;
  if (start < text.length && text.charCodeAt(start) != 0x7b) {
    const bytes = decodeBase64(text);
    if (bytes != null) return snapshotOnlyConfig(bytes);
    const bad = new FilterConfig();
    bad.error = 'configuration is neither a JSON object nor a base64 snapshot: ' + base64Error;
    return bad;
  }
  const cfg = new FilterConfig();
  const obj = parseJsonObject(text);
  if (obj.error.length > 0) {
    cfg.error = obj.error;
    return cfg;
  }
  for (let i = 0; i < obj.keys.length; i++) {
    if (!KNOWN.includes(obj.keys[i])) {
      cfg.error = 'unknown field "' + obj.keys[i] + '" (known: ' + KNOWN.join(', ') + ')';
      return cfg;
    }
  }
  const f = new Fields(obj, cfg);
  const snapshot = f.str('snapshot', '');
  cfg.clusterDomain = f.str('clusterDomain', cfg.clusterDomain).toLowerCase();
  cfg.namespace = f.str('namespace', cfg.namespace).toLowerCase();
  cfg.header = f.str('header', cfg.header).toLowerCase();
  cfg.snapshotCluster = f.str('snapshotCluster', '');
  cfg.snapshotAuthority = f.str('snapshotAuthority', cfg.snapshotAuthority);
  cfg.snapshotPath = f.str('snapshotPath', cfg.snapshotPath);
  cfg.pollMs = f.int('pollMs', cfg.pollMs, 100, 86_400_000);
  cfg.pollTimeoutMs = f.int('pollTimeoutMs', cfg.pollTimeoutMs, 10, 600_000);
  cfg.sharedAffinity = f.flag('sharedAffinity', true);
  cfg.seed = f.int('seed', 1, 0, 0xffffffff);
  cfg.flowCapacity = <i32>f.int('flowCapacity', 65536, 16, 1 << 24);
  cfg.affinityCapacity = <i32>f.int('affinityCapacity', 65536, 16, 1 << 24);
  if (cfg.error.length > 0) return cfg;
  if (!isDomain(cfg.clusterDomain)) cfg.error = 'field "clusterDomain": "' + cfg.clusterDomain + '" is not a DNS domain';
  else if (!isDomain(cfg.namespace) || cfg.namespace.includes('.')) cfg.error = 'field "namespace": "' + cfg.namespace + '" is not a namespace name';
  else if (!isHeaderName(cfg.header)) cfg.error = 'field "header": "' + cfg.header + '" is not an HTTP header name';
  else if (cfg.snapshotPath.length == 0 || cfg.snapshotPath.charCodeAt(0) != 0x2f) cfg.error = 'field "snapshotPath": must start with "/"';
  else if (snapshot.length == 0 && cfg.snapshotCluster.length == 0) cfg.error = 'field "snapshot": required unless "snapshotCluster" is set';
  if (cfg.error.length > 0) return cfg;
  if (snapshot.length > 0) {
    const bytes = decodeBase64(snapshot);
    if (bytes == null) cfg.error = 'field "snapshot": ' + base64Error;
    else cfg.snapshot = bytes;
  }
  return cfg;
}
