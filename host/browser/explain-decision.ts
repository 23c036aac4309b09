/**
 * The explain trace of one simulated decision (issue 13), for the playground's "Decisions, one by
 * one": the simulation's requests before it are replayed on a fresh engine (connect, and close
 * when the run closes connections), so the engine holds exactly the state the decision saw; then
 * host/explain explains that request on it, checking its predicted pick against connect.
 * Pure TypeScript over the EngineApi contract, like simulate.ts.
 */
import { parseAddress } from '../engine/address.js';
import { Verdict, type EngineApi } from '../engine/api.js';
import { PROTOCOL_NUMBER, type ServiceModel } from '../engine/model.js';
import { explainConnect, type ExplainTrace } from '../explain/index.js';
import { START_MS, STEP_MS, clientAddress, sourcePorts, validateSimulationInput, withScheduler, type SimulationInput } from './simulate.js';

/** Explains request `request` (0-based) of the simulation `input` of `model`, on a fresh `engine`. */
export function explainSimulatedDecision(engine: EngineApi, model: ServiceModel, input: SimulationInput, request: number): ExplainTrace {
  validateSimulationInput(input);
  if (!Number.isInteger(request) || request < 0 || request >= input.requests) throw new Error(`explain: decision ${request + 1} is not one of the ${input.requests} made`);
  engine.load(withScheduler(model, input.scheduler));
  const dst = parseAddress(input.target.ip);
  const proto = PROTOCOL_NUMBER[input.target.protocol];
  const portOf = sourcePorts(input.seed, input.clients);
  for (let r = 0; r < request; r++) {
    const src = clientAddress(r % input.clients, dst.family);
    const srcPort = portOf(r);
    const now = START_MS + r * STEP_MS;
    const d = engine.connect(proto, src, srcPort, dst, input.target.port, now);
    if (input.close && d.verdict === Verdict.Backend) engine.close(proto, src, srcPort, dst, input.target.port, now);
  }
  return explainConnect(engine, {
    src: clientAddress(request % input.clients, dst.family),
    srcPort: portOf(request),
    dst,
    dstPort: input.target.port,
    protocol: input.target.protocol,
    nowMs: START_MS + request * STEP_MS,
  });
}
