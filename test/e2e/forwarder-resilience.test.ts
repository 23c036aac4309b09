/**
 * Forwarder end to end on loopback (127.245.2.x backends, 127.97.2.x VIPs): backends that die,
 * endpoints that go away, Services that change under load, and Services that cannot be served.
 */
import http from 'node:http';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backend, model, servicePort } from '../forwarder/fixtures.js';
import { countBy, eventually, startForwarder, tallies } from './forwarder/harness.js';
import { blackholeServer, closeAll, connectOutcome, echoServer, hostnameServer, httpGet } from './forwarder/servers.js';

describe('backend failures', () => {
  const PODS = ['127.245.2.1', '127.245.2.2', '127.245.2.3'];
  let servers: Awaited<ReturnType<typeof hostnameServer>>[] = [];
  beforeAll(async () => {
    servers = await Promise.all(PODS.map((ip, i) => hostnameServer(ip, 9376, `hostnames-${i + 1}`)));
  });
  afterAll(() => closeAll(...servers));

  it('retries a killed backend on another one, counts it, and stops sending new connections there', async () => {
    const f = await startForwarder(model([servicePort('web', { clusterIPs: ['127.97.2.1'], backends: PODS.map((ip) => backend(ip, 9376)) })]), { ejectMs: 60_000 });
    try {
      for (let i = 0; i < 6; i++) await httpGet('127.97.2.1', 80);
      await servers[1]!.stop();
      const after: string[] = [];
      for (let i = 0; i < 12; i++) after.push(await httpGet('127.97.2.1', 80));
      expect(countBy(after)).toEqual({ '<p>The host is hostnames-1</p>': 6, '<p>The host is hostnames-3</p>': 6 });
      const t = tallies(f, 'default/web');
      expect(t.retries).toBe(1);
      expect(t.connectFailures).toBe(1); // ejected after the first failure: never tried again
      expect(t.rejectUnreachable).toBe(0);
    } finally {
      await f.close();
      servers[1] = await hostnameServer(PODS[1]!, 9376, 'hostnames-2');
    }
  });

  it('moves a retried connection’s engine flow to the backend that answered, so lc counts it there', async () => {
    // Nothing listens on 127.245.2.50: refused. lc with both idle picks it first (engine order).
    const echo = await echoServer('127.245.2.51', 9376);
    const f = await startForwarder(
      model([servicePort('lc', { clusterIPs: ['127.97.2.12'], scheduler: 'lc', backends: [backend('127.245.2.50', 9376), backend('127.245.2.51', 9376)] })]),
      { ejectMs: 0 },
    );
    const held = net.connect({ host: '127.97.2.12', port: 80 });
    try {
      await eventually(() => echo.sockets.size === 1);
      expect(tallies(f, 'default/lc')).toMatchObject({ retries: 1, connectFailures: 1 });
      await eventually(() => f.engine.counters(0)[1]!.active === 1);
      expect(f.engine.counters(0)).toEqual([{ active: 0, inactive: 0 }, { active: 1, inactive: 0 }]);
    } finally {
      held.destroy();
      await f.close();
      await echo.stop();
    }
  });

  it('retries a backend whose connect times out on another one, and counts it on /metrics', async () => {
    const hole = await blackholeServer('127.245.2.40', 9376);
    const f = await startForwarder(
      model([servicePort('slow', { clusterIPs: ['127.97.2.11'], backends: [backend('127.245.2.40', 9376), backend(PODS[0]!, 9376)] })]),
      { connectTimeoutMs: 300, ejectMs: 60_000 },
    );
    try {
      // rr picks the black hole first: the connect times out, the retry reaches hostnames-1.
      expect(await httpGet('127.97.2.11', 80)).toBe('<p>The host is hostnames-1</p>');
      // Ejected now: the next connections go straight to hostnames-1.
      expect(await httpGet('127.97.2.11', 80)).toBe('<p>The host is hostnames-1</p>');
      expect(await httpGet('127.97.2.11', 80)).toBe('<p>The host is hostnames-1</p>');
      expect(tallies(f, 'default/slow')).toMatchObject({ connections: 3, retries: 1, connectFailures: 1, rejectUnreachable: 0 });
      const ops = await f.serveOperations('127.0.0.1:0', null);
      const text = await new Promise<string>((resolve, reject) => {
        http.get(`http://${ops.metrics}/metrics`, (r) => {
          let body = '';
          r.setEncoding('utf8');
          r.on('data', (c: string) => (body += c));
          r.on('end', () => resolve(body));
        }).on('error', reject);
      });
      expect(text).toContain('vipwasm_forwarder_connect_retries_total{service_port="default/slow",protocol="TCP"} 1\n');
      expect(text).toContain('vipwasm_forwarder_connect_failures_total{service_port="default/slow",protocol="TCP"} 1\n');
    } finally {
      await f.close();
      await hole.stop();
    }
  });

  it('resets the client when every retry fails (--connect-retries 0)', async () => {
    const f = await startForwarder(
      model([servicePort('dead', { clusterIPs: ['127.97.2.2'], backends: [backend('127.245.2.0', 9376), backend(PODS[0]!, 9376)] })]),
      { connectRetries: 0, ejectMs: 0 },
    );
    try {
      expect(await connectOutcome('127.97.2.2', 80, 2000)).toBe('reset');
      expect(tallies(f, 'default/dead')).toMatchObject({ connectFailures: 1, retries: 0, rejectUnreachable: 1 });
    } finally {
      await f.close();
    }
  });
});

