/**
 * The HTTP filter (proxy_on_request_headers): find the Service port from `:authority` — a Service
 * DNS name form or `ClusterIP:port` — or else from the downstream destination address; let the
 * engine choose the backend (ClientIP affinity keyed by the downstream source address); and
 * always overwrite the endpoint header the ORIGINAL_DST cluster reads (Envoy does not sanitize it:
 * original_dst.proto "This header isn't sanitized by default"). Verdicts other than Backend end the
 * request with a local reply: 503 no usable endpoints, 403 dropped by policy, 404 no Service.
 */
import { backendFamily, backendPort, backendWord, decisionBackend, decisionServicePort, generation, servicePortByName } from '../core';
import { PROTO_TCP, VERDICT_BACKEND, VERDICT_DROP, VERDICT_PASS, VERDICT_REJECT } from '../layout';
import { currentTimeMs, getHeaderValue, removeHeader, replaceHeader, returned, sendLocalResponse } from './abi/hostcalls';
import { getProperty } from './abi/hostcalls-state';
import { Action, MapType } from './abi/types';
import { formatAddressPort, TEXT, textLen } from './address-text';
import {
  AUTH_IP, AUTH_NAME, authPort, ipFamily, ipW0, ipW1, ipW2, ipW3, namePtr, nameLen, nsLen, nsPtr, parseAuthority, parseIpPort,
} from './authority';
import { decideByAddress, decideByServicePort } from './decide';
import { servicePortKey } from './engine-view';
import { metrics } from './metrics';
import { Root, rootOf } from './root';
import { S_ROOT, streamOf, streamWord } from './streams';

const AUTHORITY = memory.data<u8>([0x3a, 0x61, 0x75, 0x74, 0x68, 0x6f, 0x72, 0x69, 0x74, 0x79]); // ":authority"
const SCHEME = memory.data<u8>([0x3a, 0x73, 0x63, 0x68, 0x65, 0x6d, 0x65]); // ":scheme"
/** Property paths, segments joined by NUL (spec "Properties"). */
export const SOURCE_ADDRESS = memory.data<u8>([0x73, 0x6f, 0x75, 0x72, 0x63, 0x65, 0x00, 0x61, 0x64, 0x64, 0x72, 0x65, 0x73, 0x73]);
export const DESTINATION_ADDRESS = memory.data<u8>([
  0x64, 0x65, 0x73, 0x74, 0x69, 0x6e, 0x61, 0x74, 0x69, 0x6f, 0x6e, 0x00, 0x61, 0x64, 0x64, 0x72, 0x65, 0x73, 0x73]);

/** Longest :authority examined: a 253-byte DNS name, brackets and a port fit. */
// @ts-ignore: decorator
@inline const MAX_AUTHORITY: usize = 320;
const HOST: usize = memory.data(<i32>MAX_AUTHORITY);
let hostLen: usize = 0;

/** Reads an `ip:port` property into ipFamily, ipW0..3 and authPort; false when absent or malformed. */
export function readAddressProperty(path: usize, pathLen: usize): bool {
  if (!getProperty(path, pathLen)) return false;
  const ok = returned.len <= MAX_AUTHORITY && parseIpPort(returned.ptr, returned.len);
  returned.release();
  return ok;
}

/** Copies :authority lower-cased into HOST; false when absent or too long. */
function readAuthority(): bool {
  hostLen = 0;
  if (!getHeaderValue(MapType.HttpRequestHeaders, AUTHORITY, 10)) return false;
  const n = returned.len;
  if (n > MAX_AUTHORITY) {
    returned.release();
    return false;
  }
  for (let i: usize = 0; i < n; i++) {
    const c = <u32>load<u8>(returned.ptr + i);
    store<u8>(HOST + i, <u8>(c >= 0x41 && c <= 0x5a ? c | 0x20 : c));
  }
  returned.release();
  hostLen = n;
  return true;
}

/** The port a URL without one implies: 443 for https, else 80. */
function defaultPort(): u32 {
  if (!getHeaderValue(MapType.HttpRequestHeaders, SCHEME, 7)) return 80;
  const https = returned.len == 5 && load<u32>(returned.ptr) == 0x70747468 && load<u8>(returned.ptr, 4) == 0x73;
  returned.release();
  return https ? 443 : 80;
}

