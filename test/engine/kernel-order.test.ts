/**
 * Issue 17: the order contract and per-address scheduler state, on explicit examples. Each one is
 * played on engine.wasm and on the reference engine (every decision compared), and its picks are
 * also checked against the kernel model driven by the literal ipvsadm commands the exporter issues
 * (RefVirtualService: `-a` inserts at the head, `-d` unlinks, `-e` edits, each with the scheduler's
 * hook), or against a sequence worked out by hand from ip_vs_rr.c / ip_vs_lc.c.
 */
import { describe, expect, it } from 'vitest';
import { parseAddress, type Address } from '../../host/engine/address.js';
import { Verdict } from '../../host/engine/api.js';
import type { SchedulerName } from '../../host/engine/model.js';
import { loadEngine } from '../../host/engine/node.js';
import { RefEngine } from '../reference/engine.js';
import { serviceModel, servicePort, type BackendSpec, type ServicePortSpec } from '../reference/model-builder.js';
import { createScheduler, RefVirtualService, type DestSpec } from '../reference/virtual-service.js';

const CLUSTER_IP = parseAddress('10.96.0.10');
const EXTERNAL_IP = parseAddress('203.0.113.10');
const CLIENT = parseAddress('192.0.2.1');
const at = (last: number, weight = 1): BackendSpec => ({ ip: `10.0.0.${last}`, port: 8080, weight });
const name = (ip: string): string => `.${ip.split('.').pop()}`;

/** engine.wasm and the reference side by side: every connect answered alike, or the test fails. */
async function pair(): Promise<{ load(spec: ServicePortSpec): void; connect(to?: Address, client?: Address): string; counters(): string }> {
  const engine = await loadEngine({ flowCapacity: 1024, affinityCapacity: 64 });
  const reference = new RefEngine({ flowCapacity: 1024, affinityCapacity: 64 });
  let port = 20000;
  let backends: readonly string[] = [];
  return {
    load(spec) {
      const model = serviceModel([servicePort(spec)]);
      backends = model.servicePorts[0]!.backends.map((b) => b.ip);
      engine.load(model);
      reference.load(model);
    },
    connect(to = CLUSTER_IP, client = CLIENT) {
      const p = port++;
      const e = engine.connect(6, client, p, to, 80, 1_000_000);
      const r = reference.connect(6, client, p, to, 80, 1_000_000);
      expect({ verdict: e.verdict, backend: e.backendIndex, detail: e.detail }).toEqual({ verdict: r.verdict, backend: r.backendIndex, detail: r.detail });
      return e.verdict === Verdict.Backend ? name(backends[e.backendIndex]!) : '-';
    },
    counters() {
      const e = JSON.stringify(engine.counters(0));
      expect(e).toBe(JSON.stringify(reference.counters(0)));
      return e;
    },
  };
}

const picks = (n: number, next: () => string): string => Array.from({ length: n }, next).join(' ');
/** The kernel model's picks on a service driven by explicit commands. */
const kernelPicks = (svc: RefVirtualService, n: number): string =>
  picks(n, () => name(svc.schedule({ client: CLIENT, clientPort: 1, vip: CLUSTER_IP }).dest!.addr.text));
const spec = (last: number, weight = 1): DestSpec => ({ ip: `10.0.0.${last}`, port: 8080, weight });

