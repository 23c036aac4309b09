// The `web` Pods' servers, in one process inside the test's network namespace: listens on each
// IP:PORT given and answers every TCP connection with "<its IP> <client address>\n", then echoes
// lines until the client closes. Prints "ready" once every listener is up.
// Run: ip netns exec NS node backends.mjs 198.18.1.1:8080 198.18.1.2:8080 ...
import { createServer } from 'node:net';

const listening = process.argv.slice(2).map((addr) => {
  const [host, port] = addr.split(':');
  const server = createServer((socket) => {
    socket.on('error', () => socket.destroy());
    socket.write(`${host} ${socket.remoteAddress}\n`);
    socket.pipe(socket);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port: Number(port) }, resolve);
  });
});
await Promise.all(listening);
process.stdout.write('ready\n');
process.on('SIGTERM', () => process.exit(0));
