/**
 * `vipwasm forward --workers 2` (issue 14, part 2), the parts that hold with or without a shared
 * engine state: connections spread over both workers, /metrics summed over them, a dead worker
 * replaced without touching the other's connections, ejection relayed to main, UDP. Real sockets
 * on 127.245.140.x (backends) and 127.97.140.x (Service IPs), ports from the kernel.
 */
import dgram from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../e2e/forwarder/harness.js';
import { closeAll, echoServer, tcpRoundTrip, udpAsk, udpNameServer } from '../e2e/forwarder/servers.js';
import { backend, model, servicePort } from './fixtures.js';
import { HeldConnection, freePort, perWorker, sample, scrape, startWorkerForwarder, workersUnsupported } from './workers-harness.js';

const unsupported = workersUnsupported();
if (unsupported) console.log(`test/forwarder/workers.test.ts skipped: ${unsupported}`);

const ECHO = '127.245.140.1';
const REFUSING = '127.245.140.2';
const UDP_BACKEND = '127.245.140.3';
const VIP = '127.97.140.1';
const EJECT_VIP = '127.97.140.2';
const UDP_VIP = '127.97.140.3';

describe.skipIf(unsupported !== null)('forwarder with 2 worker threads', () => {
  let echo: Awaited<ReturnType<typeof echoServer>>;
  let echoPort = 0;
  beforeAll(async () => {
    echo = await echoServer(ECHO, 0);
    echoPort = (echo.address() as { port: number }).port;
  });
  afterAll(() => closeAll(echo));

  it('spreads connections over both workers and sums their counts on /metrics', async () => {
    const port = await freePort(VIP);
    const f = await startWorkerForwarder(model([servicePort('echo', { clusterIPs: [VIP], port, backends: [backend(ECHO, echoPort)] })]));
    try {
      let sent = 0;
      for (let i = 0; i < 40; i++) {
        const payload = randomBytes(100 + i * 37);
        sent += payload.length;
        expect((await tcpRoundTrip(VIP, port, payload)).equals(payload)).toBe(true);
      }
      await eventually(async () => sample(await scrape(f.metricsUrl), 'vipwasm_forwarder_active_connections{service_port="default/echo",protocol="TCP"}') === 0);
      const text = await scrape(f.metricsUrl);
      const byWorker = perWorker(text);
      expect([...byWorker.keys()].sort()).toEqual(['1', '2']);
      // The kernel hashes each connection's 4-tuple to one worker: 40 source ports reach both.
      for (const n of byWorker.values()) expect(n).toBeGreaterThan(0);
      expect(byWorker.get('1')! + byWorker.get('2')!).toBe(40);
      expect(sample(text, 'vipwasm_forwarder_connections_total{service_port="default/echo",protocol="TCP"}')).toBe(40);
      expect(sample(text, 'vipwasm_forwarder_decisions_total{service_port="default/echo",protocol="TCP",via="scheduler"}')).toBe(40);
      expect(sample(text, 'vipwasm_forwarder_bytes_total{service_port="default/echo",protocol="TCP",direction="to_backend"}')).toBe(sent);
      expect(sample(text, 'vipwasm_forwarder_bytes_total{service_port="default/echo",protocol="TCP",direction="to_client"}')).toBe(sent);
      // Counted once, not once per worker: listeners, sync metrics, the engine's gauges.
      expect(sample(text, 'vipwasm_forwarder_listeners{protocol="TCP"}')).toBe(1);
      expect(sample(text, 'kubeproxy_sync_proxy_rules_duration_seconds_count{ip_family="IPv4"}')).toBe(1);
      expect(sample(text, 'vipwasm_engine_service_ports')).toBe(1);
      expect(sample(text, 'vipwasm_forwarder_workers')).toBe(2);
      expect(sample(text, 'vipwasm_forwarder_worker_restarts_total')).toBe(0);
      // Every decision took the shared engine's lock: connect, established and close per connection.
      expect(sample(text, 'vipwasm_engine_lock_acquisitions_total')).toBeGreaterThanOrEqual(120);
      expect(sample(text, 'vipwasm_engine_lock_contended_total')).toBeLessThanOrEqual(sample(text, 'vipwasm_engine_lock_acquisitions_total'));
      expect(text.match(/^# TYPE vipwasm_forwarder_connections_total /gm)).toHaveLength(1);
    } finally {
      await f.stop();
    }
  });

  it('restarts a worker that dies; the other worker\'s connections keep echoing byte-exact', async () => {
    const port = await freePort(VIP);
    const f = await startWorkerForwarder(model([servicePort('echo', { clusterIPs: [VIP], port, backends: [backend(ECHO, echoPort)] })]));
    const held: HeldConnection[] = [];
    try {
      for (let i = 0; i < 24; i++) held.push(await HeldConnection.open(VIP, port));
      for (const c of held) expect(await c.echo(randomBytes(512))).toBe(true);
      const before = perWorker(await scrape(f.metricsUrl));
      expect(before.get('1')).toBeGreaterThan(0);
      expect(before.get('2')).toBeGreaterThan(0);

      f.pool.crashForTest(1);
      await eventually(() => held.filter((c) => c.ended).length === before.get('1'), 5000);
      await eventually(async () => sample(await scrape(f.metricsUrl), 'vipwasm_forwarder_workers') === 2, 10_000);
      const text = await scrape(f.metricsUrl);
      expect(sample(text, 'vipwasm_forwarder_worker_restarts_total')).toBe(1);
      const crash = f.logs.find((l) => /worker 1 exited unexpectedly/.test(l.msg));
      expect(crash).toMatchObject({ worker: 1, code: 1, flows: before.get('1') });
      expect(f.logs.some((l) => l.msg === 'worker 1 replaced')).toBe(true);

      // Worker 2's connections were never touched: every one still echoes, byte for byte.
      const survivors = held.filter((c) => !c.ended);
      expect(survivors).toHaveLength(before.get('2')!);
      for (const c of survivors) expect(await c.echo(randomBytes(4096))).toBe(true);
      // And the replacement serves new connections.
      for (let i = 0; i < 10; i++) {
        const payload = randomBytes(64);
        expect((await tcpRoundTrip(VIP, port, payload)).equals(payload)).toBe(true);
      }
    } finally {
      for (const c of held) c.close();
      await f.stop();
    }
  });

  it('restarts a worker that does not ack a model in time; the model is served by all', async () => {
    const port = await freePort(VIP);
    const second = await freePort(VIP);
    const sp = servicePort('echo', { clusterIPs: [VIP], port, backends: [backend(ECHO, echoPort)] });
    const f = await startWorkerForwarder(model([sp]), 2, {}, 2000);
    try {
      f.pool.hangForTest(1, 30_000);
      const started = Date.now();
      await f.forwarder.sync(model([sp, servicePort('echo2', { clusterIPs: [VIP], port: second, backends: [backend(ECHO, echoPort)] })]));
      expect(Date.now() - started).toBeLessThan(8000);
      expect(f.logs.some((l) => l.msg === 'worker unresponsive; restarting it' && l['worker'] === 1)).toBe(true);
      await eventually(() => f.pool.liveWorkers().length === 2, 10_000);
      // Both workers (the replacement too) hold the new Service port: 20 source ports all reach it.
      for (let i = 0; i < 20; i++) {
        const payload = randomBytes(48);
        expect((await tcpRoundTrip(VIP, second, payload)).equals(payload)).toBe(true);
      }
      const byWorker = perWorker(await scrape(f.metricsUrl));
      for (const n of byWorker.values()) expect(n).toBeGreaterThan(0);
      expect(sample(await scrape(f.metricsUrl), 'vipwasm_forwarder_worker_restarts_total')).toBe(1);
    } finally {
      await f.stop();
    }
  });

  it('keeps the previous model serving on every worker when the engine refuses one', async () => {
    const port = await freePort(VIP);
    const second = await freePort(VIP);
    const sp = servicePort('echo', { clusterIPs: [VIP], port, backends: [backend(ECHO, echoPort)] });
    const f = await startWorkerForwarder(model([sp]));
    try {
      const generation = f.engine.stats().generation;
      const twice = backend(ECHO, echoPort);
      const refused = { ...servicePort('echo2', { clusterIPs: [VIP], port: second }), backends: [twice, twice], hasEndpoints: true };
      await expect(f.forwarder.sync(model([sp, refused]))).rejects.toThrow('backends[1]: 127.245.140.1');
      expect(f.engine.stats().generation).toBe(generation);
      for (let i = 0; i < 20; i++) {
        const payload = randomBytes(40);
        expect((await tcpRoundTrip(VIP, port, payload)).equals(payload)).toBe(true);
      }
      let text = await scrape(f.metricsUrl);
      expect(sample(text, 'vipwasm_sync_proxy_rules_errors_total')).toBe(1);
      for (const n of perWorker(text).values()) expect(n).toBeGreaterThan(0);
      // The next model is served under the generation number the refused one would have had.
      await f.forwarder.sync(model([sp, servicePort('echo2', { clusterIPs: [VIP], port: second, backends: [twice] })]));
      expect(f.engine.stats().generation).toBe(generation + 1);
      for (let i = 0; i < 20; i++) expect((await tcpRoundTrip(VIP, second, Buffer.from(`m${i}`))).toString()).toBe(`m${i}`);
      text = await scrape(f.metricsUrl);
      expect(sample(text, 'vipwasm_forwarder_connections_total{service_port="default/echo2",protocol="TCP"}')).toBe(20);
    } finally {
      await f.stop();
    }
  });

  it('drains every worker: stops accepting, then cuts what is still open after the grace period', async () => {
    const port = await freePort(VIP);
    const f = await startWorkerForwarder(model([servicePort('echo', { clusterIPs: [VIP], port, backends: [backend(ECHO, echoPort)] })]));
    const held: HeldConnection[] = [];
    try {
      for (let i = 0; i < 8; i++) held.push(await HeldConnection.open(VIP, port));
      for (const c of held) expect(await c.echo(Buffer.from('before drain'))).toBe(true);
      expect(await f.forwarder.drain(300)).toEqual({ aborted: 8 });
      await eventually(() => held.every((c) => c.ended), 3000);
      await expect(HeldConnection.open(VIP, port)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    } finally {
      for (const c of held) c.close();
      await f.stop();
    }
  });

  it('ejects a refusing backend once, for every worker', async () => {
    const port = await freePort(EJECT_VIP);
    const refusingPort = await freePort(REFUSING); // nothing listens there: connects are refused
    const f = await startWorkerForwarder(
      model([servicePort('eject', { clusterIPs: [EJECT_VIP], port, backends: [backend(ECHO, echoPort), backend(REFUSING, refusingPort)] })]),
      2,
      { ejectMs: 60_000 },
    );
    try {
      for (let i = 0; i < 20; i++) {
        const payload = randomBytes(32);
        expect((await tcpRoundTrip(EJECT_VIP, port, payload)).equals(payload)).toBe(true);
      }
      const ejected = f.logs.filter((l) => l.msg === 'backend ejected after failed connect');
      expect(ejected).toHaveLength(1);
      expect(ejected[0]).toMatchObject({ backend: `${REFUSING}:${refusingPort}` });
      const failures = (t: string): number => sample(t, 'vipwasm_forwarder_connect_failures_total{service_port="default/eject",protocol="TCP"}');
      const after = failures(await scrape(f.metricsUrl));
      // Each worker may have met it once before main's resync reached it; never more.
      expect(after).toBeGreaterThanOrEqual(1);
      expect(after).toBeLessThanOrEqual(2);
      for (let i = 0; i < 20; i++) await tcpRoundTrip(EJECT_VIP, port, Buffer.from('x'));
      expect(failures(await scrape(f.metricsUrl))).toBe(after);
      expect(sample(await scrape(f.metricsUrl), 'vipwasm_forwarder_connect_retries_total{service_port="default/eject",protocol="TCP"}')).toBe(after);
    } finally {
      await f.stop();
    }
  });

  it('forwards UDP through both workers, one session per client', async () => {
    const backendSocket = await udpNameServer(UDP_BACKEND, 0, 'dns-1');
    const backendPort = backendSocket.address().port;
    const port = await freePort(UDP_VIP);
    const f = await startWorkerForwarder(
      model([servicePort('dns', { clusterIPs: [UDP_VIP], port, protocol: 'UDP', backends: [backend(UDP_BACKEND, backendPort)] })]),
    );
    const clients: dgram.Socket[] = [];
    try {
      for (let i = 0; i < 16; i++) {
        const c = dgram.createSocket('udp4');
        await new Promise<void>((r) => c.bind(0, '127.0.0.1', () => r()));
        clients.push(c);
      }
      for (let round = 0; round < 3; round++) {
        for (const [i, c] of clients.entries()) expect(await udpAsk(c, UDP_VIP, port, `q${i}.${round}`, 3000)).toBe(`dns-1:q${i}.${round}`);
      }
      const text = await scrape(f.metricsUrl);
      expect(sample(text, 'vipwasm_forwarder_connections_total{service_port="default/dns",protocol="UDP"}')).toBe(16);
      expect(sample(text, 'vipwasm_forwarder_udp_sessions')).toBe(16);
      const byWorker = perWorker(text);
      for (const n of byWorker.values()) expect(n).toBeGreaterThan(0);
      expect(byWorker.get('1')! + byWorker.get('2')!).toBe(16);
    } finally {
      for (const c of clients) c.close();
      await f.stop();
      await closeAll(backendSocket);
    }
  });
});