describe('updates', () => {
  const ECHO = ['127.245.2.11', '127.245.2.12'];
  let echoes: Awaited<ReturnType<typeof echoServer>>[] = [];
  beforeAll(async () => {
    echoes = await Promise.all(ECHO.map((ip) => echoServer(ip, 7000)));
  });
  afterAll(() => closeAll(...echoes));

  const echoSvc = (ips: string[]) => model([servicePort('echo', { port: 7000, clusterIPs: ['127.97.2.3'], backends: ips.map((ip) => backend(ip, 7000)) })]);

  it('keeps an established connection flowing after its endpoint is removed; new ones avoid it', async () => {
    const f = await startForwarder(echoSvc(ECHO));
    const s = net.connect({ host: '127.97.2.3', port: 7000 });
    try {
      const ask = (text: string): Promise<string> =>
        new Promise((resolve) => {
          s.once('data', (d: Buffer) => resolve(d.toString()));
          s.write(text);
        });
      expect(await ask('before')).toBe('before');
      expect(echoes[0]!.sockets.size).toBe(1); // rr: the first connection went to ECHO[0]
      await f.sync(echoSvc([ECHO[1]!]));
      expect(await ask('after the endpoint was removed')).toBe('after the endpoint was removed');
      const acceptedBefore = echoes[1]!.accepted;
      for (let i = 0; i < 3; i++) {
        const c = net.connect({ host: '127.97.2.3', port: 7000 });
        await new Promise((r) => c.once('connect', r));
        c.destroy();
      }
      await eventually(() => echoes[1]!.accepted === acceptedBefore + 3);
      expect(echoes[0]!.accepted).toBe(1);
    } finally {
      s.destroy();
      await f.close();
    }
  });

  it('resets no connection while the Service changes under load', async () => {
    const pods = ['127.245.2.21', '127.245.2.22', '127.245.2.23'];
    const web = await Promise.all(pods.map((ip, i) => hostnameServer(ip, 9376, `pod-${i}`)));
    const variants = [
      [servicePort('busy', { clusterIPs: ['127.97.2.4'], backends: pods.map((ip) => backend(ip, 9376)) })],
      [servicePort('busy', { clusterIPs: ['127.97.2.4'], backends: pods.slice(1).map((ip) => backend(ip, 9376)) })],
      [servicePort('busy', { scheduler: 'wrr', clusterIPs: ['127.97.2.4'], externalIPs: ['127.97.2.5'], backends: pods.map((ip, i) => backend(ip, 9376, { weight: i + 1 })) })],
      [
        servicePort('busy', { scheduler: 'lc', clusterIPs: ['127.97.2.4'], backends: pods.slice(0, 2).map((ip) => backend(ip, 9376)) }),
        servicePort('other', { clusterIPs: ['127.97.2.6'], backends: [backend(pods[2]!, 9376)] }),
      ],
    ];
    const f = await startForwarder(model(variants[0]!));
    let ok = 0;
    const errors: string[] = [];
    let running = true;
    const worker = async (): Promise<void> => {
      while (running) {
        try {
          const body = await httpGet('127.97.2.4', 80);
          if (body.startsWith('<p>The host is pod-')) ok++;
          else errors.push(body);
        } catch (err) {
          errors.push((err as Error).message);
        }
      }
    };
    try {
      const workers = Array.from({ length: 16 }, worker);
      // At least 12 changes, and keep changing until 100 requests went through (slow machines).
      for (let i = 0; i < 500 && (i < 12 || ok < 100); i++) {
        await new Promise((r) => setTimeout(r, 60));
        await f.sync(model(variants[(i + 1) % variants.length]!));
      }
      running = false;
      await Promise.all(workers);
      expect(errors).toEqual([]);
      expect(ok).toBeGreaterThan(100);
    } finally {
      running = false;
      await f.close();
      await closeAll(...web);
    }
  });

  it('adds and removes listeners without touching the others', async () => {
    const a = servicePort('a', { port: 7000, clusterIPs: ['127.97.2.7'], backends: [backend(ECHO[0]!, 7000)] });
    const b = servicePort('b', { port: 7000, clusterIPs: ['127.97.2.8'], backends: [backend(ECHO[1]!, 7000)] });
    const f = await startForwarder(model([a, b]));
    try {
      expect(f.boundListeners().sort()).toEqual(['tcp/127.97.2.7:7000', 'tcp/127.97.2.8:7000']);
      const held = net.connect({ host: '127.97.2.8', port: 7000 });
      await new Promise((r) => held.once('connect', r));
      await f.sync(model([a]));
      expect(f.boundListeners()).toEqual(['tcp/127.97.2.7:7000']);
      expect(await connectOutcome('127.97.2.8', 7000)).toBe('refused');
      const echoed = await new Promise<string>((resolve) => {
        held.once('data', (d: Buffer) => resolve(d.toString()));
        held.write('still here');
      });
      expect(echoed).toBe('still here');
      held.destroy();
    } finally {
      await f.close();
    }
  });
});

