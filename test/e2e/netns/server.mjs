// A backend "pod": answers each TCP connection with "<name> <client address>\n", then echoes lines
// until the client closes; answers each UDP datagram on the same port with "<name> <client address>".
// Run inside a backend namespace: node server.mjs NAME ADDRESS PORT.
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';

const [name, host, port] = process.argv.slice(2);
const server = createServer((socket) => {
  socket.on('error', () => socket.destroy());
  socket.write(`${name} ${socket.remoteAddress}\n`);
  socket.pipe(socket);
});
const udp = createSocket(host.includes(':') ? 'udp6' : 'udp4');
udp.on('message', (_msg, rinfo) => udp.send(`${name} ${rinfo.address}`, rinfo.port, rinfo.address));
udp.bind(Number(port), host, () => server.listen({ host, port: Number(port) }, () => process.stdout.write('ready\n')));
process.on('SIGTERM', () => process.exit(0));
