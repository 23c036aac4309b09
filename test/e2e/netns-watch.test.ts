/**
 * `vipwasm rules --watch` end to end: the CLI runs in its own process against a manifest file, installs
 * the rules in a scratch network namespace, and when the file changes syncs again (partially) without
 * being restarted; SIGTERM stops it, `--cleanup` removes what it installed. For iptables and nftables.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localRunner } from '../../host/rules/apply/exec.js';
import { main } from '../../host/cli/main.js';
import { manifestObjects, VIP, type ServiceSpec } from './netns/manifests.js';
import { NODE_IP, netnsUnavailableReason } from './netns/topology.js';

const skipReason = netnsUnavailableReason();
if (skipReason) console.warn(`[netns-watch] skipped: ${skipReason}`);

const cliEntry = fileURLToPath(new URL('./netns/cli.ts', import.meta.url));
const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

/** The manifest file as YAML documents (each one JSON, which is YAML). */
function manifestText(services: ServiceSpec[]): string {
  return manifestObjects(services).map((o) => JSON.stringify(o)).join('\n---\n') + '\n';
}

const one: ServiceSpec = { name: 'one', clusterIP: VIP.web, endpoints: [{ backend: 'b1', local: false }] };
const two: ServiceSpec = { name: 'two', clusterIP: VIP.added, endpoints: [{ backend: 'b2', local: false }] };

/** The watcher's stderr lines, and a bounded wait for one matching a pattern. */
class Watcher {
  readonly lines: string[] = [];
  private readonly waiters: Array<() => void> = [];
  readonly exited: Promise<number | null>;

  constructor(readonly child: ChildProcess) {
    createInterface({ input: child.stderr! }).on('line', (line) => {
      this.lines.push(line);
      for (const w of this.waiters.splice(0)) w();
    });
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  /** Resolves with the first line (from index `from`) matching `re`; rejects after `timeoutMs`. */
  async waitFor(re: RegExp, from: number, timeoutMs = 30_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.lines.slice(from).find((l) => re.test(l));
      if (hit) return hit;
      const left = deadline - Date.now();
      if (left <= 0 || this.child.exitCode !== null) throw new Error(`no stderr line matching ${re}; got:\n${this.lines.join('\n')}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }
}

describe.skipIf(skipReason !== undefined)('vipwasm rules --watch in a real kernel', () => {
  const ns = `vw${process.pid % 100000}${Math.random().toString(36).slice(2, 5)}-watch`;
  const runner = localRunner(ns);
  const dir = mkdtempSync(join(tmpdir(), 'vipwasm-watch-'));
  const file = join(dir, 'services.yaml');
  const children: ChildProcess[] = [];

  beforeAll(() => {
    execFileSync('ip', ['netns', 'add', ns]);
  });
  afterAll(() => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    execFileSync('ip', ['netns', 'del', ns]);
    rmSync(dir, { recursive: true, force: true });
  });

  const installed = {
    iptables: async () => (await runner.run('iptables-save', ['-t', 'nat'])).stdout,
    nftables: async () => (await runner.run('nft', ['list', 'map', 'ip', 'kube-proxy', 'service-ips'])).stdout,
  };

  it.each(['iptables', 'nftables'] as const)('%s: installs, follows a file change with a partial sync, stops on SIGTERM', async (mode) => {
    writeFileSync(file, manifestText([one]));
    const args = ['rules', '--mode', mode, '-f', file, '--node-ip', NODE_IP, '--service-cluster-ip-range', '198.19.0.0/16'];
    const child = spawn(process.execPath, ['--import', 'tsx', cliEntry, ...args, '--netns', ns, '--watch', '--min-sync-period', '100ms'], {
      cwd: repoRoot,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    children.push(child);
    const w = new Watcher(child);

    await w.waitFor(new RegExp(`^synced ${mode}: full`), 0);
    const first = await installed[mode]();
    expect(first).toContain(VIP.web);
    expect(first).not.toContain(VIP.added);

    const mark = w.lines.length;
    writeFileSync(file, manifestText([one, two]));
    await w.waitFor(new RegExp(`^synced ${mode}: partial`), mark);
    const second = await installed[mode]();
    expect(second).toContain(VIP.web);
    expect(second).toContain(VIP.added);
    expect(w.lines.filter((l) => l.startsWith('error:'))).toEqual([]);

    child.kill('SIGTERM');
    expect(await w.exited).toBe(0);
    // The rules outlive the watcher; --cleanup removes them.
    expect(await installed[mode]()).toContain(VIP.added);
    expect(await main(['node', 'vipwasm', 'rules', '--netns', ns, '--mode', mode, '--cleanup', '--ip-family', '4'])).toBe(0);
    expect(await installed[mode]()).not.toContain(VIP.web);
  }, 90_000);
});
