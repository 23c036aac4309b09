/**
 * Loopback socket pairs for the socket-pump tests, and the two waits they share: until a pumped
 * pipeline stalls under backpressure, and everything a socket reads until its end.
 */
import net from 'node:net';

const open: (net.Socket | net.Server)[] = [];

/**
 * A pair on a kernel-chosen port of `host`: [client end, accepted end]. `pauseOnConnect: false`
 * is how the forwarder's listeners accept (the accepted end reads at once).
 */
export async function socketPair(host: string, pauseOnConnect: boolean): Promise<[net.Socket, net.Socket]> {
  const server = net.createServer({ allowHalfOpen: true, pauseOnConnect });
  open.push(server);
  await new Promise<void>((r) => server.listen(0, host, () => r()));
  const accepted = new Promise<net.Socket>((r) => server.once('connection', r));
  const client = net.connect({ host, port: (server.address() as net.AddressInfo).port, allowHalfOpen: true });
  const ends: [net.Socket, net.Socket] = [client, await accepted];
  open.push(...ends);
  return ends;
}

/** Destroys every socket and closes every server made so far (afterEach). */
export function closeSocketPairs(): void {
  for (const s of open.splice(0)) s instanceof net.Server ? s.close() : s.destroy();
}

/** Waits until `sender`'s read count stops moving for 4 polls of 50 ms (bounded: 10 s). */
export async function untilStalled(sender: net.Socket): Promise<void> {
  let last = -1;
  for (let i = 0, still = 0; i < 200 && still < 4; i++) {
    await new Promise((r) => setTimeout(r, 50));
    still = sender.bytesRead === last ? still + 1 : 0;
    last = sender.bytesRead;
  }
}

/** Resumes `socket` and resolves with every byte it reads until its end. */
export function readToEnd(socket: net.Socket): Promise<Buffer> {
  const got: Buffer[] = [];
  const done = new Promise<Buffer>((resolve) => {
    socket.on('data', (c: Buffer) => got.push(c));
    socket.on('end', () => resolve(Buffer.concat(got)));
  });
  socket.resume();
  return done;
}