describe('the order contract: a new backend goes to the head, survivors keep their order', () => {
  it('rr .1 .3 .5, one pick, add .2: the kernel picks .3 .5 .2 .1 (issue 17)', async () => {
    const e = await pair();
    e.load({ scheduler: 'rr', backends: [at(1), at(3), at(5)] });
    expect(e.connect()).toBe('.1');
    e.load({ scheduler: 'rr', backends: [at(1), at(2), at(3), at(5)] });
    expect(picks(4, () => e.connect())).toBe('.3 .5 .2 .1');
    // The kernel, driven by the exporter's commands: -A, -a .5 .3 .1 (reverse engine order), then -a .2.
    const svc = RefVirtualService.builtByAdding(createScheduler('rr'), [spec(5), spec(3), spec(1)]);
    expect(kernelPicks(svc, 1)).toBe('.1');
    svc.add(spec(2));
    expect(kernelPicks(svc, 4)).toBe('.3 .5 .2 .1');
  });

  it('joiners land at the head in engine order; a later swap keeps that order (not address order)', async () => {
    const e = await pair();
    e.load({ scheduler: 'rr', backends: [at(5), at(7)] });
    e.load({ scheduler: 'rr', backends: [at(1), at(3), at(5), at(7)] });
    // List .1 .3 .5 .7 (joiners .1 .3 first); a weight edit keeps it.
    e.load({ scheduler: 'rr', backends: [at(1), at(3), at(5, 2), at(7)] });
    e.load({ scheduler: 'rr', backends: [at(2), at(1), at(3), at(5, 2), at(7)] });
    // .2 joins at the head: .2 .1 .3 .5 .7, rr from the head.
    expect(picks(5, () => e.connect())).toBe('.2 .1 .3 .5 .7');
  });

  it('lc: all counters zero, the newest backend wins the tie (it heads the list)', async () => {
    const e = await pair();
    e.load({ scheduler: 'lc', backends: [at(1), at(3)] });
    e.load({ scheduler: 'lc', backends: [at(1), at(2), at(3)] });
    expect(e.connect()).toBe('.2');
    const svc = RefVirtualService.builtByAdding(createScheduler('lc'), [spec(3), spec(1)]);
    svc.add(spec(2));
    expect(kernelPicks(svc, 1)).toBe('.2');
  });

  it.each(['wrr', 'dh', 'sh', 'mh'] as SchedulerName[])('%s after remove, reweight and add matches the kernel driven by -d, -e, -a', async (scheduler) => {
    const e = await pair();
    e.load({ scheduler, backends: [at(1, 4), at(3, 2), at(5, 6)] });
    const first = picks(5, () => e.connect());
    e.load({ scheduler, backends: [at(1, 3), at(2, 2), at(5, 6), at(7, 1)] });
    const after = picks(12, () => e.connect());
    const svc = RefVirtualService.builtByAdding(createScheduler(scheduler), [spec(5, 6), spec(3, 2), spec(1, 4)]);
    expect(kernelPicks(svc, 5)).toBe(first);
    svc.remove('10.0.0.3:8080');
    svc.setWeight('10.0.0.1:8080', 3);
    svc.add(spec(7, 1));
    svc.add(spec(2, 2));
    expect(svc.list.map((d) => name(d.addr.text)).join(' ')).toBe('.2 .7 .1 .5');
    expect(kernelPicks(svc, 12)).toBe(after);
  });
});

describe('per-address state: each service address is its own virtual service', () => {
  it('rr: a client alternating clusterIP and externalIP gets .1 .1 .2 .2 .3 .3 (issue 17)', async () => {
    const e = await pair();
    e.load({ scheduler: 'rr', externalIPs: [EXTERNAL_IP.text], backends: [at(1), at(2), at(3)] });
    expect(picks(6, (() => { let k = 0; return () => e.connect(k++ % 2 ? EXTERNAL_IP : CLUSTER_IP); })())).toBe('.1 .1 .2 .2 .3 .3');
  });

  it('lc: connections through the clusterIP do not count for the externalIP', async () => {
    const e = await pair();
    e.load({ scheduler: 'lc', externalIPs: [EXTERNAL_IP.text], backends: [at(1), at(2)] });
    expect(picks(3, () => e.connect(CLUSTER_IP))).toBe('.1 .2 .1');
    // Shared counters (.1: 2, .2: 1) would pick .2; the externalIP's own are all zero.
    expect(e.connect(EXTERNAL_IP)).toBe('.1');
    // counters() reports each backend's total over its addresses.
    expect(JSON.parse(e.counters())).toEqual([{ active: 3, inactive: 0 }, { active: 1, inactive: 0 }]);
  });

  it('a new address starts a fresh virtual service while the old one keeps its position', async () => {
    const e = await pair();
    e.load({ scheduler: 'rr', backends: [at(1), at(2), at(3)] });
    expect(picks(2, () => e.connect(CLUSTER_IP))).toBe('.1 .2');
    e.load({ scheduler: 'rr', externalIPs: [EXTERNAL_IP.text], backends: [at(1), at(2), at(3)] });
    expect(e.connect(EXTERNAL_IP)).toBe('.1');
    expect(e.connect(CLUSTER_IP)).toBe('.3');
  });
});

describe('ClientIP affinity is per service address, as the kernel keeps persistence templates per virtual service', () => {
  it('rr with affinity: pinned through the clusterIP, scheduled afresh through the externalIP', async () => {
    const e = await pair();
    e.load({ scheduler: 'rr', affinitySeconds: 600, externalIPs: [EXTERNAL_IP.text], backends: [at(1), at(2), at(3)] });
    expect(picks(3, () => e.connect(CLUSTER_IP))).toBe('.1 .1 .1');
    // Another client takes the externalIP's .1; our client has no template there, so its rr
    // goes on to .2 (a per-Service pinning would have answered .1).
    expect(e.connect(EXTERNAL_IP, parseAddress('192.0.2.99'))).toBe('.1');
    expect(picks(2, () => e.connect(EXTERNAL_IP))).toBe('.2 .2');
    e.load({ scheduler: 'rr', affinitySeconds: 600, externalIPs: [EXTERNAL_IP.text], backends: [at(2), at(3)] });
    // .1 left: the clusterIP's template goes and its rr (at .1) moves on to .2; the externalIP's
    // template (.2) holds.
    expect(e.connect(CLUSTER_IP)).toBe('.2');
    expect(e.connect(EXTERNAL_IP)).toBe('.2');
  });
});
