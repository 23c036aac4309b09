/**
 * `vipwasm serve` as a process: it serves the snapshot of the manifests, bumps the version when a
 * manifest file changes, reports each set of diagnostics once, and exits on SIGTERM.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const dir = mkdtempSync(join(tmpdir(), 'vipwasm-serve-'));
const manifest = join(dir, 'services.yaml');
let child: ChildProcess | null = null;
afterAll(() => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

function waitFor(stream: NodeJS.ReadableStream, pattern: RegExp, ms: number): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${pattern}; got: ${text}`)), ms);
    const onData = (chunk: Buffer) => {
      text += chunk.toString();
      const m = pattern.exec(text);
      if (m) {
        clearTimeout(timer);
        stream.off('data', onData);
        resolve(m);
      }
    };
    stream.on('data', onData);
  });
}

function serve(): ChildProcess {
  const cli = new URL('../../host/cli/main.ts', import.meta.url).pathname;
  return spawn(process.execPath, ['--import', 'tsx', '-e',
    `import(${JSON.stringify(cli)}).then((m) => m.main(['node', 'vipwasm', 'serve', '-f', ${JSON.stringify(manifest)}, '--listen', '127.0.0.1:0', '--service-cluster-ip-range', '127.96.0.0/16'])).then((c) => { process.exitCode = c; })`],
  { stdio: ['ignore', 'ignore', 'pipe'], cwd: new URL('../..', import.meta.url).pathname });
}

const BAD_SERVICE = `
---
apiVersion: v1
kind: Service
metadata: { name: bad, namespace: default }
spec: { ports: [{ port: 70000 }] }
`;
const POD = `
---
apiVersion: v1
kind: Pod
metadata: { name: web-0, namespace: default }
spec: { hostname: web-0, containers: [{ name: web, image: web }] }
status: { podIP: 127.244.1.1, podIPs: [{ ip: 127.244.1.1 }] }
`;

describe('vipwasm serve', () => {
  it('serves, follows manifest changes, and stops on SIGTERM', async () => {
    copyFileSync(new URL('../../examples/envoy/services.yaml', import.meta.url), manifest);
    child = serve();
    const [, port] = await waitFor(child.stderr!, /on http:\/\/127\.0\.0\.1:(\d+)\/snapshot/, 30_000);
    const url = `http://127.0.0.1:${port}/snapshot`;
    const first = await fetch(url);
    expect(first.status).toBe(200);
    const etag = first.headers.get('etag')!;
    expect(first.headers.get('x-vipwasm-snapshot-version')).toBe('1');

    const changed = waitFor(child.stderr!, /snapshot version 2 /, 20_000);
    writeFileSync(manifest, readFileSync(manifest, 'utf8').replace('127.244.1.3', '127.244.1.4'));
    await changed;
    const second = await fetch(url, { headers: { 'if-none-match': etag } });
    expect(second.status).toBe(200);
    expect(second.headers.get('x-vipwasm-snapshot-version')).toBe('2');

    const exited = new Promise<number | null>((resolve) => child!.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });

  it('reports the same diagnostics once, not again on a change that leaves them as they were', async () => {
    writeFileSync(manifest, readFileSync(new URL('../../examples/envoy/services.yaml', import.meta.url), 'utf8') + BAD_SERVICE);
    child = serve();
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    await waitFor(child.stderr!, /on http:\/\/127\.0\.0\.1:\d+\/snapshot/, 30_000);
    const reported = /^error: Service "default\/bad".*$/m.exec(stderr)?.[0];
    expect(reported, stderr).toBeDefined();
    // A Pod (which only DNS reads), then an endpoint change, each its own update.
    writeFileSync(manifest, readFileSync(manifest, 'utf8') + POD);
    await new Promise((r) => setTimeout(r, 1500));
    const changed = waitFor(child.stderr!, /snapshot version 2 /, 20_000);
    writeFileSync(manifest, readFileSync(manifest, 'utf8').replace('127.244.1.3', '127.244.1.4'));
    await changed;
    expect(stderr.split('\n').filter((line) => line === reported)).toHaveLength(1);
    const exited = new Promise<number | null>((resolve) => child!.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});
