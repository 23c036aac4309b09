/**
 * Property (issue 13): `explain` agrees with `simulate` on every decision. Random models
 * (backends with random weights, conditions and set membership, a random scheduler and flags,
 * ClientIP affinity or not, a clusterIP or a source-range-guarded load-balancer IP), random
 * client sequences: each explained step's verdict and backend equal the playground simulation
 * loop's (host/browser/simulate.ts) and `vipwasm simulate`'s (host/cli/commands/simulate.ts), on
 * fresh engines with the same options. Each explained step also checks its own predicted pick
 * against the engine internally (ExplainMismatchError), so a wrong arithmetic fails here too.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseAddress } from '../../host/engine/address.js';
import { loadEngine } from '../../host/engine/node.js';
import { SCHEDULERS, backendKey, type ModelBackend, type ServiceModel } from '../../host/engine/model.js';
import { clientAddress, simulate, simulationEngineOptions, withScheduler } from '../../host/browser/simulate.js';
import { simulate as cliSimulate } from '../../host/cli/commands/simulate.js';
import { explainSequence, type ExplainRequest } from '../../host/explain/index.js';
import type { ModelResult } from '../../host/model/index.js';
import { modelBackend, modelServicePort } from '../fixtures/service-model.js';

const backendArb = fc.record({
  weight: fc.integer({ min: 0, max: 4 }),
  ready: fc.boolean(),
  serving: fc.boolean(),
  terminating: fc.boolean(),
  cluster: fc.boolean(),
  external: fc.boolean(),
});

const caseArb = fc.record({
  backends: fc.array(backendArb, { minLength: 0, maxLength: 6 }),
  scheduler: fc.constantFrom(...SCHEDULERS),
  flags: fc.record({ port: fc.boolean(), fallback: fc.boolean() }),
  affinity: fc.boolean(),
  lb: fc.boolean(),
  clients: fc.integer({ min: 1, max: 4 }),
  requests: fc.integer({ min: 1, max: 24 }),
  close: fc.boolean(),
  /** Fixed source ports for the CLI run (so flows are hit), or ephemeral ones. */
  fixedPorts: fc.option(fc.array(fc.integer({ min: 1024, max: 1030 }), { minLength: 4, maxLength: 4 }), { nil: undefined }),
});
type Case = typeof caseArb extends fc.Arbitrary<infer T> ? T : never;

function modelOf(c: Case): ServiceModel {
  const backends: ModelBackend[] = c.backends.map((b, i) => modelBackend(`10.2.0.${i + 1}`, 8080, b));
  const sp = modelServicePort({
    namespace: 'default', name: 'web', type: c.lb ? 'LoadBalancer' : 'ClusterIP', clusterIPs: ['10.96.0.10'],
    ...(c.lb ? { loadBalancerIPs: ['192.0.2.10'], loadBalancerSourceRanges: ['198.18.0.0/31'], nodePort: 30080 } : {}),
    scheduler: c.scheduler, schedulerFlags: c.flags,
    sessionAffinity: c.affinity ? 'ClientIP' : 'None', affinityTimeoutSeconds: 30, backends,
  });
  return { nodeIPs: [], servicePorts: [sp] };
}

const target = (c: Case): string => (c.lb ? '192.0.2.10' : '10.96.0.10');

describe('explain agrees with simulate', () => {
  it('on every decision of the playground simulation loop', async () => {
    await fc.assert(fc.asyncProperty(caseArb, async (c) => {
      const model = modelOf(c);
      const input = { target: { ip: target(c), port: 80, protocol: 'TCP' as const }, clients: c.clients, requests: c.requests, seed: 0, close: c.close };
      const simulated = simulate(await loadEngine(simulationEngineOptions(input)), model, input);
      const engine = await loadEngine(simulationEngineOptions(input));
      engine.load(withScheduler(model, undefined));
      const dst = parseAddress(target(c));
      const requests: ExplainRequest[] = Array.from({ length: c.requests }, (_, r) => ({
        src: clientAddress(r % c.clients, 4), srcPort: 32768 + Math.floor(r / c.clients), dst, dstPort: 80, protocol: 'TCP', nowMs: 1_000_000 + r, close: c.close,
      }));
      const traces = explainSequence(engine, requests);
      expect(traces.map((t) => [t.verdict, t.via, t.backend])).toEqual(simulated.decisions.map((d) => [d.verdict, d.via, d.backend]));
      expect(traces.map((t) => t.detail)).toEqual(simulated.decisions.map((d) => d.detail));
    }), { numRuns: 150 });
  });

  it('on every decision of vipwasm simulate, with fixed source ports that hit flows', async () => {
    await fc.assert(fc.asyncProperty(caseArb, async (c) => {
      const model = modelOf(c);
      const dst = parseAddress(target(c));
      const clients = Array.from({ length: c.clients }, (_, i) => ({ address: clientAddress(i, 4), ...(c.fixedPorts ? { port: c.fixedPorts[i]! } : {}) }));
      const report = await cliSimulate({ model } as ModelResult, { address: dst, port: 80, protocol: 'TCP' }, clients, c.requests, c.close);
      const engine = await loadEngine({ seed: 1, flowCapacity: 4096, affinityCapacity: 4096 });
      engine.load(model);
      const requests: ExplainRequest[] = Array.from({ length: c.requests }, (_, i) => {
        const client = clients[i % clients.length]!;
        return { src: client.address, srcPort: client.port ?? 32768 + Math.floor(i / clients.length), dst, dstPort: 80, protocol: 'TCP', nowMs: 1_000_000 + i, close: c.close };
      });
      const traces = explainSequence(engine, requests);
      expect(traces.map((t) => [t.verdict === 'pass' ? 'pass' : t.verdict, t.backend])).toEqual(report.decisions.map((d) => [d.result, d.backend]));
      // The trace names the same backend object the engine chose.
      for (const t of traces) if (t.backend) expect(model.servicePorts[0]!.backends.map(backendKey)).toContain(t.backend);
    }), { numRuns: 25 });
  });
});
