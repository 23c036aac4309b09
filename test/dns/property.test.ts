/**
 * Property: for a random set of Services (ClusterIP with named and unnamed ports, headless with
 * ready and not-ready endpoints with and without hostnames, ExternalName) in random namespaces,
 * every Service and every endpoint resolves as the DNS specification v1.1.0 says, in any letter
 * case. The expectations are computed from the generated objects here, not from the model.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Forward, type ZoneAnswer, answerQuestion } from '../../host/dns/answer.js';
import { ClusterZone, reverseName } from '../../host/dns/zone.js';
import { type KubeObject, buildServiceModel } from '../../host/model/index.js';

const ZONE = 'cluster.local';
const label = fc.stringMatching(/^[a-z]([a-z0-9-]{0,8}[a-z0-9])?$/);

interface GenEndpoint { hostname?: string; ready: boolean }
interface GenService {
  kind: 'ClusterIP' | 'Headless' | 'ExternalName';
  name: string;
  namespace: string;
  ports: { name: string; protocol: 'TCP' | 'UDP'; port: number }[];
  endpoints: GenEndpoint[];
  publishNotReady: boolean;
}

/** Valid Service ports: names unique, and (port, protocol) unique too, as the API server requires. */
const portsArb = fc.uniqueArray(fc.record({ name: label, protocol: fc.constantFrom('TCP' as const, 'UDP' as const), port: fc.integer({ min: 1, max: 65535 }) }), { minLength: 1, maxLength: 3, selector: (p) => p.name })
  .filter((ports) => new Set(ports.map((p) => `${p.port}/${p.protocol}`)).size === ports.length);
const serviceArb: fc.Arbitrary<GenService> = fc.record({
  kind: fc.constantFrom('ClusterIP' as const, 'Headless' as const, 'ExternalName' as const),
  name: label, namespace: fc.constantFrom('default', 'shop', 'kube-system', 'a1'),
  ports: fc.oneof(portsArb, portsArb.map((p) => [{ ...p[0]!, name: '' }])),
  endpoints: fc.array(fc.record({ hostname: fc.option(label, { nil: undefined }), ready: fc.boolean() }), { maxLength: 5 }),
  publishNotReady: fc.boolean(),
});

function objects(services: GenService[]): KubeObject[] {
  return services.flatMap((s, i): KubeObject[] => {
    const meta = { name: s.name, namespace: s.namespace };
    if (s.kind === 'ExternalName') return [{ apiVersion: 'v1', kind: 'Service', metadata: meta, spec: { type: 'ExternalName', externalName: `${s.name}.example.test` } }];
    const spec = { clusterIP: s.kind === 'Headless' ? 'None' : clusterIP(i), ports: s.ports, publishNotReadyAddresses: s.publishNotReady };
    const slice: KubeObject = {
      apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
      metadata: { name: `${s.name}-x`, namespace: s.namespace, labels: { 'kubernetes.io/service-name': s.name } },
      addressType: 'IPv4', ports: s.ports,
      endpoints: s.endpoints.map((e, k) => ({ addresses: [endpointIP(i, k)], conditions: { ready: e.ready }, ...(e.hostname ? { hostname: e.hostname } : {}) })),
    };
    return [{ apiVersion: 'v1', kind: 'Service', metadata: meta, spec }, slice];
  });
}

function clusterIP(svc: number): string {
  return `10.96.1.${svc + 1}`;
}

function endpointIP(svc: number, k: number): string {
  return `10.244.${svc}.${k + 1}`;
}

function randomCase(name: string, seed: number): string {
  return [...name].map((c, i) => (((seed >> (i % 30)) & 1) ? c.toUpperCase() : c)).join('');
}

function ask(zone: ClusterZone, name: string, type: string): ZoneAnswer {
  const a: ZoneAnswer | Forward = answerQuestion(zone, { name, type });
  if ('forward' in a) throw new Error(`${name} ${type} was forwarded`);
  return a;
}

function data(a: ZoneAnswer): unknown[] {
  return a.answers.map((r) => (r as { data: unknown }).data);
}

describe('every Service and endpoint of a random model resolves as the specification says', () => {
  it('holds for random models', () => {
    fc.assert(fc.property(fc.uniqueArray(serviceArb, { maxLength: 12, selector: (s) => `${s.namespace}/${s.name}` }), fc.nat(), (services, seed) => {
      const { discovery, diagnostics } = buildServiceModel(objects(services));
      expect(diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
      const zone = new ClusterZone(discovery, { clusterDomain: ZONE, ttl: 30, podRecords: 'insecure' }, 1);
      services.forEach((s, i) => {
        const name = `${s.name}.${s.namespace}.svc.${ZONE}`;
        const asked = randomCase(name, seed + i);
        if (s.kind === 'ExternalName') {
          const a = ask(zone, asked, 'A');
          expect(a.answers).toEqual([{ type: 'CNAME', name: asked, ttl: 30, class: 'IN', data: `${s.name}.example.test` }]);
          expect(a.chase).toEqual({ name: `${s.name}.example.test`, type: 'A' });
          return;
        }
        if (s.kind === 'ClusterIP') {
          const ip = clusterIP(i);
          expect(data(ask(zone, asked, 'A'))).toEqual([ip]);
          expect(ask(zone, asked, 'AAAA')).toMatchObject({ rcode: 'NOERROR', answers: [] });
          expect(data(ask(zone, reverseName(ip), 'PTR'))).toEqual([name]);
          for (const p of s.ports.filter((x) => x.name)) {
            const srv = ask(zone, `_${p.name}._${p.protocol.toLowerCase()}.${asked}`, 'SRV');
            expect(srv.answers.map((r) => (r as { data: { port: number; target: string } }).data)).toEqual([expect.objectContaining({ port: p.port, target: name })]);
          }
          return;
        }
        // Headless: the ready endpoints (all with publishNotReadyAddresses).
        const ready = s.endpoints.map((e, k) => ({ ...e, ip: endpointIP(i, k) })).filter((e) => e.ready || s.publishNotReady);
        const host = (e: { hostname?: string; ip: string }): string => e.hostname ?? e.ip.replaceAll('.', '-');
        const a = ask(zone, asked, 'A');
        if (ready.length === 0) expect(a.rcode).toBe('NXDOMAIN');
        else expect(new Set(data(a))).toEqual(new Set(ready.map((e) => e.ip)));
        for (const e of ready) {
          const perEndpoint = ask(zone, randomCase(`${host(e)}.${name}`, seed), 'A');
          expect(data(perEndpoint)).toEqual(expect.arrayContaining([e.ip]));
          expect(data(ask(zone, reverseName(e.ip), 'PTR'))).toEqual([`${host(e)}.${name}`]);
        }
        for (const p of s.ports.filter((x) => x.name)) {
          const srv = ask(zone, `_${p.name}._${p.protocol.toLowerCase()}.${name}`, 'SRV');
          if (ready.length === 0) expect(srv.rcode).toBe('NXDOMAIN');
          const targets = srv.answers.map((r) => (r as { data: { target: string } }).data.target);
          expect(new Set(targets)).toEqual(new Set(ready.map((e) => `${host(e)}.${name}`)));
        }
      });
      const missing = ask(zone, `no-such-service-here.default.svc.${ZONE}`, 'A');
      expect(missing.rcode).toBe('NXDOMAIN');
    }), { numRuns: 300 });
  });
});
