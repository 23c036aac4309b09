import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { pump, pumpStats, userBuffersSupported } from '../../host/forwarder/socket-pump.js';

/** A loopback socket pair on a port the kernel picks: [client end, accepted end]. */
async function pair(): Promise<[net.Socket, net.Socket, net.Server]> {
  const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true });
  await new Promise<void>((r) => server.listen(0, '127.245.9.1', () => r()));
  const { port } = server.address() as net.AddressInfo;
  const accepted = new Promise<net.Socket>((r) => server.once('connection', r));
  const client = net.connect({ host: '127.245.9.1', port, allowHalfOpen: true });
  return [client, await accepted, server];
}

describe('pump', () => {
  it('finds Node\'s onread slots on this Node version', () => {
    expect(userBuffersSupported).toBe(true);
  });

  it('passes on a FIN that arrived, with no bytes, before the pump started (the client ended while its backend connected)', async () => {
    // As the forwarder's listeners: no pauseOnConnect, so the accepted end reads at once.
    const server = net.createServer({ allowHalfOpen: true });
    await new Promise<void>((r) => server.listen(0, '127.245.9.1', () => r()));
    const { port } = server.address() as net.AddressInfo;
    const accepted = new Promise<net.Socket>((r) => server.once('connection', r));
    const client = net.connect({ host: '127.245.9.1', port, allowHalfOpen: true }, () => client.end());
    const early = await accepted;
    for (let i = 0; i < 100 && !early.readableEnded; i++) await new Promise((r) => setTimeout(r, 10));
    expect(early.readableEnded, 'the FIN was read before any listener').toBe(true);
    const [b, bPeer, s2] = await pair();
    const ended = new Promise<string>((resolve) => {
      b.on('end', () => resolve('end'));
      setTimeout(() => resolve('no FIN within 2 s'), 2000).unref();
    });
    b.resume();
    pump(early, bPeer);
    expect(await ended).toBe('end');
    for (const s of [client, early, b, bPeer]) s.destroy();
    server.close();
    s2.close();
  });

  it('copies a bulk stream byte-exact into a slow reader, switching to a reused buffer, then half-closes', async () => {
    const [a, aPeer, s1] = await pair();
    const [b, bPeer, s2] = await pair();
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

  it('stops reading while the reader does not read (backpressure), then delivers everything', async () => {
    const [a, aPeer, s1] = await pair();
    const [b, bPeer, s2] = await pair();
    pump(aPeer, bPeer);
    const data = randomBytes(64 * 1024 * 1024);
    // b is paused (pauseOnConnect on its server is for the accepted end; the client end is
    // paused explicitly): nothing drains bPeer beyond the kernel's socket buffers.
    b.pause();
    a.end(data);
    // Wait until the pipeline stalls: aPeer's read count stops moving (bounded: 10 s).
    let last = -1;
    for (let i = 0, still = 0; i < 200 && still < 4; i++) {
      await new Promise((r) => setTimeout(r, 50));
      still = aPeer.bytesRead === last ? still + 1 : 0;
      last = aPeer.bytesRead;
    }
    // The pump holds at most one read's worth in userspace and has stopped reading the sender.
    expect(bPeer.writableLength).toBeLessThan(1024 * 1024);
    expect(aPeer.bytesRead).toBeLessThan(data.length / 2);
    const got: Buffer[] = [];
    const done = new Promise<void>((resolve) => {
      b.on('data', (c: Buffer) => got.push(c));
      b.on('end', () => resolve());
    });
    b.resume();
    await done;
    expect(Buffer.concat(got).equals(data)).toBe(true);
    for (const s of [a, aPeer, b, bPeer]) s.destroy();
    s1.close();
    s2.close();
  });
});
