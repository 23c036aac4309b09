/**
 * `--tcp-idle-timeout`: a proxied connection with no traffic either way for that long is ended on
 * both sides; one that keeps talking stays open. Loopback (127.245.14.x backend, 127.97.14.x VIP).
 */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backend, model, servicePort } from '../forwarder/fixtures.js';
import { eventually, startForwarder } from './forwarder/harness.js';
import { closeAll, echoServer } from './forwarder/servers.js';

const IDLE_MS = 300;

function open(): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.97.14.1', port: 7000 });
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

function echo(s: net.Socket, text: string): Promise<string> {
  return new Promise((resolve) => {
    s.once('data', (d: Buffer) => resolve(d.toString()));
    s.write(text);
  });
}

describe('TCP idle timeout', () => {
  let server: Awaited<ReturnType<typeof echoServer>>;
  beforeAll(async () => {
    server = await echoServer('127.245.14.1', 7000);
  });
  afterAll(() => closeAll(server));

  it('ends an idle connection on both sides and keeps a talking one open', async () => {
    const f = await startForwarder(model([servicePort('echo', { port: 7000, clusterIPs: ['127.97.14.1'], backends: [backend('127.245.14.1', 7000)] })]), { tcpIdleTimeoutMs: IDLE_MS });
    const idle = await open();
    const talking = await open();
    try {
      expect(await echo(idle, 'a')).toBe('a');
      const quietSince = performance.now();
      const closed = new Promise<number>((resolve) => idle.once('close', () => resolve(performance.now() - quietSince)));
      // The talking one sends well within the timeout, for more than twice the timeout.
      for (let i = 0; i < 8; i++) {
        expect(await echo(talking, `t${i}`)).toBe(`t${i}`);
        await new Promise((r) => setTimeout(r, IDLE_MS / 3));
      }
      const after = await closed;
      expect(after).toBeGreaterThanOrEqual(IDLE_MS - 20);
      expect(talking.destroyed).toBe(false);
      await eventually(() => server.sockets.size === 1); // the idle one's backend side is gone too
      expect(f.openConnections).toBe(1);
    } finally {
      idle.destroy();
      talking.destroy();
      await f.close();
    }
  });
});
