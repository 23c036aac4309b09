/**
 * ipvs mode's partial sync (host/rules/ipvs-sync.ts, issue 17): the commands, the kernel lists they
 * leave, and agreement with the reference model the engine is differential-tested against. The
 * kernel is the reference kernel model driven by the command lines (ipvs-kernel-model.ts): this
 * machine's kernel has no IPVS; the live ipvs tests run where `ipvsadm -Ln` works.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseAddress } from '../../host/engine/address.js';
import { servicePortKey, type ModelServicePort, type SchedulerName, type ServiceModel } from '../../host/engine/model.js';
import { IpvsApplier } from '../../host/rules/apply/ipvs.js';
import { installedFresh, parseIpvsSave, planIpvsSync } from '../../host/rules/ipvs-sync.js';
import { renderIpvs } from '../../host/rules/render-ipvs.js';
import { syncServices } from '../reference/address-services.js';
import { arbBackends, arbOp, BACKEND_POOL, CLIENTS, scenarioModel, type Op } from '../reference/differential-driver.js';
import { serviceModel, servicePort, type BackendSpec } from '../reference/model-builder.js';
import { XorShift32 } from '../reference/random.js';
import type { RefVirtualService } from '../reference/virtual-service.js';
import { KernelIpvs, kernelRunner } from './ipvs-kernel-model.js';

const at = (last: number, weight = 1): BackendSpec => ({ ip: `10.0.0.${last}`, port: 8080, weight });
const rrModel = (...backends: BackendSpec[]): ServiceModel => serviceModel([servicePort({ scheduler: 'rr', backends })]);
const order = (svc: RefVirtualService | undefined): string => (svc?.list ?? []).map((d) => d.id).join(' ');

describe('planIpvsSync', () => {
  it('adding .2 to .1 .3 .5 is one -a, and the kernel lists .2 .1 .3 .5', () => {
    const before = installedFresh(renderIpvs(rrModel(at(1), at(3), at(5))).services);
    const plan = planIpvsSync(before, renderIpvs(rrModel(at(1), at(2), at(3), at(5))).services);
    expect(plan.lines).toEqual(['-a -t 10.96.0.10:80 -r 10.0.0.2:8080 -m -w 1']);
    expect(plan.installed.get('-t 10.96.0.10:80')!.servers.map((rs) => rs.server)).toEqual(['10.0.0.2:8080', '10.0.0.1:8080', '10.0.0.3:8080', '10.0.0.5:8080']);
  });

  it('-d and -e in engine order, -a in reverse engine order, -D for a service that went', () => {
    const before = installedFresh(renderIpvs(serviceModel([servicePort({ scheduler: 'wrr', backends: [at(1, 4), at(3, 2), at(5, 6), at(6)] }), servicePort({ name: 'gone', clusterIPs: ['10.96.0.11'], scheduler: 'rr', backends: [at(9)] })])).services);
    const plan = planIpvsSync(before, renderIpvs(serviceModel([servicePort({ scheduler: 'wrr', backends: [at(1, 3), at(2, 2), at(5, 7), at(7, 1)] })])).services);
    expect(plan.lines).toEqual([
      '-D -t 10.96.0.11:80',
      '-d -t 10.96.0.10:80 -r 10.0.0.3:8080',
      '-d -t 10.96.0.10:80 -r 10.0.0.6:8080',
      '-e -t 10.96.0.10:80 -r 10.0.0.1:8080 -m -w 3',
      '-e -t 10.96.0.10:80 -r 10.0.0.5:8080 -m -w 7',
      '-a -t 10.96.0.10:80 -r 10.0.0.7:8080 -m -w 1',
      '-a -t 10.96.0.10:80 -r 10.0.0.2:8080 -m -w 2',
    ]);
  });

  it('a scheduler change recreates the service; a flag or persistence change edits it', () => {
    const sp = (scheduler: SchedulerName, fallback: boolean, affinitySeconds?: number): ServiceModel =>
      serviceModel([servicePort({ scheduler, flags: { port: false, fallback }, backends: [at(1), at(2)], ...(affinitySeconds ? { affinitySeconds } : {}) })]);
    const sh = installedFresh(renderIpvs(sp('sh', false)).services);
    expect(planIpvsSync(sh, renderIpvs(sp('sh', true, 60)).services).lines).toEqual(['-E -t 10.96.0.10:80 -s sh -b sh-fallback -p 60']);
    expect(planIpvsSync(sh, renderIpvs(sp('mh', false)).services).lines).toEqual([
      '-D -t 10.96.0.10:80',
      '-A -t 10.96.0.10:80 -s mh',
      '-a -t 10.96.0.10:80 -r 10.0.0.2:8080 -m -w 1',
      '-a -t 10.96.0.10:80 -r 10.0.0.1:8080 -m -w 1',
    ]);
    expect(planIpvsSync(sh, renderIpvs(sp('sh', false)).services).lines).toEqual([]);
  });
});

describe('IpvsApplier: full sync first, then partial syncs that keep the kernel state', () => {
  it('first sync rebuilds its family; later ones send only the changes; a failure makes the next one full', async () => {
    const kernel = new KernelIpvs();
    const calls: string[] = [];
    const inner = kernelRunner(kernel, calls);
    let refuse = false;
    const runner: typeof inner = {
      run: async (cmd, args, input) => (refuse && cmd === 'ipvsadm-restore' ? ((refuse = false), { code: 1, stdout: '', stderr: 'Memory allocation problem' }) : inner.run(cmd, args, input)),
    };
    const applier = new IpvsApplier({ runner, conntrackCleanup: false });
    // A leftover of this family is deleted; the other family's service is not touched.
    kernel.restore('-A -t 10.96.0.99:80 -s rr\n-A -t [fd00::99]:80 -s rr\n');
    const first = await applier.sync(rrModel(at(1), at(3), at(5)));
    expect([first.full, calls.includes('ipvsadm -Sn')]).toEqual([true, true]);
    expect([...kernel.services.keys()]).toEqual(['-t [fd00::99]:80', '-t 10.96.0.10:80']);
    const svc = kernel.services.get('-t 10.96.0.10:80')!;
    svc.schedule({ client: CLIENTS[0]!, clientPort: 1, vip: parseAddress('10.96.0.10') });
    calls.length = 0;
    const second = await applier.sync(rrModel(at(1), at(2), at(3), at(5)));
    // Partial: the kernel is read (drift check), and only the one -a is sent.
    expect([second.full, calls.includes('ipvsadm -Sn'), second.repaired]).toEqual([false, true, undefined]);
    expect(second.bytes).toBeLessThan(first.bytes);
    // The same kernel object, its rr position kept: .3 .5 .2 .1 as in issue 17.
    expect(kernel.services.get('-t 10.96.0.10:80')).toBe(svc);
    const picks = Array.from({ length: 4 }, () => svc.schedule({ client: CLIENTS[0]!, clientPort: 1, vip: parseAddress('10.96.0.10') }).dest!.id);
    expect(picks).toEqual(['10.0.0.3:8080', '10.0.0.5:8080', '10.0.0.2:8080', '10.0.0.1:8080']);
    refuse = true;
    await expect(applier.sync(rrModel(at(1), at(2)))).rejects.toThrow(/Memory allocation problem/);
    expect((await applier.sync(rrModel(at(1), at(2)))).full).toBe(true);
    expect(order(kernel.services.get('-t 10.96.0.10:80'))).toBe('10.0.0.1:8080 10.0.0.2:8080');
  });
});

describe('parseIpvsSave', () => {
  it("reads ipvsadm -Sn's lines (sorted, with persistence, flags, UDP, IPv6) per family, as sets", () => {
    const text = [
      '-A -t 10.96.0.10:80 -s rr -p 10800',
      '-a -t 10.96.0.10:80 -r 10.0.0.1:8080 -m -w 1',
      '-a -t 10.96.0.10:80 -r 10.0.0.2:8080 -m -w 3 -x 0 -y 0',
      '-A -u 10.96.0.10:53 -s sh -b sh-port,sh-fallback',
      '-a -u 10.96.0.10:53 -r 10.0.0.9:53 -m -w 0',
      '-A -t [fd00::10]:80 -s wrr',
      '-a -t [fd00::10]:80 -r [fd00::1]:8080 -m -w 2',
    ].join('\n') + '\n';
    const four = parseIpvsSave(text, 4);
    expect([...four.keys()]).toEqual(['-t 10.96.0.10:80', '-u 10.96.0.10:53']);
    expect(four.get('-t 10.96.0.10:80')).toEqual({ scheduler: 'rr', servers: new Map([['10.0.0.1:8080', 1], ['10.0.0.2:8080', 3]]) });
    expect(four.get('-u 10.96.0.10:53')).toEqual({ scheduler: 'sh', servers: new Map([['10.0.0.9:53', 0]]) });
    expect(parseIpvsSave(text, 6)).toEqual(new Map([['-t [fd00::10]:80', { scheduler: 'wrr', servers: new Map([['[fd00::1]:8080', 2]]) }]]));
  });
});

describe('IpvsApplier: each partial sync puts right what was changed behind its back, and only that', () => {
  it('rebuilds a service whose real servers or scheduler were edited, restores a deleted one, deletes a foreign one; the rest keep their state', async () => {
    const kernel = new KernelIpvs();
    const calls: string[] = [];
    const applier = new IpvsApplier({ runner: kernelRunner(kernel, calls), conntrackCleanup: false });
    const model = serviceModel([
      servicePort({ scheduler: 'rr', backends: [at(1), at(2), at(3)] }),
      servicePort({ name: 'edited', clusterIPs: ['10.96.0.11'], scheduler: 'rr', backends: [at(4), at(5)] }),
      servicePort({ name: 'rescheduled', clusterIPs: ['10.96.0.12'], scheduler: 'rr', backends: [at(6)] }),
      servicePort({ name: 'deleted', clusterIPs: ['10.96.0.13'], scheduler: 'rr', backends: [at(7)] }),
    ]);
    await applier.sync(model);
    const untouched = kernel.services.get('-t 10.96.0.10:80')!;
    untouched.schedule({ client: CLIENTS[0]!, clientPort: 1, vip: parseAddress('10.96.0.10') });
    // An administrator: a weight edited, a real server removed, a scheduler swapped, a service deleted, one added.
    kernel.restore([
      '-e -t 10.96.0.11:80 -r 10.0.0.4:8080 -m -w 5', '-d -t 10.96.0.11:80 -r 10.0.0.5:8080',
      '-D -t 10.96.0.12:80', '-A -t 10.96.0.12:80 -s wrr', '-a -t 10.96.0.12:80 -r 10.0.0.6:8080 -m -w 1',
      '-D -t 10.96.0.13:80', '-A -t 10.96.0.99:80 -s rr', '-A -t [fd00::99]:80 -s rr',
    ].join('\n'));
    calls.length = 0;
    const r = await applier.sync(model);
    expect([r.full, r.repaired]).toEqual([false, 4]);
    expect([...kernel.services.keys()].sort()).toEqual(['-t 10.96.0.10:80', '-t 10.96.0.11:80', '-t 10.96.0.12:80', '-t 10.96.0.13:80', '-t [fd00::99]:80']);
    expect(kernel.save()).toContain('-A -t 10.96.0.12:80 -s rr\n');
    expect(order(kernel.services.get('-t 10.96.0.11:80'))).toBe('10.0.0.4:8080 10.0.0.5:8080');
    expect(kernel.save()).toContain('-a -t 10.96.0.11:80 -r 10.0.0.4:8080 -m -w 1\n');
    // The service nobody touched is the same kernel object, its rr position kept.
    expect(kernel.services.get('-t 10.96.0.10:80')).toBe(untouched);
    expect(untouched.schedule({ client: CLIENTS[0]!, clientPort: 1, vip: parseAddress('10.96.0.10') }).dest!.id).toBe('10.0.0.2:8080');
    // Nothing changed since: the next sync sends nothing.
    calls.length = 0;
    const quiet = await applier.sync(model);
    expect([quiet.repaired, calls.some((c) => c.startsWith('ipvsadm-restore'))]).toEqual([undefined, false]);
  });
});

/** Steps of random model changes (weights, removals, additions; scheduler changes now and then). */
const arbSteps = (scheduler: SchedulerName) =>
  fc.record({
    backends: arbBackends(6),
    ops: fc.array(arbOp(6, false, true).filter((op): op is Extract<Op, { kind: 'swap' | 'reschedule' }> => op.kind === 'swap' || (op.kind === 'reschedule' && op.scheduler !== 'random')), { minLength: 1, maxLength: 8 }),
    scheduler: fc.constant(scheduler),
  });

