/**
 * Issue 10: a long-lived TCP connection that keeps carrying data stays counted in the engine (its
 * flow is refreshed by traffic, as IPVS re-arms a connection's timer per packet), while an idle
 * one runs out at the tcp timeout. Loopback only: 127.245.7.x backends, 127.97.7.x VIPs; the
 * engine's tcp timeout is shortened to 1 s so the test takes seconds.
 */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backend, model, servicePort } from '../forwarder/fixtures.js';
import { eventually, startForwarder } from './forwarder/harness.js';
import { closeAll, echoServer } from './forwarder/servers.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('long-lived TCP connections', () => {
  let echo: Awaited<ReturnType<typeof echoServer>>;
  beforeAll(async () => {
    echo = await echoServer('127.245.7.1', 9376);
  });
  afterAll(() => closeAll(echo));

  it('a connection carrying data past the tcp timeout stays counted; an idle one runs out', async () => {
    const f = await startForwarder(
      model([servicePort('web', { clusterIPs: ['127.97.7.1'], scheduler: 'lc', backends: [backend('127.245.7.1', 9376)] })]),
      { flowRefreshMs: 200 },
      { timeouts: { tcp: 1 } },
    );
    const busy = net.connect({ host: '127.97.7.1', port: 80 });
    const idle = net.connect({ host: '127.97.7.1', port: 80 });
    busy.on('data', () => undefined);
    try {
      await eventually(() => echo.sockets.size === 2);
      await eventually(() => f.engine.counters(0)[0]!.active === 2);
      // 2.5 s of traffic every 150 ms on one connection; the other stays silent.
      for (let t = 0; t < 2500; t += 150) {
        busy.write('x');
        await sleep(150);
      }
      // The idle flow expired after 1 s (expiry runs every 100 ms); the busy one is still counted.
      expect(f.engine.counters(0)).toEqual([{ active: 1, inactive: 0 }]);
      expect(f.engine.stats().flowExpirations).toBe(1);
      expect(f.engine.stats().flows).toBe(1);
    } finally {
      busy.destroy();
      idle.destroy();
      await f.close();
    }
  });
});
