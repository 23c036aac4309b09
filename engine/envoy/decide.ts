/**
 * One decision for a stream: import a shared ClientIP pinning, ask the engine, publish the
 * pinning, remember the flow key in the stream record (to close the flow when the stream ends)
 * and count. Used by the HTTP and the TCP filter; nothing here allocates.
 */
import {
  connect, connectToServicePort, decisionBackend, decisionServicePort, established, matchDestination, poolForDestination, serving,
} from '../core';
import { BF_CLUSTER, KIND_CLUSTER_IP, PROTO_TCP, SPF_AFFINITY, VERDICT_BACKEND } from '../layout';
import { matchedPool } from '../service-table';
import { pickClusterIP, vipFamily, vipW0, vipW1, vipW2, vipW3 } from './engine-view';
import { metrics } from './metrics';
import { Root } from './root';
import { imported, importSharedAffinity, publishSharedAffinity } from './shared-affinity';
import { FLOW_OPEN, S_DPORT, S_DST, S_FAMILY, S_FLAGS, S_PROTO, S_SPORT, S_SRC, setStreamWord } from './streams';

function hasAffinity(sp: i32): bool {
  return sp >= 0 && (serving().spFlags(sp) & SPF_AFFINITY) != 0;
}

function remember(rec: i32, sf: u32, s0: u32, s1: u32, s2: u32, s3: u32, sport: u32, df: u32, d0: u32, d1: u32, d2: u32, d3: u32, dport: u32): void {
  setStreamWord(rec, S_FLAGS, FLOW_OPEN);
  setStreamWord(rec, S_PROTO, PROTO_TCP);
  setStreamWord(rec, S_FAMILY, sf | (df << 8));
  setStreamWord(rec, S_SRC, s0);
  setStreamWord(rec, S_SRC + 1, s1);
  setStreamWord(rec, S_SRC + 2, s2);
  setStreamWord(rec, S_SRC + 3, s3);
  setStreamWord(rec, S_SPORT, sport);
  setStreamWord(rec, S_DST, d0);
  setStreamWord(rec, S_DST + 1, d1);
  setStreamWord(rec, S_DST + 2, d2);
  setStreamWord(rec, S_DST + 3, d3);
  setStreamWord(rec, S_DPORT, dport);
}

function finish(root: Root, rec: i32, verdict: i32, shared: bool, nowMs: f64,
  sf: u32, s0: u32, s1: u32, s2: u32, s3: u32, sport: u32, df: u32, d0: u32, d1: u32, d2: u32, d3: u32, dport: u32): i32 {
  if (verdict != VERDICT_BACKEND) return verdict;
  // The downstream handshake is complete by the time Envoy runs the filter (Envoy owns the
  // upstream one): the flow leaves SYN_RECV's short timeout at once.
  established(PROTO_TCP, sf, s0, s1, s2, s3, sport, df, d0, d1, d2, d3, dport, nowMs);
  remember(rec, sf, s0, s1, s2, s3, sport, df, d0, d1, d2, d3, dport);
  metrics.count(metrics.decisions);
  metrics.countServicePort(decisionServicePort);
  if (shared) {
    if (imported) metrics.count(metrics.sharedAffinityHits);
    publishSharedAffinity(decisionServicePort, decisionBackend, nowMs);
  }
  return verdict;
}

/** A TCP connection (or HTTP stream) to destination address (df, d*):dport. */
export function decideByAddress(root: Root, rec: i32, sf: u32, s0: u32, s1: u32, s2: u32, s3: u32, sport: u32,
  df: u32, d0: u32, d1: u32, d2: u32, d3: u32, dport: u32, nowMs: f64): i32 {
  let shared = false;
  if (root.cfg.sharedAffinity) {
    const m = matchDestination(PROTO_TCP, df, d0, d1, d2, d3, dport);
    if (m >= 0 && hasAffinity(m >> 2)) {
      importSharedAffinity(m >> 2, matchedPool, sf, s0, s1, s2, s3, nowMs);
      shared = true;
    }
  }
  const v = connect(PROTO_TCP, sf, s0, s1, s2, s3, sport, df, d0, d1, d2, d3, dport, nowMs);
  return finish(root, rec, v, shared, nowMs, sf, s0, s1, s2, s3, sport, df, d0, d1, d2, d3, dport);
}

/**
 * An HTTP stream whose :authority named Service port `sp`: cluster traffic to its ClusterIP (of
 * the client's family when dual-stack), which is also the flow key's destination, so requests for
 * different Services on one downstream connection never share a flow.
 */
export function decideByServicePort(root: Root, rec: i32, sp: i32, sf: u32, s0: u32, s1: u32, s2: u32, s3: u32, sport: u32, nowMs: f64): i32 {
  if (!pickClusterIP(sp, sf)) return -1;
  const df = vipFamily;
  const d0 = vipW0;
  const d1 = vipW1;
  const d2 = vipW2;
  const d3 = vipW3;
  const dport = serving().spPort(sp);
  let shared = false;
  if (root.cfg.sharedAffinity && hasAffinity(sp)) {
    const pool = poolForDestination(serving(), sp, BF_CLUSTER, df, d0, d1, d2, d3);
    if (pool >= 0) importSharedAffinity(sp, pool, sf, s0, s1, s2, s3, nowMs);
    shared = true;
  }
  const v = connectToServicePort(sp, KIND_CLUSTER_IP, PROTO_TCP, sf, s0, s1, s2, s3, sport, df, d0, d1, d2, d3, dport, nowMs);
  return finish(root, rec, v, shared, nowMs, sf, s0, s1, s2, s3, sport, df, d0, d1, d2, d3, dport);
}
