/**
 * Backpressure on 'data' events: a direction that gets no reused bulk buffer (all MAX_BULK_BUFFERS
 * held) stops reading while its reader does not read and resumes on 'drain'. The pump adds that
 * 'drain' listener at the first backpressure only (issue 14: most connections never need it), so
 * this checks both that it is added then and that no connection without backpressure gets one.
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { afterEach, expect, it } from 'vitest';
import { MAX_BULK_BUFFERS, pump, pumpStats } from '../../host/forwarder/socket-pump.js';

const HOST = '127.245.9.3';
const open: (net.Socket | net.Server)[] = [];

afterEach(() => {
  for (const s of open.splice(0)) s instanceof net.Server ? s.close() : s.destroy();
});

/** A loopback socket pair on a kernel-chosen port: [client end, accepted end]. */
async function pair(): Promise<[net.Socket, net.Socket]> {
  const server = net.createServer({ allowHalfOpen: true });
  open.push(server);
  await new Promise<void>((r) => server.listen(0, HOST, () => r()));
  const accepted = new Promise<net.Socket>((r) => server.once('connection', r));
  const client = net.connect({ host: HOST, port: (server.address() as net.AddressInfo).port, allowHalfOpen: true });
  const ends: [net.Socket, net.Socket] = [client, await accepted];
  open.push(...ends);
  return ends;
}

it('adds no drain listener to a short exchange', async () => {
  const [a, aPeer] = await pair();
  const [b, bPeer] = await pair();
  pump(aPeer, bPeer);
  const got = new Promise<Buffer>((r) => b.once('data', r));
  a.write('GET / HTTP/1.1\r\n\r\n');
  expect((await got).toString()).toBe('GET / HTTP/1.1\r\n\r\n');
  expect(bPeer.listenerCount('drain')).toBe(0);
});

it('stops reading on data events while the reader stalls, then resumes on drain, byte-exact', async () => {
  const held = pumpStats.bulkBuffersHeld;
  pumpStats.bulkBuffersHeld = MAX_BULK_BUFFERS; // no reused buffer left: this direction stays on 'data'
  try {
    const [a, aPeer] = await pair();
    const [b, bPeer] = await pair();
    const switches = pumpStats.bulkSwitches;
    pump(aPeer, bPeer);
    const data = randomBytes(48 * 1024 * 1024);
    b.pause();
    a.end(data);
    // Wait until the pipeline stalls: aPeer's read count stops moving (bounded: 10 s).
    let last = -1;
    for (let i = 0, still = 0; i < 200 && still < 4; i++) {
      await new Promise((r) => setTimeout(r, 50));
      still = aPeer.bytesRead === last ? still + 1 : 0;
      last = aPeer.bytesRead;
    }
    expect(aPeer.isPaused()).toBe(true);
    expect(bPeer.listenerCount('drain')).toBe(1);
    expect(aPeer.bytesRead).toBeLessThan(data.length / 2);
    const got: Buffer[] = [];
    const done = new Promise<void>((resolve) => {
      b.on('data', (c: Buffer) => got.push(c));
      b.on('end', () => resolve());
    });
    b.resume();
    await done;
    expect(Buffer.concat(got).equals(data)).toBe(true);
    expect(pumpStats.bulkSwitches).toBe(switches);
    expect(bPeer.listenerCount('drain')).toBe(1); // added once, however often it stalled
  } finally {
    pumpStats.bulkBuffersHeld = held;
  }
});
