// Opens COUNT sequential TCP connections to HOST:PORT and prints one JSON line with each outcome:
// { "ok": "<backend> <seen source>" } or { "error": "ECONNREFUSED" | "TIMEOUT" | ..., "ms": elapsed }.
// Run inside the client namespace: node client.mjs HOST PORT COUNT TIMEOUT_MS.
import { connect } from 'node:net';

const [host, port, count, timeoutMs] = process.argv.slice(2);

function once() {
  return new Promise((resolve) => {
    const started = performance.now();
    const socket = connect({ host, port: Number(port) });
    let data = '';
    const done = (result) => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ ...result, ms: Math.round((performance.now() - started) * 10) / 10 });
    };
    const timer = setTimeout(() => done({ error: 'TIMEOUT' }), Number(timeoutMs));
    socket.on('data', (d) => {
      data += d;
      if (data.includes('\n')) done({ ok: data.split('\n')[0] });
    });
    socket.on('error', (err) => done({ error: err.code ?? err.message }));
  });
}

const results = [];
for (let i = 0; i < Number(count); i++) results.push(await once());
process.stdout.write(JSON.stringify(results) + '\n');
