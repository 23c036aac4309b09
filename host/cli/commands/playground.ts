/**
 * `vipwasm playground [--port N] [--dir DIR]`: serves the built playground (dist/playground) as
 * static files on 127.0.0.1 and prints the URL. The page needs nothing else: it runs engine.wasm
 * and the model in the browser.
 */
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { dirname, extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AddressInfo } from 'node:net';
import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import { stopSignal } from '../stop-signal.js';

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.wasm': 'application/wasm',
  '.map': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
};

/** dist/playground next to this file's package root (works from host/ via tsx and from dist/host/). */
export function defaultPlaygroundDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'package.json'))) return join(dir, 'dist', 'playground');
    dir = dirname(dir);
  }
  return resolve('dist', 'playground');
}

export interface PlaygroundServer {
  readonly server: Server;
  readonly url: string;
  close(): Promise<void>;
}

/** Serves `dir` read-only on 127.0.0.1:`port` (0 = any free port). GET and HEAD only; no listing. */
export async function servePlayground(dir: string, port: number): Promise<PlaygroundServer> {
  const rootDir = resolve(dir);
  if (!existsSync(join(rootDir, 'index.html'))) {
    throw new UsageError(`playground: ${join(rootDir, 'index.html')} not found; build it with: node host/browser/build.mjs`);
  }
  const server = createServer((req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    let path: string;
    try {
      path = decodeURIComponent(new URL(req.url ?? '/', 'http://127.0.0.1').pathname);
    } catch {
      res.writeHead(400).end();
      return;
    }
    const file = normalize(join(rootDir, path.endsWith('/') ? `${path}index.html` : path));
    if (file !== rootDir && !file.startsWith(rootDir + sep)) {
      res.writeHead(403).end();
      return;
    }
    if (!existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end(`not found: ${path}\n`);
      return;
    }
    res.writeHead(200, {
      'content-type': CONTENT_TYPES[extname(file)] ?? 'application/octet-stream',
      'content-length': statSync(file).size,
      'cache-control': 'no-cache',
      'x-content-type-options': 'nosniff',
    });
    if (req.method === 'HEAD') res.end();
    else createReadStream(file).pipe(res);
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', fail);
      ok();
    });
  });
  const { port: bound } = server.address() as AddressInfo;
  return {
    server,
    url: `http://127.0.0.1:${bound}/`,
    close: () => new Promise<void>((ok) => server.close(() => ok())),
  };
}

function parsePort(text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n > 65_535) throw new UsageError(`--port: "${text}" is not a port number 0-65535`);
  return n;
}

export function register(program: Command): void {
  program
    .command('playground')
    .description('serve the browser playground (engine.wasm in the page) on 127.0.0.1 and print its URL')
    .option('--port <n>', 'TCP port on 127.0.0.1 (0 = any free port)', '8080')
    .option('--dir <dir>', 'the built playground folder (default: dist/playground of this package)')
    .action(async (opts: { port: string; dir?: string }) => {
      const port = parsePort(opts.port);
      let served: PlaygroundServer;
      try {
        served = await servePlayground(opts.dir ?? defaultPlaygroundDir(), port);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') throw new UsageError(`--port: 127.0.0.1:${port} is already in use`);
        throw err;
      }
      const stopped = stopSignal();
      process.stdout.write(`vipwasm playground: ${served.url}\n(Ctrl-C to stop)\n`);
      await stopped;
      await served.close();
    });
}
