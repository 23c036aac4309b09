// The smallest TCP proxy Node can run: net.Server + net.connect + stream.pipe, round robin, no
// engine, no metrics. `npm run bench -- forwarder` runs it beside the vipwasm forwarder (target
// `node-pipe`) so each run shows how much of the forwarder's cost is Node's own socket machinery.
// Usage: node node-pipe-proxy.mjs <listen ip:port>=<backend ip:port>[,<backend ip:port>...] ...
import net from 'node:net';

for (const spec of process.argv.slice(2)) {
  const [listen, targets] = spec.split('=');
  const [lip, lport] = listen.split(':');
  const backends = targets.split(',').map((t) => t.split(':'));
  let next = 0;
  net
    .createServer({ allowHalfOpen: true, noDelay: true }, (client) => {
      const [ip, port] = backends[next++ % backends.length];
      const upstream = net.connect({ host: ip, port: Number(port), allowHalfOpen: true, noDelay: true });
      client.pipe(upstream);
      upstream.pipe(client);
      client.on('error', () => upstream.destroy());
      upstream.on('error', () => client.destroy());
    })
    .listen({ host: lip, port: Number(lport), backlog: 4096 });
}

// A clean exit on SIGTERM, so `--cpu-prof` (the bench's `--cpu-prof=DIR`) writes its profile.
process.on('SIGTERM', () => process.exit(0));
