/**
 * What only one engine state shared by every worker can give (issue 14, part 2; IPVS has one
 * connection table for all CPUs): ClientIP affinity across workers, exact lc counts under
 * concurrency, and a dead worker's flows released on the leader. These need the shared engine
 * (host/engine/shared.ts, switched on in host/forwarder/workers/engine-link.ts): with an engine
 * per worker the leader holds no flows and they fail. Real sockets on 127.245.141.x (backends),
 * 127.97.141.x (Service IPs) and 127.0.141.x (clients), ports from the kernel.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EngineApi } from '../../host/engine/api.js';
import { eventually } from '../e2e/forwarder/harness.js';
import { closeAll, echoServer, hostnameServer, httpGet } from '../e2e/forwarder/servers.js';
import { backend, model, servicePort } from './fixtures.js';
import { HeldConnection, freePort, perWorker, scrape, startWorkerForwarder, workersUnsupported } from './workers-harness.js';

const unsupported = workersUnsupported();
if (unsupported) console.log(`test/forwarder/workers-shared-state.test.ts skipped: ${unsupported}`);

const WEB = ['127.245.141.1', '127.245.141.2', '127.245.141.3'];
const ECHO = ['127.245.141.4', '127.245.141.5', '127.245.141.6'];
const AFFINITY_VIP = '127.97.141.1';
const LC_VIP = '127.97.141.2';

/** Active flows per backend (`ip:port`) of service port `name`, as the leader engine counts them. */
function activeByBackend(engine: EngineApi, name: string): Map<string, number> {
  const i = engine.model.servicePorts.findIndex((sp) => sp.name === name);
  const sp = engine.model.servicePorts[i]!;
  const counters = engine.counters(i);
  return new Map(sp.backends.map((b, j) => [`${b.ip}:${b.port}`, counters[j]!.active]));
}

describe.skipIf(unsupported !== null)('one engine state for all worker threads', () => {
  let web: Awaited<ReturnType<typeof hostnameServer>>[] = [];
  let echo: Awaited<ReturnType<typeof echoServer>>[] = [];
  const portOf = (s: { address(): unknown }): number => (s.address() as { port: number }).port;
  /** Open connections each echo backend holds, by `ip:port`. */
  const seenByBackends = (): Map<string, number> => new Map(echo.map((s, i) => [`${ECHO[i]}:${portOf(s)}`, s.sockets.size]));

  beforeAll(async () => {
    web = await Promise.all(WEB.map((ip, i) => hostnameServer(ip, 0, `web-${i + 1}`)));
    echo = await Promise.all(ECHO.map((ip) => echoServer(ip, 0)));
  });
  afterAll(() => closeAll(...web, ...echo));

  it('keeps ClientIP affinity whichever worker accepts', async () => {
    const port = await freePort(AFFINITY_VIP);
    const f = await startWorkerForwarder(
      model([servicePort('web', { clusterIPs: [AFFINITY_VIP], port, sessionAffinity: 'ClientIP', backends: WEB.map((ip, i) => backend(ip, portOf(web[i]!))) })]),
    );
    try {
      const chosen: string[] = [];
      for (const client of ['127.0.141.1', '127.0.141.2', '127.0.141.3', '127.0.141.4']) {
        // One client address, many source ports: the kernel spreads them over both workers.
        const answers = new Set<string>();
        for (let i = 0; i < 12; i++) answers.add(await httpGet(AFFINITY_VIP, port, client));
        expect([...answers]).toHaveLength(1);
        chosen.push([...answers][0]!);
      }
      // One rr cursor for all: the four clients were pinned in turn.
      expect(chosen).toEqual(['web-1', 'web-2', 'web-3', 'web-1'].map((n) => `<p>The host is ${n}</p>`));
      expect(f.engine.stats().affinities).toBe(4);
      const byWorker = perWorker(await scrape(f.metricsUrl));
      for (const n of byWorker.values()) expect(n).toBeGreaterThan(0);
    } finally {
      await f.stop();
    }
  });

  it('counts lc connections exactly across workers, and 0 after the clients close', async () => {
    const port = await freePort(LC_VIP);
    const f = await startWorkerForwarder(
      model([servicePort('lc', { clusterIPs: [LC_VIP], port, scheduler: 'lc', backends: ECHO.map((ip, i) => backend(ip, portOf(echo[i]!))) })]),
    );
    const held: HeldConnection[] = [];
    try {
      for (let i = 0; i < 30; i++) {
        const c = await HeldConnection.open(LC_VIP, port);
        held.push(c);
        expect(await c.echo(randomBytes(128))).toBe(true);
      }
      const byWorker = perWorker(await scrape(f.metricsUrl));
      for (const n of byWorker.values()) expect(n).toBeGreaterThan(0);
      // lc over one set of counters: 30 connections, 10 per backend, as the backends see them.
      expect([...seenByBackends().values()]).toEqual([10, 10, 10]);
      expect(activeByBackend(f.engine, 'lc')).toEqual(seenByBackends());
      for (const c of held) c.close();
      await eventually(() => [...activeByBackend(f.engine, 'lc').values()].every((n) => n === 0), 5000);
      await eventually(() => [...seenByBackends().values()].every((n) => n === 0), 5000);
    } finally {
      for (const c of held) c.close();
      await f.stop();
    }
  });

  it('releases a dead worker\'s flows: lc counts equal the live connections again', async () => {
    const port = await freePort(LC_VIP);
    const f = await startWorkerForwarder(
      model([servicePort('lc', { clusterIPs: [LC_VIP], port, scheduler: 'lc', backends: ECHO.map((ip, i) => backend(ip, portOf(echo[i]!))) })]),
    );
    const held: HeldConnection[] = [];
    try {
      for (let i = 0; i < 24; i++) {
        const c = await HeldConnection.open(LC_VIP, port);
        held.push(c);
        expect(await c.echo(randomBytes(64))).toBe(true);
      }
      const before = perWorker(await scrape(f.metricsUrl));
      expect(before.get('1')).toBeGreaterThan(0);
      expect(activeByBackend(f.engine, 'lc')).toEqual(seenByBackends());

      f.pool.crashForTest(1);
      await eventually(() => held.filter((c) => c.ended).length === before.get('1'), 5000);
      await eventually(() => f.pool.liveWorkers().length === 2, 10_000);
      const crash = f.logs.find((l) => /worker 1 exited unexpectedly/.test(l.msg));
      expect(crash).toMatchObject({ flows: before.get('1'), closedOnEngine: before.get('1'), takenOver: 0, notRecorded: 0 });
      // The engine counts what is still open, which is what the backends hold.
      await eventually(() => [...seenByBackends().values()].reduce((a, b) => a + b, 0) === before.get('2'), 5000);
      expect(activeByBackend(f.engine, 'lc')).toEqual(seenByBackends());
      for (const c of held.filter((h) => !h.ended)) expect(await c.echo(randomBytes(64))).toBe(true);
    } finally {
      for (const c of held) c.close();
      await f.stop();
    }
  });
});
