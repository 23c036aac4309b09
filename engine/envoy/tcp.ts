/**
 * The TCP (network) filter: on a new downstream connection, the engine chooses a backend for the
 * destination address, and the filter hands it to Envoy as the filter-state object
 * `envoy.network.transport_socket.original_dst_address`, which the ORIGINAL_DST cluster behind the
 * following tcp_proxy connects to (Envoy docs: original_dst load balancing, "Original destination
 * filter state"). The object is set with Envoy's `set_envoy_filter_state` foreign function, whose
 * argument is the protobuf SetEnvoyFilterStateArguments { string path = 1; string value = 2;
 * LifeSpan span = 3; } (reference/hosts-and-style.md §3.1 option B).
 * Any other verdict closes the connection (kube-proxy rejects or drops such a SYN).
 */
import { close, decisionServicePort, generation, backendFamily, backendPort, backendWord, decisionBackend } from '../core';
import { PROTO_TCP, VERDICT_BACKEND, VERDICT_DROP, VERDICT_REJECT } from '../layout';
import { closeStream as closeHostStream, currentTimeMs, log, returned } from './abi/hostcalls';
import { callForeignFunction } from './abi/hostcalls-state';
import { Action, LogLevel, Status, StreamType } from './abi/types';
import { formatAddressPort, TEXT, textLen } from './address-text';
import { authPort, ipFamily, ipW0, ipW1, ipW2, ipW3 } from './authority';
import { decideByAddress } from './decide';
import { DESTINATION_ADDRESS, readAddressProperty, SOURCE_ADDRESS } from './http';
import { metrics } from './metrics';
import { rootOf } from './root';
import { FLOW_OPEN, S_DPORT, S_DST, S_FAMILY, S_FLAGS, S_ROOT, S_SPORT, S_SRC, setStreamWord, streamOf, streamWord } from './streams';

const FILTER_STATE_KEY = 'envoy.network.transport_socket.original_dst_address';
const SET_FILTER_STATE = 'set_envoy_filter_state';
/** Foreign function argument scratch: tag + length + key (52) + tag + length + value (≤ 47) + span. */
const ARGS: usize = memory.data(128);
const KEY_BYTES: usize = memory.data(64);
const FN_NAME: usize = memory.data(32);
let initialized = false;

function initConstants(): void {
  for (let i = 0; i < FILTER_STATE_KEY.length; i++) store<u8>(KEY_BYTES + <usize>i, <u8>FILTER_STATE_KEY.charCodeAt(i));
  for (let i = 0; i < SET_FILTER_STATE.length; i++) store<u8>(FN_NAME + <usize>i, <u8>SET_FILTER_STATE.charCodeAt(i));
  initialized = true;
}

/** Encodes SetEnvoyFilterStateArguments{path: KEY, value: TEXT, span: FilterChain (0)} into ARGS; returns its length. */
function encodeArguments(): usize {
  const keyLen = <usize>FILTER_STATE_KEY.length;
  let p = ARGS;
  store<u8>(p++, 0x0a); // field 1, length-delimited
  store<u8>(p++, <u8>keyLen);
  memory.copy(p, KEY_BYTES, keyLen);
  p += keyLen;
  store<u8>(p++, 0x12); // field 2, length-delimited
  store<u8>(p++, <u8>textLen);
  memory.copy(p, TEXT, textLen);
  p += textLen;
  store<u8>(p++, 0x18); // field 3, varint: LifeSpan FilterChain
  store<u8>(p++, 0);
  return p - ARGS;
}

export function onNewConnection(ctx: u32): Action {
  if (!initialized) initConstants();
  const rec = streamOf(ctx);
  const root = rec >= 0 ? rootOf(streamWord(rec, S_ROOT)) : null;
  let verdict = -1;
  if (root != null && generation() > 0 && readAddressProperty(DESTINATION_ADDRESS, 19)) {
    const df = ipFamily, d0 = ipW0, d1 = ipW1, d2 = ipW2, d3 = ipW3, dport = <u32>authPort;
    let sf: u32 = 4, s0: u32 = 0, s1: u32 = 0, s2: u32 = 0, s3: u32 = 0, sport: u32 = 0;
    if (readAddressProperty(SOURCE_ADDRESS, 14)) {
      sf = ipFamily; s0 = ipW0; s1 = ipW1; s2 = ipW2; s3 = ipW3; sport = <u32>authPort;
    }
    verdict = decideByAddress(root, rec, sf, s0, s1, s2, s3, sport, df, d0, d1, d2, d3, dport, currentTimeMs());
  }
  if (verdict == VERDICT_BACKEND) {
    const sp = decisionServicePort;
    const k = decisionBackend;
    formatAddressPort(backendFamily(sp, k), backendWord(sp, k, 0), backendWord(sp, k, 1), backendWord(sp, k, 2), backendWord(sp, k, 3), backendPort(sp, k));
    const s = callForeignFunction(FN_NAME, SET_FILTER_STATE.length, ARGS, encodeArguments());
    if (s == Status.Ok) {
      returned.release();
      return Action.Continue;
    }
    log(LogLevel.Error, 'vipwasm: set_envoy_filter_state(' + FILTER_STATE_KEY + ') failed with status ' + (<i32>s).toString());
    closeFlow(rec);
  } else if (verdict == VERDICT_REJECT) {
    metrics.count(metrics.rejects);
  } else if (verdict == VERDICT_DROP) {
    metrics.count(metrics.drops);
  } else {
    metrics.count(metrics.unmatched);
  }
  closeHostStream(StreamType.Downstream);
  return Action.Pause;
}

/** Ends the stream's engine flow if one is open (TCP: inactive with the tcpfin timeout). */
export function closeFlow(rec: i32): void {
  if ((streamWord(rec, S_FLAGS) & FLOW_OPEN) == 0) return;
  setStreamWord(rec, S_FLAGS, 0);
  const fam = streamWord(rec, S_FAMILY);
  close(PROTO_TCP, fam & 0xff, streamWord(rec, S_SRC), streamWord(rec, S_SRC + 1), streamWord(rec, S_SRC + 2), streamWord(rec, S_SRC + 3),
    streamWord(rec, S_SPORT), fam >>> 8, streamWord(rec, S_DST), streamWord(rec, S_DST + 1), streamWord(rec, S_DST + 2),
    streamWord(rec, S_DST + 3), streamWord(rec, S_DPORT), currentTimeMs());
}
