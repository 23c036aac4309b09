import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { pump, pumpStats, userBuffersSupported } from '../../host/forwarder/socket-pump.js';

/** A loopback socket pair: [client end, accepted end]. */
async function pair(port: number): Promise<[net.Socket, net.Socket, net.Server]> {
  const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true });
  await new Promise<void>((r) => server.listen(port, '127.245.9.1', () => r()));
  const accepted = new Promise<net.Socket>((r) => server.once('connection', r));
  const client = net.connect({ host: '127.245.9.1', port, allowHalfOpen: true });
  return [client, await accepted, server];
}

describe('pump', () => {
  it('finds Node\'s onread slots on this Node version', () => {
    expect(userBuffersSupported).toBe(true);
  });

  it('copies a bulk stream byte-exact into a slow reader, switching to a reused buffer, then half-closes', async () => {
    const [a, aPeer, s1] = await pair(7801);
    const [b, bPeer, s2] = await pair(7802);
    // a → aPeer ==pump==> bPeer → b ; b reads slowly to force backpressure.
    pump(aPeer, bPeer);
    const data = randomBytes(8 * 1024 * 1024);
    const before = pumpStats.bulkSwitches;
    const got: Buffer[] = [];
    const done = new Promise<void>((resolve) => {
      b.on('data', (c: Buffer) => {
        got.push(c);
        if (got.length % 16 === 0) {
          b.pause();
          setTimeout(() => b.resume(), 2);
        }
      });
      b.on('end', () => resolve());
    });
    a.end(data);
    await done;
    expect(Buffer.concat(got).equals(data)).toBe(true);
    expect(pumpStats.bulkSwitches).toBe(before + 1);
    for (const s of [a, aPeer, b, bPeer]) s.destroy();
    s1.close();
    s2.close();
  });
});
