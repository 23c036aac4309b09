/**
 * Forwarder end to end on loopback (127.245.1.x backends, 127.97.1.x VIPs): how connections spread
 * over real backends with the engine's schedulers, and ClientIP affinity.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import net from 'node:net';
import type { Forwarder } from '../../host/forwarder/forwarder.js';
import { backend, model, servicePort } from '../forwarder/fixtures.js';
import { countBy, eventually, startForwarder, tallies } from './forwarder/harness.js';
import { closeAll, hostnameServer, httpGet } from './forwarder/servers.js';

const PODS = ['127.245.1.1', '127.245.1.2', '127.245.1.3'];
const names = PODS.map((_, i) => `hostnames-${i + 1}`);
let servers: Awaited<ReturnType<typeof hostnameServer>>[] = [];

beforeAll(async () => {
  servers = await Promise.all(PODS.map((ip, i) => hostnameServer(ip, 9376, names[i]!)));
});
afterAll(() => closeAll(...servers));

const bodies = (n: string): string => `<p>The host is ${n}</p>`;

async function requests(ip: string, port: number, n: number, localAddress?: string): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(await httpGet(ip, port, localAddress));
  return out;
}

describe('distribution', () => {
  let f: Forwarder;
  afterAll(() => f?.close());

  it('rr spreads 30 connections 10/10/10 in backend order', async () => {
    f = await startForwarder(model([servicePort('rr', { clusterIPs: ['127.97.1.1'], backends: PODS.map((ip) => backend(ip, 9376)) })]));
    const got = await requests('127.97.1.1', 80, 30);
    expect(got.slice(0, 3)).toEqual(names.map(bodies));
    expect(countBy(got)).toEqual(Object.fromEntries(names.map((n) => [bodies(n), 10])));
    expect(tallies(f, 'default/rr').connections).toBe(30);
    await f.close();
  });

  it('wrr follows the weights 3:2:1', async () => {
    f = await startForwarder(
      model([servicePort('wrr', { scheduler: 'wrr', clusterIPs: ['127.97.1.2'], backends: PODS.map((ip, i) => backend(ip, 9376, { weight: 3 - i })) })]),
    );
    const got = countBy(await requests('127.97.1.2', 80, 60));
    expect(got).toEqual({ [bodies(names[0]!)]: 30, [bodies(names[1]!)]: 20, [bodies(names[2]!)]: 10 });
    await f.close();
  });

  it('sh pins each client address to one backend and spreads clients', async () => {
    f = await startForwarder(model([servicePort('sh', { scheduler: 'sh', clusterIPs: ['127.97.1.3'], backends: PODS.map((ip) => backend(ip, 9376)) })]));
    const seen = new Set<string>();
    for (let c = 1; c <= 12; c++) {
      const got = new Set(await requests('127.97.1.3', 80, 3, `127.245.100.${c}`));
      expect(got.size).toBe(1);
      seen.add([...got][0]!);
    }
    expect(seen.size).toBeGreaterThan(1);
    await f.close();
  });

  it('lc sends a new connection to the backend with the fewest open ones (the engine sees opens and closes)', async () => {
    f = await startForwarder(model([servicePort('lc', { scheduler: 'lc', clusterIPs: ['127.97.1.4'], backends: PODS.map((ip) => backend(ip, 9376)) })]));
    // Hold three idle keep-alive connections open: each lands on a different backend.
    const open: net.Socket[] = [];
    const firstAnswer = (s: net.Socket): Promise<string> =>
      new Promise((resolve) => {
        s.once('data', (d: Buffer) => resolve(/The host is (\S+)<\/p>/.exec(d.toString())?.[1] ?? '?'));
        s.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
      });
    const held: string[] = [];
    for (let i = 0; i < 3; i++) {
      const s = net.connect({ host: '127.97.1.4', port: 80 });
      open.push(s);
      held.push(await firstAnswer(s));
    }
    expect(new Set(held).size).toBe(3);
    // Close the one on hostnames-2; the next connection goes there (0 active, others 1).
    const i2 = held.indexOf('hostnames-2');
    open[i2]!.destroy();
    await eventually(() => tallies(f, 'default/lc').active === 2);
    expect(await httpGet('127.97.1.4', 80)).toBe(bodies('hostnames-2'));
    for (const s of open) s.destroy();
    await f.close();
  });
});

describe('ClientIP session affinity', () => {
  it('sticks to one backend per client and lets go after timeoutSeconds', async () => {
    const f = await startForwarder(
      model([
        servicePort('sticky', {
          sessionAffinity: 'ClientIP',
          affinityTimeoutSeconds: 1,
          clusterIPs: ['127.97.1.5'],
          backends: PODS.map((ip) => backend(ip, 9376)),
        }),
      ]),
    );
    try {
      const a = await requests('127.97.1.5', 80, 5, '127.245.101.1');
      expect(new Set(a).size).toBe(1);
      const b = await requests('127.97.1.5', 80, 5, '127.245.101.2');
      expect(new Set(b).size).toBe(1);
      expect(b[0]).not.toBe(a[0]);
      expect(tallies(f, 'default/sticky').viaAffinity).toBe(8);
      // After the timeout the entry is gone: the scheduler (rr) picks the next backend.
      await new Promise((r) => setTimeout(r, 1300));
      // From a port below the ephemeral range: a source port the kernel handed to one of the first
      // five connections would be that closed flow's tuple again (tcpfin, 120 s), found via Flow.
      const c = await httpGet('127.97.1.5', 80, '127.245.101.1', 20_000 + Math.floor(Math.random() * 10_000));
      expect(c).not.toBe(a[0]);
      expect(tallies(f, 'default/sticky').viaScheduler).toBe(3);
    } finally {
      await f.close();
    }
  });

  it('keeps affinity across a wall-clock step: expiry runs on the monotonic clock', async () => {
    const f = await startForwarder(
      model([
        servicePort('stepped', {
          sessionAffinity: 'ClientIP',
          affinityTimeoutSeconds: 600,
          clusterIPs: ['127.97.1.6'],
          backends: PODS.map((ip) => backend(ip, 9376)),
        }),
      ]),
    );
    const wall = Date.now();
    try {
      const before = await httpGet('127.97.1.6', 80, '127.245.102.1');
      // NTP steps the wall clock 16 minutes ahead: past the 600 s affinity timeout if the
      // forwarder's clock were Date.now(). Let the 100 ms expiry tick run a few times.
      const step = vi.spyOn(Date, 'now').mockImplementation(() => wall + 16 * 60_000);
      try {
        await new Promise((r) => setTimeout(r, 350));
        const after = await requests('127.97.1.6', 80, 3, '127.245.102.1');
        expect(new Set(after)).toEqual(new Set([before]));
        expect(tallies(f, 'default/stepped').viaAffinity).toBe(3);
      } finally {
        step.mockRestore();
      }
    } finally {
      await f.close();
    }
  });
});
