// Sends COUNT UDP datagrams to HOST:PORT, one at a time, all from local port SPORT (so they are one
// conntrack flow), and prints one JSON array of the replies ("<backend> <seen source>" or "TIMEOUT").
// Run inside the client namespace: node udp-client.mjs HOST PORT SPORT COUNT.
import { createSocket } from 'node:dgram';

const [host, port, sport, count] = process.argv.slice(2);
const socket = createSocket(host.includes(':') ? 'udp6' : 'udp4');
await new Promise((resolve) => socket.bind(Number(sport), resolve));
const replies = [];
for (let i = 0; i < Number(count); i++) {
  replies.push(
    await new Promise((resolve) => {
      const timer = setTimeout(() => {
        socket.removeAllListeners('message');
        resolve('TIMEOUT');
      }, 1000);
      socket.once('message', (msg) => {
        clearTimeout(timer);
        resolve(String(msg));
      });
      socket.send(`ping ${i}`, Number(port), host);
    }),
  );
}
socket.close();
process.stdout.write(JSON.stringify(replies) + '\n');