describe('the exporter, the kernel and the reference agree after every kind of change', () => {
  it.each(['rr', 'wrr', 'lc', 'dh', 'sh', 'mh'] as SchedulerName[])('%s: lists, weights, last_weight and picks of every virtual service', async (scheduler) => {
    await fc.assert(
      fc.asyncProperty(arbSteps(scheduler), async ({ backends: start, ops }) => {
        const kernel = new KernelIpvs();
        const appliers = [4, 6].map((family) => new IpvsApplier({ runner: kernelRunner(kernel), rules: { family: family as 4 | 6 }, conntrackCleanup: false }));
        const reference = new Map<string, { sp: ModelServicePort; vss: Map<string, RefVirtualService> }>();
        const rng = new XorShift32(1);
        let sched = { scheduler, flags: { port: false, fallback: false }, affinitySeconds: undefined, entries: true };
        let backends = start.map((b) => ({ ...b, cluster: true, external: true }));
        for (let step = 0; step <= ops.length; step++) {
          const op = ops[step - 1];
          if (op?.kind === 'reschedule') sched = { ...sched, scheduler: op.scheduler, flags: op.flags };
          if (op?.kind === 'swap') {
            for (const { backend, weight } of op.edits) {
              const { ip, port } = BACKEND_POOL[backend]!;
              backends = backends.filter((b) => b.ip !== ip || b.port !== port);
              if (weight !== null) backends.push({ ip, port, weight, cluster: true, external: true });
            }
          }
          const model = scenarioModel(sched, backends);
          for (const a of appliers) await a.sync(model);
          for (const sp of model.servicePorts) {
            const key = `${servicePortKey(sp)}/${sp.protocol}`;
            const vss = syncServices(sp, model.nodeIPs, reference.get(key), rng);
            reference.set(key, { sp, vss });
            const proto = sp.protocol === 'TCP' ? '-t' : '-u';
            for (const [vs, ref] of vss) {
              const svc = kernel.services.get(`${proto} ${vs}`);
              const state = (s: RefVirtualService | undefined) => (s?.list ?? []).map((d) => `${d.id}/${d.weight}/${d.lastWeight}`).join(' ');
              expect(state(svc), `step ${step} ${proto} ${vs}`).toBe(state(ref));
              for (const client of CLIENTS.slice(0, 3)) {
                const packet = { client, clientPort: 40000 + step, vip: parseAddress(vs.replace(/^\[?([^\]]*?)\]?:\d+$/, '$1')) };
                expect(svc?.schedule(packet).dest?.id).toBe(ref.schedule(packet).dest?.id);
              }
            }
          }
        }
      }),
      { numRuns: scheduler === 'mh' ? 6 : 15, seed: 20261207, endOnFailure: true },
    );
  });
});
