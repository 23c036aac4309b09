/**
 * A manifest edit with an invalid field must not tear the Service down: the forwarder keeps its
 * listener and keeps answering new connections from the last valid version, and logs the error
 * (found by the soak, bench/soak.ts, issue 14: the edit used to drop the Service and its listener
 * until the file was fixed). Real sockets on loopback; every port picked by the kernel.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterEach, expect, it } from 'vitest';
import { loadEngine } from '../../host/engine/node.js';
import { serveForwarder, type ServingForwarder } from '../../host/forwarder/serve.js';
import { FileSource } from '../../host/sources/files.js';

const VIP = '127.97.14.1';
const POD = '127.245.14.1';

async function listen(server: net.Server, host: string): Promise<number> {
  await new Promise<void>((resolve) => server.listen({ host, port: 0 }, resolve));
  return (server.address() as net.AddressInfo).port;
}

function echoOnce(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: VIP, port }, () => s.write('ping'));
    s.once('data', (d: Buffer) => {
      s.destroy();
      resolve(d.toString());
    });
    s.once('error', reject);
  });
}

let dir: string;
let serving: ServingForwarder | undefined;
const echo = net.createServer((s) => s.pipe(s));
afterEach(async () => {
  await serving?.stop(0);
  echo.close();
  rmSync(dir, { recursive: true, force: true });
});

it('keeps serving the last valid Service while its manifest has an invalid field', async () => {
  dir = mkdtempSync(join(tmpdir(), 'vipwasm-refused-'));
  const podPort = await listen(echo, POD);
  const probe = net.createServer();
  const vipPort = await listen(probe, VIP);
  await new Promise((r) => probe.close(r));
  const manifest = (port: number): string =>
    `apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {clusterIP: ${VIP}, ports: [{name: echo, port: ${port}}]}\n---\n` +
    `apiVersion: v1\nkind: Endpoints\nmetadata: {name: web}\nsubsets: [{addresses: [{ip: ${POD}}], ports: [{name: echo, port: ${podPort}}]}]\n`;
  const f = join(dir, 'web.yaml');
  writeFileSync(f, manifest(vipPort));
  const errors: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n')) if (line && JSON.parse(line).level >= 50) errors.push(JSON.parse(line).msg);
      done();
    },
  });
  serving = await serveForwarder({
    source: new FileSource([f], { debounceMs: 20 }), engine: await loadEngine(), log: pino({ level: 'info' }, sink),
    model: { serviceClusterIPRanges: ['127.97.0.0/16'] }, forwarder: { processMetrics: false }, metricsAddress: null, healthzAddress: null,
  });
  expect(await echoOnce(vipPort)).toBe('ping');

  writeFileSync(f, manifest(99999));
  const deadline = Date.now() + 5000;
  while (!errors.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  expect(errors).toEqual([`Service "default/web" (${f}:1): spec.ports[0].port: Invalid value: 99999: must be between 1 and 65535, inclusive`]);
  await new Promise((r) => setTimeout(r, 200));
  expect(serving.forwarder.boundListeners()).toEqual([`tcp/${VIP}:${vipPort}`]);
  expect(await echoOnce(vipPort)).toBe('ping');
});
