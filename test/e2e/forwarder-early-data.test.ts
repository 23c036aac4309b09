/**
 * Bytes a client sends (and its half-close) before any backend has answered reach the backend
 * that answers, also after a refused first choice and a retry: the forwarder reads a client from
 * accept on and holds those bytes in the client socket until the pump starts (issue 14).
 * Loopback: nothing listens on 127.245.14.20 (refused), an echo server on 127.245.14.21.
 */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backend, model, servicePort } from '../forwarder/fixtures.js';
import { startForwarder, tallies } from './forwarder/harness.js';
import { closeAll, echoServer } from './forwarder/servers.js';

/** Connects, writes `payload` and half-closes at once; resolves with everything read back until EOF. */
function sendAndClose(ip: string, port: number, payload: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const s = net.connect({ host: ip, port, allowHalfOpen: true });
    s.once('connect', () => s.end(payload));
    s.on('data', (c: Buffer) => chunks.push(c));
    s.once('end', () => {
      s.destroy();
      resolve(Buffer.concat(chunks));
    });
    s.once('error', reject);
  });
}

describe('client bytes sent before the backend answers', () => {
  let echo: Awaited<ReturnType<typeof echoServer>>;
  beforeAll(async () => {
    echo = await echoServer('127.245.14.21', 7000);
  });
  afterAll(() => closeAll(echo));

  it('arrive with the half-close at the backend that answers, after a retry too', async () => {
    const sp = servicePort('early', { port: 7000, clusterIPs: ['127.97.14.2'], backends: [backend('127.245.14.20', 7000), backend('127.245.14.21', 7000)] });
    const f = await startForwarder(model([sp]), { ejectMs: 0 });
    try {
      // 100 KiB: more than a socket's readable highWaterMark, so reading the client stops and
      // resumes while the connects are in flight.
      const payload = Buffer.alloc(100 * 1024, 7);
      for (let i = 0; i < 6; i++) {
        const back = await sendAndClose('127.97.14.2', 7000, payload);
        expect(back.equals(payload)).toBe(true);
      }
      // rr alternates: three of the six first tried the refused backend and were retried.
      expect(tallies(f, 'default/early')).toMatchObject({ connections: 6, retries: 3, connectFailures: 3, rejectUnreachable: 0 });
    } finally {
      await f.close();
    }
  });
});
