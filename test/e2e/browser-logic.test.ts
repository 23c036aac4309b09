/**
 * The playground's page logic that runs without a browser: where a diagnostic points in the
 * editor, the URL fragment round trip, the addresses offered to the simulator, and the shipped
 * examples through the real model (no errors, something to simulate where there should be).
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseObjectRef, placeDiagnostics } from '../../host/browser/editor-view.js';
import { locateField, parseFieldPath } from '../../host/browser/field-locator.js';
import { parseManifestDocuments } from '../../host/model/manifest-text.js';
import { FALLBACK_NODE_IP, NO_NODE, analyzeManifests } from '../../host/browser/scenario.js';
import { clientAddress, simulate, simulationEngineOptions, sourcePorts, validateSimulationInput } from '../../host/browser/simulate.js';
import { simulate as cliSimulate, makeClients } from '../../host/cli/commands/simulate.js';
import { parseAddress } from '../../host/engine/address.js';
import { loadEngineFromBytes } from '../../host/engine/browser.js';
import { buildServiceModel } from '../../host/model/build.js';
import { playgroundModelOptions } from '../../host/browser/scenario.js';
import { ensureEngineWasm } from './browser/playground-build.js';
import { parseTargetValue, targetOptions } from '../../host/browser/targets.js';
import { decodeState, defaultState, encodeState } from '../../host/browser/url-state.js';
import { repoRoot } from './browser/playground-build.js';

const TWO_DOCS = `apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  type: NodePort
  clusterIP: 10.96.0.50
  ports:
  - port: 80
  - port: 81
    nodePort: 29999
---
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: shop
spec:
  ports:
  - port: 8080
`;

describe('field locator', () => {
  it('splits field paths with indexes and quoted keys', () => {
    expect(parseFieldPath('spec.ports[1].nodePort')).toEqual(['spec', 'ports', 1, 'nodePort']);
    expect(parseFieldPath('metadata.annotations["vipwasm.io/scheduler"]')).toEqual(['metadata', 'annotations', 'vipwasm.io/scheduler']);
  });

  it('finds the line of a field in the right document, by kind, namespace and name', () => {
    expect(locateField(TWO_DOCS, { kind: 'Service', namespace: 'default', name: 'web' }, 'spec.ports[1].nodePort')).toEqual({ line: 11, column: 5, exact: true });
    expect(locateField(TWO_DOCS, { kind: 'Service', namespace: 'shop', name: 'web' }, 'spec.ports[0].port')?.line).toBe(20);
    // spec.clusterIPs is derived from spec.clusterIP: point at what the user wrote.
    expect(locateField(TWO_DOCS, { kind: 'Service', namespace: 'default', name: 'web' }, 'spec.clusterIPs')?.line).toBe(7);
  });

  it('falls back to the deepest existing part of the path, and to null for unknown objects', () => {
    expect(locateField(TWO_DOCS, { kind: 'Service', namespace: 'default', name: 'web' }, 'spec.selector.app')).toEqual({ line: 5, column: 1, exact: false });
    expect(locateField(TWO_DOCS, { kind: 'Pod', namespace: 'default', name: 'web' }, 'spec')).toBeNull();
  });

  it('places model diagnostics on the editor lines', () => {
    expect(parseObjectRef('Service "shop/web"')).toEqual({ kind: 'Service', namespace: 'shop', name: 'web' });
    expect(parseObjectRef('Node "node-a"')).toEqual({ kind: 'Node', name: 'node-a' });
    const analysis = analyzeManifests(TWO_DOCS, '');
    const placed = placeDiagnostics(TWO_DOCS, analysis.diagnostics);
    const nodePort = placed.find((d) => d.field === 'spec.ports[1].nodePort');
    expect(nodePort).toMatchObject({ severity: 'error', object: 'Service "default/web"', line: 11 });
    expect(nodePort?.message).toMatch(/29999/);
  });
});

describe('manifest text', () => {
  it('keeps the valid documents of a text with a broken one and names the broken line', () => {
    const { objects, errors: diagnostics } = parseManifestDocuments('manifests.yaml', 'kind: Service\nmetadata: {name: a}\n---\nkind: [\n---\n- 1\n');
    expect(objects.map((o) => o.metadata?.name)).toEqual(['a']);
    // The unterminated flow sequence is noticed where its document ends.
    expect(diagnostics.map((d) => d.origin?.line)).toEqual([5, 6]);
    expect(diagnostics[1]?.message).toMatch(/must be a Kubernetes object/);
  });
});

describe('URL state', () => {
  it('round-trips through the fragment and repairs invalid fields', async () => {
    const state = { ...defaultState('hostnames'), manifests: 'kind: Service\n', scheduler: 'sh' as const, clients: 7, requests: 9, seed: 4_000_000_000, close: true, rules: 'ipvs' as const, step: 3, node: 'node-b' };
    const hash = await encodeState(state);
    expect(hash).toMatch(/^#v1\.[A-Za-z0-9_-]+$/);
    expect(await decodeState(hash, 'nodeport', ['hostnames', 'nodeport'])).toEqual(state);
    expect(await decodeState('#v1.garbage!', 'nodeport', ['nodeport'])).toEqual(defaultState('nodeport'));
    const bad = await encodeState({ ...state, clients: -1, scheduler: 'fastest' as never, example: 'gone' });
    expect(await decodeState(bad, 'nodeport', ['nodeport'])).toMatchObject({ clients: 20, scheduler: '', example: 'nodeport' });
  });
});

describe('simulation inputs', () => {
  it('draws clients from 198.18.0.0/15 and source ports from the ephemeral range, reproducibly', () => {
    expect(clientAddress(0, 4).text).toBe('198.18.0.1');
    expect(clientAddress(65_535, 4).text).toBe('198.19.0.0');
    expect(clientAddress(0, 6).text).toBe('2001:db8:c::1');
    const a = sourcePorts(42);
    const b = sourcePorts(42);
    const ports = Array.from({ length: 1000 }, (_, r) => a(r));
    expect(ports).toEqual(Array.from({ length: 1000 }, (_, r) => b(r)));
    expect(new Set(ports).size).toBeGreaterThan(900);
    const sequential = sourcePorts(0, 3);
    expect([0, 1, 2, 3, 4, 5, 6].map(sequential)).toEqual([32768, 32768, 32768, 32769, 32769, 32769, 32770]);
    expect(Math.min(...ports)).toBeGreaterThanOrEqual(32_768);
    expect(Math.max(...ports)).toBeLessThanOrEqual(60_999);
  });

  it('names the field of an out-of-range input', () => {
    const ok = { target: { ip: '10.96.0.1', port: 80, protocol: 'TCP' as const }, clients: 1, requests: 1, seed: 1, close: false };
    expect(() => validateSimulationInput({ ...ok, clients: 0 })).toThrow('simulation: clients: 0 is not an integer in 1..65536');
    expect(() => validateSimulationInput({ ...ok, target: { ...ok.target, ip: 'web' } })).toThrow('simulation: target.ip: "web" is not an IP address');
    expect(parseTargetValue('10.96.0.1|80|TCP')).toEqual(ok.target);
    expect(parseTargetValue('10.96.0.1|0|TCP')).toBeNull();
  });
});

describe('the shipped examples in the page model', () => {
  const dir = join(repoRoot, 'examples');
  const files = readdirSync(dir).filter((f) => f.endsWith('.yaml'));

  it.each(files)('%s is valid and its addresses are offered to the simulator', (file) => {
    const text = readFileSync(join(dir, file), 'utf8');
    const a = analyzeManifests(text, '');
    expect(a.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    const targets = targetOptions(a.model);
    const proxied = a.model.servicePorts.length;
    if (file === 'headless.yaml' || file === 'externalname.yaml') expect(proxied).toBe(0);
    else expect(targets.length).toBeGreaterThan(0);
    for (const sp of a.model.servicePorts) {
      if (sp.nodePort > 0) expect(targets.some((t) => t.port === sp.nodePort)).toBe(true);
    }
  });

  it('uses the Node object of the chosen node, or the fallback node IP', () => {
    const text = readFileSync(join(dir, 'local-policy.yaml'), 'utf8');
    expect(analyzeManifests(text, 'node-b').model.nodeIPs).toEqual(['127.0.0.2']);
    expect(analyzeManifests(text, '').node).toBe('node-a');
    expect(analyzeManifests(text, NO_NODE).model.nodeIPs).toEqual([FALLBACK_NODE_IP]);
  });
});

describe('the page and `vipwasm simulate` agree', () => {
  it.each(['hostnames', 'session-affinity', 'local-policy', 'loadbalancer'])('%s: same backend for every connection with port seed 0', async (name) => {
    const text = readFileSync(join(repoRoot, 'examples', `${name}.yaml`), 'utf8');
    const page = analyzeManifests(text, '');
    const objects = parseManifestDocuments('x.yaml', text).objects;
    const result = buildServiceModel(objects, playgroundModelOptions(page.node, objects));
    const bytes = new Uint8Array(readFileSync(ensureEngineWasm()));
    for (const t of targetOptions(page.model)) {
      const input = { target: t, clients: 7, requests: 120, seed: 0, close: false };
      const mine = simulate(await loadEngineFromBytes(bytes, simulationEngineOptions(input)), page.model, input);
      const cli = await cliSimulate(result, { address: parseAddress(t.ip), port: t.port, protocol: t.protocol }, makeClients(undefined, 7), 120, false);
      expect(mine.decisions.map((d) => d.backend), `${name} ${t.label}`).toEqual(cli.decisions.map((d) => d.backend));
      expect(mine.decisions.map((d) => `${d.client}:${d.clientPort}`)).toEqual(cli.decisions.map((d) => d.client));
    }
  });
});

describe('editing never breaks the page model', () => {
  const texts = readdirSync(join(repoRoot, 'examples'))
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => readFileSync(join(repoRoot, 'examples', f), 'utf8'));

  it('any example with lines dropped, duplicated or cut short analyses without throwing', () => {
    const edit = fc.record({
      example: fc.nat({ max: texts.length - 1 }),
      ops: fc.array(fc.tuple(fc.constantFrom('drop', 'dup', 'cut'), fc.nat(), fc.nat({ max: 40 })), { maxLength: 6 }),
    });
    fc.assert(
      fc.property(edit, ({ example, ops }) => {
        const lines = texts[example]!.split('\n');
        for (const [op, at, n] of ops) {
          const i = at % lines.length;
          if (op === 'drop') lines.splice(i, 1);
          else if (op === 'dup') lines.splice(i, 0, lines[i]!);
          else lines[i] = lines[i]!.slice(0, n);
        }
        const text = lines.join('\n');
        const a = analyzeManifests(text, '');
        placeDiagnostics(text, a.diagnostics);
        targetOptions(a.model);
      }),
      { numRuns: 150, seed: 7 },
    );
  });
});
