/**
 * Backpressure on 'data' events: a direction that gets no reused bulk buffer (all MAX_BULK_BUFFERS
 * held) stops reading while its reader does not read and resumes on 'drain'. The pump adds that
 * 'drain' listener at the first backpressure only (issue 14: most connections never need it), so
 * this checks both that it is added then and that no connection without backpressure gets one.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, expect, it } from 'vitest';
import { MAX_BULK_BUFFERS, pump, pumpStats } from '../../host/forwarder/socket-pump.js';
import { closeSocketPairs, readToEnd, socketPair, untilStalled } from './socket-pairs.js';

const HOST = '127.245.9.3';
const pair = () => socketPair(HOST, false);

afterEach(closeSocketPairs);

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
    await untilStalled(aPeer);
    expect(aPeer.isPaused()).toBe(true);
    expect(bPeer.listenerCount('drain')).toBe(1);
    expect(aPeer.bytesRead).toBeLessThan(data.length / 2);
    expect((await readToEnd(b)).equals(data)).toBe(true);
    expect(pumpStats.bulkSwitches).toBe(switches);
    expect(bPeer.listenerCount('drain')).toBe(1); // added once, however often it stalled
  } finally {
    pumpStats.bulkBuffersHeld = held;
  }
});
