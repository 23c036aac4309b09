/**
 * Dual-stack service ports: kube-proxy runs one proxier per IP family, so traffic to an IPv4
 * address (ClusterIP, externalIP, LB ingress IP, node IP + nodePort) is only ever balanced over
 * IPv4 endpoints and traffic to an IPv6 address over IPv6 ones; whether an empty pool answers
 * Drop or Reject is judged per family too (reference/kube-proxy.md §1.7). Every case runs on
 * engine.wasm and on the reference model, which must both follow the rule.
 */
import { describe, expect, it } from 'vitest';
import { Verdict, Via } from '../../host/engine/api.js';
import type { ModelServicePort, SchedulerName, ServiceModel } from '../../host/engine/model.js';
import { loadEngine } from '../../host/engine/node.js';
import { RefEngine } from '../reference/engine.js';
import type { EngineLike } from '../reference/differential-driver.js';
import { backend, ip, model, servicePort, TCP, UDP } from './fixtures.js';

const NODE4 = '192.168.0.10';
const NODE6 = 'fd00::10';
const ALL: SchedulerName[] = ['rr', 'wrr', 'lc', 'wlc', 'sed', 'nq', 'dh', 'sh', 'mh', 'random'];

/** Every kind of address of the `web` port, with the port a client connects to. */
const ENTRIES: Array<[string, string, number]> = [
  ['clusterIP v4', '10.96.0.50', 80],
  ['clusterIP v6', 'fd00:10:96::50', 80],
  ['externalIP v4', '203.0.113.5', 80],
  ['externalIP v6', '2001:db8:e::5', 80],
  ['LB ingress v4', '198.51.100.20', 80],
  ['LB ingress v6', '2001:db8:1b::20', 80],
  ['nodePort on the node IPv4', NODE4, 30080],
  ['nodePort on the node IPv6', NODE6, 30080],
];

function web(scheduler: SchedulerName, extra: Partial<ModelServicePort> = {}): ModelServicePort {
  return servicePort('web', {
    type: 'LoadBalancer',
    clusterIPs: ['10.96.0.50', 'fd00:10:96::50'],
    nodePort: 30080,
    externalIPs: ['203.0.113.5', '2001:db8:e::5'],
    loadBalancerIPs: ['198.51.100.20', '2001:db8:1b::20'],
    scheduler,
    backends: [backend('198.18.1.1'), backend('198.18.1.2'), backend('fd00:244::1'), backend('fd00:244::2')],
    ...extra,
  });
}

type Impl = [string, () => Promise<EngineLike>];
const IMPLS: Impl[] = [
  ['engine.wasm', () => loadEngine({ flowCapacity: 4096, affinityCapacity: 256 })],
  ['reference', async () => new RefEngine({ flowCapacity: 4096, affinityCapacity: 256 })],
];

/** A client of the destination's family (a fresh source port each call). */
let sport = 10000;
function client(dst: string, host = 1): string {
  return dst.includes(':') ? `2001:db8:99::${host}` : `172.20.0.${host}`;
}

