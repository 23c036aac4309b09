/**
 * `vipwasm explain` through the real CLI: a sequence from repeated --from and from --replay with
 * state carried between steps, JSON output, exit 2 naming the object and field for invalid input
 * and the flag for bad usage; and a disagreement between explain's prediction and the engine is
 * an internal error (ExplainMismatchError), never silent.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAddress } from '../../host/engine/address.js';
import { loadEngine } from '../../host/engine/node.js';
import type { EngineApi } from '../../host/engine/api.js';
import type { EngineStateView } from '../../host/engine/state-view.js';
import { ExplainMismatchError, explainConnect } from '../../host/explain/index.js';
import { modelBackend, modelServicePort } from '../fixtures/service-model.js';
import { runCli } from './run-cli.js';

const tmp = mkdtempSync(join(tmpdir(), 'vipwasm-explain-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const f = join(tmp, name);
  writeFileSync(f, text);
  return f;
}

const sticky = write('sticky.yaml', `apiVersion: v1
kind: Service
metadata: { name: sticky, namespace: default }
spec: { clusterIP: 10.96.0.80, sessionAffinity: ClientIP, ports: [{ port: 80, targetPort: 8080 }] }
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: sticky-1, namespace: default, labels: { kubernetes.io/service-name: sticky } }
addressType: IPv4
ports: [{ port: 8080 }]
endpoints: [{ addresses: [10.1.2.1] }, { addresses: [10.1.2.2] }]
`);

describe('vipwasm explain', () => {
  it('explains a --replay sequence with state carried: the client returns to its pinned backend, as JSON', async () => {
    const replay = write('replay.json', JSON.stringify([{ from: '10.1.0.5' }, { from: '10.1.0.6' }, { from: '10.1.0.5', atMs: 1_005_000 }]));
    const r = await runCli(['explain', '-f', sticky, '--to', '10.96.0.80:80', '--replay', replay, '-o', 'json', '--node', 'node-1']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const { traces } = JSON.parse(r.stdout) as { traces: { from: string; via: string; backend: string; atMs: number; steps: { step: string; lines: string[] }[] }[] };
    expect(traces.map((t) => [t.from, t.via, t.backend])).toEqual([
      ['10.1.0.5:32768', 'scheduler', '10.1.2.1:8080'],
      ['10.1.0.6:32768', 'scheduler', '10.1.2.2:8080'],
      ['10.1.0.5:32769', 'affinity', '10.1.2.1:8080'],
    ]);
    expect(traces[2]!.atMs).toBe(1_005_000);
    const pinned = traces[2]!.steps.find((s) => s.step === 'affinity')!;
    expect(pinned.lines).toEqual(['age 5000 ms < timeout 10800000 ms; refreshed by this connection']);
  });

  it('exits 2 naming the object and field for an invalid object', async () => {
    const bad = write('bad.yaml', 'apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {ports: [{port: 70000}]}\n');
    const r = await runCli(['explain', '-f', bad, '--to', '10.96.0.1:80']);
    expect(r.code).toBe(2);
    expect(r.stderr.split('\n')[0]).toBe(`error: Service "default/web" (${bad}:1): spec.ports[0].port: Invalid value: 70000: must be between 1 and 65535, inclusive`);
  });

  it('exits 2 naming the flag or replay field for bad usage', async () => {
    const cases: [string[], string][] = [
      [['--to', '1.2.3:80'], 'error: --to: invalid IP address "1.2.3" (want ip:port[/proto] or namespace/name[:port])\n'],
      [['--to', '10.96.0.80:80', '--from', 'nope'], 'error: --from: invalid address "nope" (want ip[:port])\n'],
      [['--to', '10.96.0.80:80', '-o', 'yaml'], 'error: --output: unsupported format "yaml" (want json)\n'],
      [['--to', '10.96.0.80:80', '--scheduler', 'fastest'], 'error: --scheduler: unknown scheduler "fastest" (want one of rr, wrr, lc, wlc, sed, nq, dh, sh, mh, random)\n'],
      [['--to', '10.96.0.80:80', '--from', 'fd00::1'], 'error: --from: fd00::1 is IPv6, --to 10.96.0.80 is IPv4\n'],
    ];
    for (const [args, stderr] of cases) {
      const r = await runCli(['explain', '-f', sticky, ...args]);
      expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 2, stderr });
    }
    const replay = write('bad-replay.json', JSON.stringify([{ from: '10.1.0.5' }, { from: 7 }]));
    const r = await runCli(['explain', '-f', sticky, '--to', '10.96.0.80:80', '--replay', replay]);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 2, stderr: `error: --replay ${replay}: [1].from: want "ip[:port]", got 7\n` });
  });

  it('reports a prediction the engine contradicts as an internal error', async () => {
    const engine = await loadEngine({ seed: 1, flowCapacity: 64, affinityCapacity: 64 });
    engine.load({ nodeIPs: [], servicePorts: [modelServicePort({ namespace: 'default', name: 'web', clusterIPs: ['10.96.0.10'], backends: [modelBackend('10.1.0.1', 80), modelBackend('10.1.0.2', 80)] })] });
    const real = engine.stateView();
    // A view that misreports the rr position: explain predicts the other backend.
    const lying = Object.create(real) as EngineStateView;
    lying.pool = (p) => ({ ...real.pool(p), position: real.pool(p).position + 1 });
    const fake = Object.create(engine) as EngineApi;
    fake.stateView = () => lying;
    const c = { src: parseAddress('10.2.0.1'), srcPort: 40000, dst: parseAddress('10.96.0.10'), dstPort: 80, protocol: 'TCP' as const, nowMs: 1000 };
    expect(() => explainConnect(fake, c)).toThrow(ExplainMismatchError);
    expect(() => explainConnect(fake, { ...c, srcPort: 40001 })).toThrow(/^internal error: explain predicted backend via scheduler \(service port #0, backend #0/);
    // The honest view agrees with the engine.
    expect(explainConnect(engine, { ...c, srcPort: 40002 }).backend).toBe('10.1.0.1:80');
  });
});
