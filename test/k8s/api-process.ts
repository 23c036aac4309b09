/**
 * Long-running pieces of the "API source, for real" suites: a `vipwasm` verb in its own process
 * (optionally inside a network namespace) with its output kept for assertions, and a relay in
 * front of the API server that the test can cut and restore, to disconnect a watcher while the
 * API server itself goes on (changes, compaction, restart) without it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { createInterface } from 'node:readline';
import { cliPath } from './api-cluster.js';

/** A `vipwasm <verb>` process; stdout and stderr lines are kept in order. */
export class VipwasmProcess {
  readonly child: ChildProcess;
  readonly lines: string[] = [];
  readonly exited: Promise<number | null>;

  constructor(args: string[], opts: { netns?: string } = {}) {
    const argv = [process.execPath, cliPath, ...args];
    this.child = opts.netns ? spawn('ip', ['netns', 'exec', opts.netns, ...argv], { stdio: ['ignore', 'pipe', 'pipe'] }) : spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    for (const stream of [this.child.stdout!, this.child.stderr!]) createInterface({ input: stream }).on('line', (l) => this.lines.push(l));
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
  }

  /** Waits for a line (from index `from`) matching `re`; fails early, with the output, if the process exits. */
  async waitFor(re: RegExp, from = 0, timeoutMs = 60_000): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      for (const l of this.lines.slice(from)) {
        const m = re.exec(l);
        if (m) return m;
      }
      if (this.child.exitCode !== null || Date.now() > deadline) {
        throw new Error(`no output line matching ${re} (${this.child.exitCode !== null ? `exited ${this.child.exitCode}` : 'timed out'}); output:\n${this.output()}`);
      }
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  /** The last lines, for failure messages. */
  output(lines = 40): string {
    return this.lines.slice(-lines).join('\n');
  }

  /** SIGTERM, SIGKILL after 10 s; resolves with the exit code. */
  async stop(): Promise<number | null> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGTERM');
      const t = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
      await this.exited;
      clearTimeout(t);
    }
    return this.exited;
  }
}

/**
 * A TCP relay to the API server (on a unix socket, for `ip netns exec socat` to reach, or on a
 * loopback port). cut() closes every relayed connection and stops accepting, as a network
 * partition between one watcher and the API server would; restore() listens again at the same place.
 */
export class ApiRelay {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  /** The loopback port (for a TCP relay), fixed at the first listen. */
  port = 0;

  constructor(private readonly apiPort: number, private readonly unixPath?: string) {}

  async restore(): Promise<void> {
    if (this.server) return;
    const server = createServer((client) => {
      const upstream = connect(this.apiPort, '127.0.0.1');
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream).pipe(client);
    });
    if (this.unixPath) rmSync(this.unixPath, { force: true });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      if (this.unixPath) server.listen(this.unixPath, resolve);
      else server.listen(this.port, '127.0.0.1', resolve);
    });
    if (!this.unixPath) this.port = (server.address() as { port: number }).port;
    this.server = server;
  }

  async cut(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    await closed;
  }
}
