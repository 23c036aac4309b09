// Holds one TCP connection open across a rule sync: connects, prints the greeting, then for every
// line on stdin sends it and prints the echo. Run inside the client namespace: node holder.mjs HOST PORT.
import { connect } from 'node:net';
import { createInterface } from 'node:readline';

const [host, port] = process.argv.slice(2);
const socket = connect({ host, port: Number(port) });
socket.setEncoding('utf8');
let buffered = '';
socket.on('data', (d) => {
  buffered += d;
  let i;
  while ((i = buffered.indexOf('\n')) >= 0) {
    process.stdout.write(`${buffered.slice(0, i)}\n`);
    buffered = buffered.slice(i + 1);
  }
});
socket.on('error', (err) => {
  process.stdout.write(`error ${err.code ?? err.message}\n`);
  process.exit(1);
});
socket.on('close', () => process.exit(0));
createInterface({ input: process.stdin }).on('line', (line) => socket.write(`${line}\n`));
process.stdin.on('end', () => socket.end());
