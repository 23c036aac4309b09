/** CategorizeEndpoints (pkg/proxy/topology.go) on hand-picked cases and random endpoint sets. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { categorizeEndpoints, type PortPolicy } from '../../host/model/categorize.js';
import type { EndpointRecord } from '../../host/model/endpoints.js';

const node = { nodeName: 'n1', zone: 'z1' };
function ep(ip: string, o: Partial<EndpointRecord> = {}): EndpointRecord {
  return { ip, port: 80, portName: '', protocol: 'TCP', ready: true, serving: true, terminating: false, weight: 1, nodeName: 'n2', ...o };
}
const cluster: PortPolicy = { internalTrafficPolicy: 'Cluster', externalTrafficPolicy: 'Cluster', externallyAccessible: false };
const ips = (s: ReadonlySet<EndpointRecord>): string[] => [...s].map((e) => e.ip).sort();

describe('categorizeEndpoints', () => {
  it('uses ready endpoints, falling back to serving-terminating ones only when none is ready', () => {
    const eps = [ep('a'), ep('b', { ready: false, serving: true, terminating: true }), ep('c', { ready: false, serving: false })];
    expect(ips(categorizeEndpoints(eps, cluster, node).cluster)).toEqual(['a']);
    const noneReady = eps.slice(1);
    const c = categorizeEndpoints(noneReady, cluster, node);
    expect(ips(c.cluster)).toEqual(['b']);
    expect(c.hasEndpoints).toBe(true);
    const dead = categorizeEndpoints([ep('c', { ready: false, serving: false })], cluster, node);
    expect(dead.hasEndpoints).toBe(false);
    expect(dead.cluster.size).toBe(0);
  });

  it('externalTrafficPolicy Local: external set is local endpoints, cluster set unchanged', () => {
    const eps = [ep('a', { nodeName: 'n1' }), ep('b')];
    const c = categorizeEndpoints(eps, { ...cluster, externalTrafficPolicy: 'Local', externallyAccessible: true }, node);
    expect(ips(c.cluster)).toEqual(['a', 'b']);
    expect(ips(c.external)).toEqual(['a']);
  });

  it('a Local policy without local endpoints keeps hasEndpoints but an empty set (data planes drop)', () => {
    const c = categorizeEndpoints([ep('b')], { ...cluster, internalTrafficPolicy: 'Local' }, node);
    expect(c.hasEndpoints).toBe(true);
    expect(c.cluster.size).toBe(0);
  });

  it('not externally accessible: the external set is empty whatever the policy', () => {
    expect(categorizeEndpoints([ep('a')], cluster, node).external.size).toBe(0);
  });

  it('an empty node name makes no endpoint local', () => {
    const c = categorizeEndpoints([ep('a', { nodeName: '' })], { ...cluster, internalTrafficPolicy: 'Local' }, { nodeName: '', zone: '' });
    expect(c.cluster.size).toBe(0);
  });

  it('node hints win over zone hints when every ready endpoint has them', () => {
    const eps = [
      ep('a', { nodeHints: ['n1'], zoneHints: ['z2'] }),
      ep('b', { nodeHints: ['n2'], zoneHints: ['z1'] }),
    ];
    expect(ips(categorizeEndpoints(eps, cluster, node).cluster)).toEqual(['a']);
  });

  it('holds kube-proxy’s invariants on random endpoint sets', () => {
    const arbEp = fc.record({
      ready: fc.boolean(), serving: fc.boolean(), terminating: fc.boolean(), local: fc.boolean(),
    });
    fc.assert(
      fc.property(
        fc.array(arbEp, { maxLength: 8 }),
        fc.constantFrom<'Cluster' | 'Local'>('Cluster', 'Local'),
        fc.constantFrom<'Cluster' | 'Local'>('Cluster', 'Local'),
        fc.boolean(),
        (specs, itp, etp, externallyAccessible) => {
          const eps = specs.map((s, i) => ep(`10.0.0.${i}`, { ready: s.ready, serving: s.ready || s.serving, terminating: s.terminating, nodeName: s.local ? 'n1' : 'n2' }));
          const c = categorizeEndpoints(eps, { internalTrafficPolicy: itp, externalTrafficPolicy: etp, externallyAccessible }, node);
          const usable = eps.filter((e) => e.ready || (e.serving && e.terminating));
          expect(c.hasEndpoints).toBe(usable.length > 0);
          for (const set of [c.cluster, c.external]) {
            for (const e of set) expect(e.ready || (e.serving && e.terminating)).toBe(true);
            // Ready endpoints are never mixed with the fallback ones.
            const kinds = new Set([...set].map((e) => e.ready));
            expect(kinds.size).toBeLessThanOrEqual(1);
          }
          if (itp === 'Local') for (const e of c.cluster) expect(e.nodeName).toBe('n1');
          if (itp === 'Cluster' && eps.some((e) => e.ready)) expect(ips(c.cluster)).toEqual(ips(new Set(eps.filter((e) => e.ready))));
          if (!externallyAccessible) expect(c.external.size).toBe(0);
          else if (etp === 'Cluster' && itp === 'Cluster') expect(ips(c.external)).toEqual(ips(c.cluster));
        },
      ),
      { numRuns: 300 },
    );
  });
});
