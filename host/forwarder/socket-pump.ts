/**
 * Byte pumping between two sockets with backpressure and half-close.
 *
 * Short exchanges (requests, handshakes) use plain 'data' events. A direction that turns out to be
 * bulk (more than BULK_THRESHOLD bytes) switches to reading into its own reused 256 KiB buffer —
 * Node's `onread` mode (net.Socket option `onread: { buffer, callback }`): no 64 KiB allocation
 * per read, a quarter of the read syscalls, far less GC. On loopback iperf3 this took the
 * forwarder from ~1.1-1.7 s of CPU per GB to ~0.55-0.7 s (HAProxy 2.6, one thread: ~0.6-1.0 s).
 * Short connections never pin a buffer, and at most MAX_BULK_BUFFERS directions hold one at a
 * time: a buffer stays with its socket until it closes, so without a cap every long-lived
 * connection that ever carried 256 KiB kept 2 × 256 KiB (measured while looking into the soak's
 * RSS, issue 14: 1,000 such idle connections held +500 MiB of external memory, +300 MiB RSS; up
 * to 5 GiB at 10,000). Reading pauses while a write
 * still references the buffer and resumes when it completes, so the buffer is never overwritten
 * under a pending write.
 *
 * Node exposes `onread` only when it creates the socket; accepted sockets get the same mode
 * through the same internal slots (`kBuffer`, `kBufferCb`, found by description on a probe socket)
 * plus `handle.useUserBuffer`, exactly what the constructor does. When those are not there (another
 * Node version), the direction simply stays on 'data' events.
 */
import net from 'node:net';

/** Bytes a direction carries before it gets its own reused read buffer. */
const BULK_THRESHOLD = 256 * 1024;
/** Size of a bulk direction's read buffer (Node's default read size is 64 KiB). */
const BULK_BUFFER = 256 * 1024;
/**
 * Directions that may hold a reused read buffer at once (32 MiB in all). A few streams at a time
 * saturate the cores this runs on; past the cap, bulk directions stay on 'data' events until a
 * buffer is freed by its socket closing.
 */
export const MAX_BULK_BUFFERS = 128;

interface UserBufferSlots {
  readonly buffer: symbol;
  readonly callback: symbol;
}

/** The internal symbols Socket uses for `onread`, or null when this Node lays them out differently. */
const slots: UserBufferSlots | null = (() => {
  // (@types/node lists `onread` for net.connect only; the Socket constructor takes it too.)
  const probe = new net.Socket({ onread: { buffer: Buffer.alloc(1), callback: () => true } } as net.SocketConstructorOpts);
  const syms = Object.getOwnPropertySymbols(probe);
  const buffer = syms.find((s) => s.description === 'kBuffer');
  const callback = syms.find((s) => s.description === 'kBufferCb');
  probe.destroy();
  return buffer && callback ? { buffer, callback } : null;
})();

/** Whether accepted and connected sockets can switch to a reused read buffer on this Node. */
export const userBuffersSupported = slots !== null;

/** Directions that switched to a reused read buffer, and those holding one now (for tests and diagnostics). */
export const pumpStats = { bulkSwitches: 0, bulkBuffersHeld: 0 };

type Handle = { useUserBuffer?: (buf: Uint8Array) => void; reading?: boolean };

/**
 * Copies `from` into `to` until `from` ends, then ends `to` (half-close). `from` may be paused or
 * hold bytes read before the pump started (a client read while its backend was connecting):
 * pumping resumes it and those bytes go first. `onTraffic` runs for every read
 * (keep it cheap: it is on the byte path).
 */
export function pump(from: net.Socket, to: net.Socket, onTraffic?: () => void): void {
  let carried = 0;
  // The 'drain' listener is added at the first backpressure, not per direction up front: most
  // short connections never fill a socket, and a listener is a closure plus an insert into the
  // socket's event table on every connection (issue 14). Once added it stays.
  let resumeOnDrain: (() => void) | null = null;
  const onData = (chunk: Buffer): void => {
    onTraffic?.();
    if (!to.write(chunk)) {
      from.pause();
      if (resumeOnDrain === null) {
        resumeOnDrain = () => from.resume();
        to.on('drain', resumeOnDrain);
      }
      return;
    }
    carried += chunk.length;
    if (carried > BULK_THRESHOLD && from.readableLength === 0) switchToUserBuffer(from, to, onData, onTraffic);
  };
  // An accepted socket reads from its creation: a client that sent FIN and no bytes before its
  // backend connected has already emitted 'end' (nothing was buffered), and a listener added now
  // would never hear it. Its half-close goes on at once.
  if (from.readableEnded) {
    to.end();
    return;
  }
  from.on('data', onData);
  from.on('end', () => to.end());
  from.resume();
}

function switchToUserBuffer(from: net.Socket, to: net.Socket, onData: (chunk: Buffer) => void, onTraffic?: () => void): void {
  const handle = (from as unknown as { _handle: Handle | null })._handle;
  if (!slots || !handle || typeof handle.useUserBuffer !== 'function') return;
  if (pumpStats.bulkBuffersHeld >= MAX_BULK_BUFFERS) return;
  pumpStats.bulkBuffersHeld++;
  from.once('close', () => pumpStats.bulkBuffersHeld--);
  const buffer = Buffer.allocUnsafeSlow(BULK_BUFFER);
  let waiting = false;
  const written = (): void => {
    if (waiting) {
      waiting = false;
      if (!from.destroyed) from.resume();
    }
  };
  const onRead = (n: number, buf: Buffer): boolean => {
    onTraffic?.();
    to.write(buf.subarray(0, n), written);
    // Written through to the kernel already: the buffer is free for the next read.
    if (to.writableLength === 0) return true;
    waiting = true;
    return false;
  };
  from.removeListener('data', onData);
  const s = from as unknown as Record<symbol, unknown>;
  s[slots.callback] = onRead;
  s[slots.buffer] = buffer;
  handle.useUserBuffer(buffer);
  pumpStats.bulkSwitches++;
}