describe('Services that cannot be served', () => {
  it('rejects at once (TCP reset) when a Service has no endpoints', async () => {
    const f = await startForwarder(model([servicePort('empty', { clusterIPs: ['127.97.2.9'], backends: [] })]));
    try {
      const t0 = Date.now();
      expect(await connectOutcome('127.97.2.9', 80, 3000)).toBe('reset');
      expect(Date.now() - t0).toBeLessThan(1000);
      expect(tallies(f, 'default/empty').rejectNoEndpoints).toBe(1);
    } finally {
      await f.close();
    }
  });

  it('drops NodePort traffic under externalTrafficPolicy Local without a local endpoint; ClusterIP still works', async () => {
    const echo = await echoServer('127.245.2.31', 7000);
    const f = await startForwarder(
      model(
        [
          servicePort('local', {
            type: 'NodePort',
            port: 7000,
            nodePort: 30070,
            externalTrafficPolicy: 'Local',
            clusterIPs: ['127.97.2.10'],
            backends: [backend('127.245.2.31', 7000, { local: false, external: false })],
          }),
        ],
        ['127.245.2.100'],
      ),
    );
    try {
      expect(await connectOutcome('127.245.2.100', 30070, 1000)).toBe('closed');
      expect(tallies(f, 'default/local').rejectDropped).toBe(1);
      expect(await connectOutcome('127.97.2.10', 7000, 300)).toBe('open');
    } finally {
      await f.close();
      await echo.stop();
    }
  });
});