describe.each(IMPLS)('dual-stack on %s', (_, make) => {
  /** Loads `m` and returns a connect that answers with the backend's address ('' when none). */
  async function engineWith(m: ServiceModel) {
    const engine = await make();
    engine.load(m);
    const connect = (dst: string, dport: number, src = client(dst), proto = TCP, port = sport++) => {
      const d = engine.connect(proto, ip(src), port, ip(dst), dport, 1000);
      const sp = m.servicePorts[d.servicePortIndex];
      return { ...d, ip: d.verdict === Verdict.Backend ? sp!.backends[d.backendIndex]!.ip : '' };
    };
    return { engine, connect };
  }

  it.each(ALL)('%s: every kind of address is balanced over backends of its own family only', async (scheduler) => {
    const { connect } = await engineWith(model([web(scheduler)], [NODE4, NODE6]));
    for (const [, dst, dport] of ENTRIES) {
      const seen = new Set<string>();
      for (let host = 1; host <= 12; host++) {
        const d = connect(dst, dport, client(dst, host));
        expect([dst, d.verdict]).toEqual([dst, Verdict.Backend]);
        seen.add(d.ip);
      }
      const family = dst.includes(':') ? ['fd00:244::1', 'fd00:244::2'] : ['198.18.1.1', '198.18.1.2'];
      expect([dst, [...seen].every((b) => family.includes(b))]).toEqual([dst, true]);
      // rr takes turns, so both backends of the family serve.
      if (scheduler === 'rr') expect([dst, [...seen].sort()]).toEqual([dst, family]);
    }
  });

  it('rr keeps one position per family: interleaved IPv4 and IPv6 connections each take turns', async () => {
    const { connect } = await engineWith(model([web('rr')]));
    const got: string[] = [];
    for (let i = 0; i < 4; i++) got.push(connect('10.96.0.50', 80).ip, connect('fd00:10:96::50', 80).ip);
    expect(got).toEqual(['198.18.1.1', 'fd00:244::1', '198.18.1.2', 'fd00:244::2', '198.18.1.1', 'fd00:244::1', '198.18.1.2', 'fd00:244::2']);
  });

  it('rr positions carry over a swap per family', async () => {
    const { engine, connect } = await engineWith(model([web('rr')]));
    expect(connect('10.96.0.50', 80).ip).toBe('198.18.1.1');
    expect(connect('fd00:10:96::50', 80).ip).toBe('fd00:244::1');
    const grown = web('rr', { backends: [...web('rr').backends, backend('fd00:244::3')] });
    engine.load(model([grown]));
    const again = (dst: string) => {
      const d = engine.connect(TCP, ip(client(dst)), sport++, ip(dst), 80, 2000);
      return grown.backends[d.backendIndex]!.ip;
    };
    expect([again('10.96.0.50'), again('fd00:10:96::50'), again('fd00:10:96::50')]).toEqual(['198.18.1.2', 'fd00:244::2', 'fd00:244::3']);
  });

  it('the least-connection count of one family does not steer the other', async () => {
    // lc: three open IPv4 connections (two on .1); the IPv6 pool still starts at its head.
    const { connect } = await engineWith(model([web('lc')]));
    expect([connect('10.96.0.50', 80).ip, connect('10.96.0.50', 80).ip, connect('10.96.0.50', 80).ip]).toEqual(['198.18.1.1', '198.18.1.2', '198.18.1.1']);
    expect(connect('fd00:10:96::50', 80).ip).toBe('fd00:244::1');
  });

  it('ClientIP affinity never pins a connection to a backend of the other family', async () => {
    const { connect } = await engineWith(model([web('rr', { sessionAffinity: 'ClientIP', affinityTimeoutSeconds: 600 })]));
    const src = '172.20.0.7';
    const first = connect('10.96.0.50', 80, src);
    expect([first.ip, first.via]).toEqual(['198.18.1.1', Via.Scheduler]);
    expect(connect('10.96.0.50', 80, src).via).toBe(Via.Affinity);
    // The same client address (as a test can send it) to the IPv6 ClusterIP: that is another
    // virtual service with its own persistence (issue 17), so the scheduler picks an IPv6 one.
    const six = connect('fd00:10:96::50', 80, src);
    expect([six.ip, six.via]).toEqual(['fd00:244::1', Via.Scheduler]);
    expect(connect('fd00:10:96::50', 80, src).via).toBe(Via.Affinity);
    // Back to IPv4: its own entry still pins the IPv4 backend.
    const back = connect('10.96.0.50', 80, src);
    expect([back.ip, back.via]).toEqual(['198.18.1.1', Via.Affinity]);
  });

  it('rejects traffic of a family without any endpoint, and serves the other', async () => {
    const v4only = servicePort('v4only', { clusterIPs: ['10.96.0.60', 'fd00:10:96::60'], backends: [backend('198.18.2.1')] });
    const { connect } = await engineWith(model([v4only]));
    expect(connect('10.96.0.60', 80).ip).toBe('198.18.2.1');
    const d = connect('fd00:10:96::60', 80);
    expect([d.verdict, d.servicePortIndex, d.backendIndex]).toEqual([Verdict.Reject, 0, -1]);
  });

  it('drops NodePort traffic of a family whose endpoints are all remote under externalTrafficPolicy Local', async () => {
    const local = servicePort('local', {
      type: 'NodePort', clusterIPs: ['10.96.0.61', 'fd00:10:96::61'], nodePort: 30061, externalTrafficPolicy: 'Local',
      backends: [
        backend('198.18.3.1', 8080, { local: true }),
        backend('fd00:3::1', 8080, { local: false, cluster: true, external: false }),
      ],
    });
    const { connect } = await engineWith(model([local], [NODE4, NODE6]));
    expect(connect(NODE4, 30061).ip).toBe('198.18.3.1');
    expect(connect(NODE6, 30061).verdict).toBe(Verdict.Drop);
    // Cluster traffic of that family is still served.
    expect(connect('fd00:10:96::61', 80).ip).toBe('fd00:3::1');
  });

  it('an empty family pool drops when that family has a serving terminating endpoint, rejects when it has only dead ones', async () => {
    const v4 = backend('198.18.4.1');
    const sp = (name: string, ip6: string, serving: boolean, i: number) =>
      servicePort(name, {
        protocol: 'UDP', port: 53, clusterIPs: [`10.96.0.7${i}`, `fd00:10:96::7${i}`],
        backends: [v4, backend(ip6, 8080, { ready: false, serving, terminating: true, cluster: false, external: false })],
      });
    const { connect } = await engineWith(model([sp('draining', 'fd00:4::1', true, 0), sp('dead', 'fd00:4::2', false, 1)]));
    expect(connect('fd00:10:96::70', 53, undefined, UDP).verdict).toBe(Verdict.Drop);
    expect(connect('fd00:10:96::71', 53, undefined, UDP).verdict).toBe(Verdict.Reject);
    expect(connect('10.96.0.71', 53, undefined, UDP).ip).toBe('198.18.4.1');
  });

  it('a port without endpoints (hasEndpoints false) rejects in both families', async () => {
    const none = servicePort('none', { clusterIPs: ['10.96.0.80', 'fd00:10:96::80'], hasEndpoints: false });
    const { connect } = await engineWith(model([none]));
    expect([connect('10.96.0.80', 80).verdict, connect('fd00:10:96::80', 80).verdict]).toEqual([Verdict.Reject, Verdict.Reject]);
  });
});
