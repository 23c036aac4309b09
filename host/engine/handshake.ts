/**
 * What a simulated client does once a connection is admitted, shared by every simulation loop
 * (`vipwasm simulate`, the playground, `vipwasm explain`) so that they keep agreeing: it closes the
 * connection at once, or completes the handshake, as a real client does within a round trip. Without
 * the second, every simulated TCP flow would stay in the SYN class (60 s, IPVS SYN_RECV) and a run
 * longer than a minute of simulated time would expire connections a real node keeps for 900 s.
 */
import type { Address } from './address.js';
import { type Decision, type EngineApi, Verdict } from './api.js';

export function completeConnection(engine: EngineApi, d: Pick<Decision, 'verdict'>, protocol: number, src: Address, srcPort: number, dst: Address, dstPort: number, nowMs: number, close: boolean): void {
  if (d.verdict !== Verdict.Backend) return;
  if (close) engine.close(protocol, src, srcPort, dst, dstPort, nowMs);
  else engine.established(protocol, src, srcPort, dst, dstPort, nowMs);
}
