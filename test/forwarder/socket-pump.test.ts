import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { pump, pumpStats, userBuffersSupported } from '../../host/forwarder/socket-pump.js';
import { closeSocketPairs, readToEnd, socketPair, untilStalled } from './socket-pairs.js';

const HOST = '127.245.9.1';
/** As the pump's tests want it: the accepted end paused until pumped. */
const pair = () => socketPair(HOST, true);

afterEach(closeSocketPairs);

describe('pump', () => {
  it('finds Node\'s onread slots on this Node version', () => {
    expect(userBuffersSupported).toBe(true);
  });

  it('passes on a FIN that arrived, with no bytes, before the pump started (the client ended while its backend connected)', async () => {
    // As the forwarder's listeners: no pauseOnConnect, so the accepted end reads at once.
    const [client, early] = await socketPair(HOST, false);
    client.end();
    for (let i = 0; i < 100 && !early.readableEnded; i++) await new Promise((r) => setTimeout(r, 10));
    expect(early.readableEnded, 'the FIN was read before any listener').toBe(true);
    const [b, bPeer] = await pair();
    const ended = new Promise<string>((resolve) => {
      b.on('end', () => resolve('end'));
      setTimeout(() => resolve('no FIN within 2 s'), 2000).unref();
    });
    b.resume();
    pump(early, bPeer);
    expect(await ended).toBe('end');
  });

  it('copies a bulk stream byte-exact into a slow reader, switching to a reused buffer, then half-closes', async () => {
    const [a, aPeer] = await pair();
    const [b, bPeer] = await pair();
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
  });

  it('stops reading while the reader does not read (backpressure), then delivers everything', async () => {
    const [a, aPeer] = await pair();
    const [b, bPeer] = await pair();
    pump(aPeer, bPeer);
    const data = randomBytes(64 * 1024 * 1024);
    // b is paused (pauseOnConnect on its server is for the accepted end; the client end is
    // paused explicitly): nothing drains bPeer beyond the kernel's socket buffers.
    b.pause();
    a.end(data);
    await untilStalled(aPeer);
    // The pump holds at most one read's worth in userspace and has stopped reading the sender.
    expect(bPeer.writableLength).toBeLessThan(1024 * 1024);
    expect(aPeer.bytesRead).toBeLessThan(data.length / 2);
    expect((await readToEnd(b)).equals(data)).toBe(true);
  });
});
