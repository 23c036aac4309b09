/**
 * Reused bulk read buffers are capped: a buffer stays with its socket until it closes, so without
 * a cap every long-lived connection that once carried 256 KiB kept 2 × 256 KiB (found looking
 * into the soak's RSS, issue 14: 1,000 such idle connections held +500 MiB). Past the cap a bulk
 * direction stays on 'data' events, byte-exact; a closed socket frees its buffer for another.
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { expect, it } from 'vitest';
import { MAX_BULK_BUFFERS, pump, pumpStats } from '../../host/forwarder/socket-pump.js';

const HOST = '127.245.9.2';

/** Sockets connected to `server` one at a time: [client end, accepted end]. */
async function connectPair(server: net.Server): Promise<[net.Socket, net.Socket]> {
  const accepted = new Promise<net.Socket>((r) => server.once('connection', r));
  const client = net.connect({ host: HOST, port: (server.address() as net.AddressInfo).port });
  return [client, await accepted];
}

/** Sends `data` into `src` and resolves once `sink` received all of it, checking every byte. */
function carry(src: net.Socket, sink: net.Socket, data: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const got: Buffer[] = [];
    let n = 0;
    const onData = (c: Buffer): void => {
      got.push(c);
      n += c.length;
      if (n < data.length) return;
      sink.off('data', onData);
      if (Buffer.concat(got).equals(data)) resolve();
      else reject(new Error('bytes differ'));
    };
    sink.on('data', onData);
    sink.resume(); // an accepted end starts paused (pauseOnConnect)
    src.write(data);
  });
}

it(`holds at most ${MAX_BULK_BUFFERS} reused bulk buffers; the rest stay on data events; closing frees one`, async () => {
  const server = net.createServer({ pauseOnConnect: true });
  await new Promise<void>((r) => server.listen({ host: HOST, port: 0 }, r));
  const sockets: net.Socket[] = [];
  const held0 = pumpStats.bulkBuffersHeld;
  try {
    // One pumped direction per chain: client a → accepted aPeer ==pump==> accepted-side bPeer → client b.
    const chains: { a: net.Socket; aPeer: net.Socket; b: net.Socket }[] = [];
    for (let i = 0; i < MAX_BULK_BUFFERS + 4; i++) {
      const [a, aPeer] = await connectPair(server);
      const [bPeer, b] = await connectPair(server);
      sockets.push(a, aPeer, b, bPeer);
      pump(aPeer, bPeer);
      chains.push({ a, aPeer, b });
    }
    const data = randomBytes(320 * 1024);
    for (const c of chains) await carry(c.a, c.b, data);
    expect(pumpStats.bulkBuffersHeld - held0).toBe(MAX_BULK_BUFFERS);

    // A chain with a buffer closes: its buffer is freed, and a capped direction may take one.
    chains[0]!.aPeer.destroy();
    await new Promise((r) => chains[0]!.aPeer.once('close', r));
    expect(pumpStats.bulkBuffersHeld - held0).toBe(MAX_BULK_BUFFERS - 1);
    const last = chains[chains.length - 1]!;
    await carry(last.a, last.b, data);
    expect(pumpStats.bulkBuffersHeld - held0).toBe(MAX_BULK_BUFFERS);
  } finally {
    for (const s of sockets) s.destroy();
    await new Promise((r) => server.close(r));
  }
  await new Promise((r) => setTimeout(r, 50));
  expect(pumpStats.bulkBuffersHeld).toBe(held0);
});
