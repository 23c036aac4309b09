/**
 * `--workers N`: validation, the default, and the single-threaded fallback where Node has no
 * reusePort (host/forwarder/workers/worker-count.ts), through the flag parser and the real CLI.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { Writable } from 'node:stream';
import { join, resolve } from 'node:path';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { resolveForwarderFlags } from '../../host/cli/forwarder-options.js';
import type { ForwarderFlagValues } from '../../host/cli/forwarder-options.js';
import { SHARED_ENGINE } from '../../host/forwarder/workers/engine-link.js';
import { resolveWorkerCount, reusePortSupported } from '../../host/forwarder/workers/worker-count.js';

const flags: ForwarderFlagValues = {
  metricsBindAddress: 'off', healthzBindAddress: 'off', connectTimeout: '2s', connectRetries: '2', udpTimeout: '300s', udpMaxSessions: '16384',
  tcpIdleTimeout: '0', ejectDuration: '5s', shutdownGrace: '30s', healthzTimeout: '60s', logLevel: 'info',
};

function capture(): { log: pino.Logger; lines: { level: number; msg: string }[] } {
  const lines: { level: number; msg: string }[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _e, done) {
      for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l) as { level: number; msg: string });
      done();
    },
  });
  return { log: pino({ level: 'debug' }, sink), lines };
}

describe('--workers', () => {
  it('takes a whole number from 1 to 255 and names the flag otherwise', () => {
    expect(resolveForwarderFlags({ ...flags, workers: '3' }).workers).toBe(3);
    expect(resolveForwarderFlags(flags).workers).toBeUndefined();
    for (const bad of ['x', '0', '-2', '1.5', '256', '']) {
      expect(() => resolveForwarderFlags({ ...flags, workers: bad })).toThrow(`--workers: "${bad}" is not a number of worker threads from 1 to 255`);
    }
  });

  it('knows which Node versions have reusePort', () => {
    expect(['20.19.0', '22.11.0', '23.0.0'].map((v) => reusePortSupported(v))).toEqual([false, false, false]);
    expect(['22.12.0', '23.1.0', '24.0.0', '26.12.1'].map((v) => reusePortSupported(v))).toEqual([true, true, true, true]);
  });

  it('falls back to 1 worker without reusePort, at warn level when asked for explicitly', () => {
    const asked = capture();
    expect(resolveWorkerCount(3, asked.log, '20.19.0')).toBe(1);
    expect(asked.lines).toEqual([expect.objectContaining({ level: 40, msg: '--workers 3: Node 20.19.0 cannot bind one address in several threads (reusePort needs Node >= 22.12); forwarding with 1 worker' })]);
    expect(resolveWorkerCount(3, capture().log, '26.12.1')).toBe(3);
    expect(resolveWorkerCount(1, capture().log, '20.19.0')).toBe(1);
    expect(resolveWorkerCount(999, capture().log, '26.12.1')).toBe(255);
  });

  it('defaults to one worker per CPU once the engine state is shared, else to 1', () => {
    const n = resolveWorkerCount(undefined, capture().log, '26.12.1');
    expect(n).toBe(SHARED_ENGINE ? Math.min(255, availableParallelism()) : 1);
  });

  it('runs the real CLI with --workers 2: N worker threads where reusePort exists, else 1 with a warning', async () => {
    const root = resolve(import.meta.dirname, '../..');
    const dir = mkdtempSync(join(tmpdir(), 'vipwasm-workers-'));
    writeFileSync(join(dir, 'svc.yaml'), 'apiVersion: v1\nkind: Service\nmetadata: {name: w, namespace: default}\nspec: {clusterIP: 127.97.140.9, ports: [{port: 80}]}\n');
    const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'test/e2e/forwarder/cli-entry.ts'), 'forward', '-f', dir, '--workers', '2',
      '--service-cluster-ip-range', '127.97.0.0/16', '--metrics-bind-address', '127.0.0.1:0', '--healthz-bind-address', 'off'], { cwd: root, env: { ...process.env, NODE_OPTIONS: '' } });
    try {
      let out = '';
      let err = '';
      child.stdout.on('data', (c: Buffer) => (out += c.toString()));
      child.stderr.on('data', (c: Buffer) => (err += c.toString()));
      const deadline = Date.now() + 20_000;
      while (!out.includes('\n') && child.exitCode === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(out).toMatch(/^vipwasm forward: serving 1 services/);
      if (reusePortSupported()) expect(out).toMatch(/; 2 worker threads\n$/);
      else {
        expect(out).not.toContain('worker threads');
        expect(err).toContain(`"msg":"--workers 2: Node ${process.versions.node} cannot bind one address in several threads`);
      }
      child.kill('SIGTERM');
      const exit = await new Promise((r) => child.once('exit', (code, signal) => r({ code, signal })));
      expect(exit, err).toEqual({ code: 0, signal: null });
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
