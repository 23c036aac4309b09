/**
 * Simulated clients complete their handshakes (host/engine/handshake.ts): a TCP flow that a
 * simulation keeps open leaves the 60 s SYN class for the 900 s established timeout, so a run longer
 * than a minute of simulated time still counts every open connection, as a real node would.
 */
import { describe, expect, it } from 'vitest';
import { loadEngine } from '../../host/engine/node.js';
import { START_MS, STEP_MS, simulate, simulationEngineOptions, type SimulationInput } from '../../host/browser/simulate.js';
import { explainSequence } from '../../host/explain/index.js';
import { parseAddress } from '../../host/engine/address.js';
import type { ServiceModel } from '../../host/engine/model.js';
import { modelBackend, modelServicePort } from '../fixtures/service-model.js';

const model: ServiceModel = {
  nodeIPs: [],
  servicePorts: [modelServicePort({ namespace: 'default', name: 'web', clusterIPs: ['10.96.0.10'], scheduler: 'lc', backends: [modelBackend('10.2.0.1', 8080), modelBackend('10.2.0.2', 8080)] })],
};

describe('simulated connections complete their handshake', () => {
  it('the playground simulation keeps 70 s of open TCP connections counted after expiry', async () => {
    const input: SimulationInput = { target: { ip: '10.96.0.10', port: 80, protocol: 'TCP' }, clients: 4, requests: 70_000, seed: 0, close: false, keepDecisions: 0 };
    const engine = await loadEngine(simulationEngineOptions(input));
    const result = simulate(engine, model, input);
    expect(result.counts.backend).toBe(70_000);
    // 70 s after the first connection: past the SYN timeout (60 s), well within the established one (900 s).
    const expired = engine.expire(START_MS + input.requests * STEP_MS);
    expect(expired).toBe(0);
    const active = engine.counters(0).reduce((sum, c) => sum + c.active, 0);
    expect(active).toBe(70_000);
  });

  it('explain sequences do the same, and a closed connection is counted inactive instead', async () => {
    const engine = await loadEngine({ seed: 1 });
    engine.load(model);
    const base = { protocol: 'TCP' as const, src: parseAddress('198.18.0.7'), dst: parseAddress('10.96.0.10'), dstPort: 80 };
    explainSequence(engine, [{ ...base, srcPort: 40000, nowMs: 1000 }, { ...base, srcPort: 40001, nowMs: 1001, close: true }]);
    expect(engine.expire(1000 + 61_000)).toBe(0);
    const counters = engine.counters(0);
    expect(counters.reduce((sum, c) => sum + c.active, 0)).toBe(1);
    expect(counters.reduce((sum, c) => sum + c.inactive, 0)).toBe(1);
  });
});
