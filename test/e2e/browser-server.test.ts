/**
 * `vipwasm playground`: the static server behind it (127.0.0.1 only, right content types, no path
 * escapes) and the verb itself (prints the URL, rejects a bad --port with exit 2).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { servePlayground, type PlaygroundServer } from '../../host/cli/commands/playground.js';
import { main } from '../../host/cli/main.js';
import { repoRoot } from './browser/playground-build.js';

let dir: string;
let served: PlaygroundServer;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vipwasm-playground-static-'));
  writeFileSync(join(dir, 'index.html'), '<!doctype html><title>t</title>');
  writeFileSync(join(dir, 'engine.wasm'), new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]));
  mkdirSync(join(dir, 'sub'));
  writeFileSync(join(dir, 'sub', 'a.js'), 'x');
  writeFileSync(join(tmpdir(), 'vipwasm-outside.txt'), 'secret');
  served = await servePlayground(dir, 0);
});

afterAll(async () => {
  await served?.close();
  rmSync(dir, { recursive: true, force: true });
  rmSync(join(tmpdir(), 'vipwasm-outside.txt'), { force: true });
});

describe('playground static server', () => {
  it('listens on 127.0.0.1 and serves index.html, wasm and scripts with their content types', async () => {
    expect(served.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const index = await fetch(served.url);
    expect(index.status).toBe(200);
    expect(index.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const wasm = await fetch(new URL('engine.wasm', served.url));
    expect(wasm.headers.get('content-type')).toBe('application/wasm');
    expect(new Uint8Array(await wasm.arrayBuffer())).toEqual(new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]));
    expect((await fetch(new URL('sub/a.js', served.url))).headers.get('content-type')).toBe('text/javascript; charset=utf-8');
  });

  it('answers 404 for missing files, 403 for paths out of the folder, 405 for writes', async () => {
    expect((await fetch(new URL('nope.js', served.url))).status).toBe(404);
    // WHATWG URLs resolve dot segments; an encoded slash survives them and must not escape the folder.
    expect((await fetch(`${served.url}..%2fvipwasm-outside.txt`)).status).toBe(403);
    expect((await fetch(served.url, { method: 'POST', body: 'x' })).status).toBe(405);
  });
});

describe('vipwasm playground', () => {
  it('rejects a bad --port and a folder without index.html with exit 2', async () => {
    const errors: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string) => errors.push(String(chunk)) > 0) as typeof process.stderr.write;
    try {
      expect(await main(['node', 'vipwasm', 'playground', '--port', 'http'])).toBe(2);
      expect(await main(['node', 'vipwasm', 'playground', '--port', '0', '--dir', join(dir, 'sub')])).toBe(2);
    } finally {
      process.stderr.write = write;
    }
    expect(errors.join('')).toContain('--port: "http" is not a port number 0-65535');
    expect(errors.join('')).toContain(`${join(dir, 'sub', 'index.html')} not found`);
  });

  it('prints the URL it serves and stops on SIGTERM', async () => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', '-e', "import('./host/cli/main.ts').then(async (m) => { process.exitCode = await m.main(['node', 'vipwasm', ...process.argv.slice(1)]); })", 'playground', '--port', '0', '--dir', dir],
      { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    try {
      const url = await new Promise<string>((ok, fail) => {
        let out = '';
        const timer = setTimeout(() => fail(new Error(`no URL printed; stdout so far: ${out}`)), 20_000);
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          const m = /vipwasm playground: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(out);
          if (m) {
            clearTimeout(timer);
            ok(m[1]!);
          }
        });
        child.once('exit', (code) => fail(new Error(`exited ${code} before printing a URL: ${out}`)));
      });
      expect((await fetch(url)).status).toBe(200);
      const exited = new Promise<number | null>((ok) => child.once('exit', (code) => ok(code)));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
