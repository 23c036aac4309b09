/**
 * Every short direction of a thread reads into one shared buffer (socket-pump.ts, issue 14), so a
 * read must be copied out before the next read of any socket lands there. This holds one
 * direction's writes pending (its reader stalls: the chunks wait in the writable queue) while
 * another direction keeps reading into the same buffer, then checks both byte-exact: without the
 * copy, the stalled direction's queued chunks would show the other direction's bytes.
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { afterEach, expect, it } from 'vitest';
import { MAX_BULK_BUFFERS, pump, pumpStats, upstreamOnread, userBuffersSupported } from '../../host/forwarder/socket-pump.js';

const HOST = '127.245.9.4';
const open: (net.Socket | net.Server)[] = [];

afterEach(() => {
  for (const s of open.splice(0)) s instanceof net.Server ? s.close() : s.destroy();
});

/** A loopback socket pair on a kernel-chosen port: [connected end, accepted end]. */
async function pair(onread?: typeof upstreamOnread): Promise<[net.Socket, net.Socket]> {
  const server = net.createServer({ allowHalfOpen: true });
  open.push(server);
  await new Promise<void>((r) => server.listen(0, HOST, () => r()));
  const accepted = new Promise<net.Socket>((r) => server.once('connection', r));
  const port = (server.address() as net.AddressInfo).port;
  const client = net.connect({ host: HOST, port, allowHalfOpen: true, ...(onread && { onread }) });
  await new Promise((r) => client.once('connect', r));
  const ends: [net.Socket, net.Socket] = [client, await accepted];
  open.push(...ends);
  return ends;
}

/** Everything `s` receives until it ends. */
function received(s: net.Socket): Promise<Buffer> {
  const got: Buffer[] = [];
  s.on('data', (c: Buffer) => got.push(c));
  return new Promise((r) => s.once('end', () => r(Buffer.concat(got))));
}

it('copies every read out of the shared buffer: a stalled direction and a busy one stay byte-exact', async () => {
  expect(userBuffersSupported).toBe(true);
  const held = pumpStats.bulkBuffersHeld;
  pumpStats.bulkBuffersHeld = MAX_BULK_BUFFERS; // no bulk buffer: both directions stay on the shared one
  try {
    // Stalled: a → aPeer ==pump==> bPeer → b, b not reading. Busy: c's upstream end reads with the
    // forwarder's onread (as a backend socket does) ==pump==> dPeer → d.
    const [a, aPeer] = await pair();
    const [b, bPeer] = await pair();
    const [cUp, cPeer] = await pair(upstreamOnread);
    const [d, dPeer] = await pair();
    b.pause();
    pump(aPeer, bPeer);
    pump(cUp, dPeer);
    const stalledData = randomBytes(8 * 1024 * 1024);
    a.end(stalledData);
    // Until bPeer queues chunks in userspace (the kernel buffers are full).
    for (let i = 0; i < 200 && bPeer.writableLength === 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(bPeer.writableLength).toBeGreaterThan(0);
    const busyData = randomBytes(4 * 1024 * 1024);
    const busy = received(d);
    cPeer.end(busyData);
    expect((await busy).equals(busyData)).toBe(true);
    const stalled = received(b);
    b.resume();
    expect((await stalled).equals(stalledData)).toBe(true);
  } finally {
    pumpStats.bulkBuffersHeld = held;
  }
});