function reply(root: Root, code: u32, details: string, body: string): void {
  removeHeader(MapType.HttpRequestHeaders, changetype<usize>(root.header), root.header.byteLength);
  const d = String.UTF8.encode(details);
  const b = String.UTF8.encode(body);
  sendLocalResponse(code, changetype<usize>(d), d.byteLength, changetype<usize>(b), b.byteLength,
    changetype<usize>(root.replyHeaders), root.replyHeaders.byteLength);
}

/** Fails closed: a stream whose plugin was never configured must not reach the ORIGINAL_DST cluster. */
function replyUnconfigured(): Action {
  const d = String.UTF8.encode('vipwasm_not_configured');
  const b = String.UTF8.encode('vipwasm: the filter has no valid configuration\n');
  sendLocalResponse(503, changetype<usize>(d), d.byteLength, changetype<usize>(b), b.byteLength, 0, 0);
  return Action.Pause;
}

export function onRequestHeaders(ctx: u32): Action {
  const rec = streamOf(ctx);
  if (rec < 0) return replyUnconfigured();
  const root = rootOf(streamWord(rec, S_ROOT));
  if (root == null) return replyUnconfigured();
  if (generation() == 0) {
    metrics.count(metrics.rejects);
    reply(root, 503, 'vipwasm_no_snapshot', 'vipwasm: no snapshot loaded yet\n');
    return Action.Pause;
  }
  const nowMs = currentTimeMs();
  let sf: u32 = 4, s0: u32 = 0, s1: u32 = 0, s2: u32 = 0, s3: u32 = 0, sport: u32 = 0;
  if (readAddressProperty(SOURCE_ADDRESS, 14)) {
    sf = ipFamily; s0 = ipW0; s1 = ipW1; s2 = ipW2; s3 = ipW3; sport = <u32>authPort;
  }
  let verdict = VERDICT_PASS;
  if (readAuthority()) {
    const kind = parseAuthority(HOST, hostLen, changetype<usize>(root.domain), root.domain.byteLength);
    if (kind == AUTH_NAME) {
      const port = authPort >= 0 ? <u32>authPort : defaultPort();
      const ns = nsLen > 0 ? nsPtr : changetype<usize>(root.namespace);
      const nsN = nsLen > 0 ? nsLen : <usize>root.namespace.byteLength;
      const sp = servicePortByName(ns, <i32>nsN, namePtr, <i32>nameLen, port, PROTO_TCP);
      if (sp >= 0) verdict = decideByServicePort(root, rec, sp, sf, s0, s1, s2, s3, sport, nowMs);
      if (verdict < 0) verdict = VERDICT_PASS;
    } else if (kind == AUTH_IP) {
      const port = authPort >= 0 ? <u32>authPort : defaultPort();
      verdict = decideByAddress(root, rec, sf, s0, s1, s2, s3, sport, ipFamily, ipW0, ipW1, ipW2, ipW3, port, nowMs);
    }
  }
  if (verdict == VERDICT_PASS && readAddressProperty(DESTINATION_ADDRESS, 19)) {
    verdict = decideByAddress(root, rec, sf, s0, s1, s2, s3, sport, ipFamily, ipW0, ipW1, ipW2, ipW3, <u32>authPort, nowMs);
  }
  if (verdict == VERDICT_BACKEND) {
    const sp = decisionServicePort;
    const k = decisionBackend;
    formatAddressPort(backendFamily(sp, k), backendWord(sp, k, 0), backendWord(sp, k, 1), backendWord(sp, k, 2), backendWord(sp, k, 3), backendPort(sp, k));
    replaceHeader(MapType.HttpRequestHeaders, changetype<usize>(root.header), root.header.byteLength, TEXT, textLen);
    return Action.Continue;
  }
  if (verdict == VERDICT_REJECT) {
    metrics.count(metrics.rejects);
    reply(root, 503, 'vipwasm_no_endpoints', 'vipwasm: Service "' + servicePortKey(decisionServicePort) + '" has no usable endpoints\n');
  } else if (verdict == VERDICT_DROP) {
    metrics.count(metrics.drops);
    reply(root, 403, 'vipwasm_dropped_by_policy', 'vipwasm: request to Service "' + servicePortKey(decisionServicePort) +
      '" dropped by policy (Local traffic policy without a local endpoint, or source outside loadBalancerSourceRanges)\n');
  } else {
    metrics.count(metrics.unmatched);
    const authority = hostLen > 0 ? String.UTF8.decodeUnsafe(HOST, hostLen) : '';
    reply(root, 404, 'vipwasm_no_service', 'vipwasm: no Service port matches :authority "' + authority + '" or the destination address\n');
  }
  return Action.Pause;
}
