/**
 * A sequence of connections explained one after another on one engine, so each step sees the
 * flows, affinity entries, counters and scheduler positions the earlier ones left (as `simulate`).
 */
import { type EngineApi, Verdict } from '../engine/api.js';
import { completeConnection } from '../engine/handshake.js';
import { PROTOCOL_NUMBER } from '../engine/model.js';
import { explainConnect } from './explain.js';
import type { ExplainConnection, ExplainTrace } from './trace.js';

export interface ExplainRequest extends ExplainConnection {
  /** Close the connection right after it is made (lc/wlc/sed/nq then count it inactive). */
  readonly close?: boolean;
}

export function explainSequence(engine: EngineApi, requests: readonly ExplainRequest[]): ExplainTrace[] {
  return requests.map((r) => {
    const trace = explainConnect(engine, r);
    const verdict = trace.verdict === 'backend' ? Verdict.Backend : Verdict.Pass;
    completeConnection(engine, { verdict }, PROTOCOL_NUMBER[r.protocol], r.src, r.srcPort, r.dst, r.dstPort, r.nowMs, r.close ?? false);
    return trace;
  });
}
