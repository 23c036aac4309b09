/**
 * The filter's choices equal the engine's in Node (host/engine/node.ts) for the same inputs: same
 * snapshot, same seed, same connection keys and times, same open/close pattern. Requests reach the
 * filter by Service name; the Node engine is asked by ClusterIP, which is what a name resolves to.
 */
import { describe, expect, it } from 'vitest';
import { parseAddress } from '../../host/engine/address.js';
import { SCHEDULERS } from '../../host/engine/model.js';
import { loadEngine } from '../../host/engine/node.js';
import { modelFrom, NOW_NS, service, startFilter } from './fixtures.js';

const IPS = ['10.1.0.1', '10.1.0.2', '10.1.0.3', '10.1.0.4'];
const WEIGHTS = [1, 3, 2, 1];
const REQUESTS = 48;
/** Requests open at once: each new request closes the one WINDOW steps before it (lc/sed/nq see load). */
const WINDOW = 3;

function client(i: number): { ip: string; port: number } {
  return { ip: `10.0.${i % 5}.${1 + (i % 7)}`, port: 20000 + i };
}

describe.each(SCHEDULERS)('scheduler %s', (scheduler) => {
  it('gives the same backend sequence in the filter as in the Node engine', async () => {
    const model = modelFrom(service({ name: 'web', clusterIP: '10.96.0.10', ips: IPS, weights: WEIGHTS, scheduler }));
    expect(model.servicePorts[0]!.scheduler).toBe(scheduler);

    const vm = await startFilter(model);
    const fromFilter: string[] = [];
    const open: number[] = [];
    for (let i = 0; i < REQUESTS; i++) {
      const c = client(i);
      const id = vm.initializeHttpContext({ source: `${c.ip}:${c.port}`, destination: '127.0.0.1:10000' });
      vm.callOnRequestHeaders(id, [[':authority', 'web.default.svc.cluster.local:80']], true);
      fromFilter.push(vm.getRequestHeaders(id).find(([k]) => k === 'x-vipwasm-endpoint')?.[1] ?? 'none');
      open.push(id);
      if (open.length > WINDOW) vm.completeHttpContext(open.shift()!);
      vm.advance(1);
    }

    const engine = await loadEngine({ seed: 1, flowCapacity: 65536, affinityCapacity: 65536 });
    engine.load(model);
    const vip = parseAddress('10.96.0.10');
    const nowMs = Number(NOW_NS / 1_000_000n);
    const fromNode: string[] = [];
    const pending: Array<{ ip: string; port: number }> = [];
    for (let i = 0; i < REQUESTS; i++) {
      const c = client(i);
      const d = engine.connect(6, parseAddress(c.ip), c.port, vip, 80, nowMs + i);
      fromNode.push(d.backend ? `${d.backend.ip}:${d.backend.port}` : 'none');
      pending.push(c);
      if (pending.length > WINDOW) {
        const done = pending.shift()!;
        engine.close(6, parseAddress(done.ip), done.port, vip, 80, nowMs + i);
      }
    }
    expect(fromFilter).toEqual(fromNode);
    // dh hashes the destination: one ClusterIP, one backend. Every other scheduler spreads.
    if (scheduler === 'dh') expect(new Set(fromFilter).size).toBe(1);
    else expect(new Set(fromFilter).size).toBeGreaterThan(1);
    expect(fromFilter).not.toContain('none');
  });
});
