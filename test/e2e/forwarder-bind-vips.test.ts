/**
 * `vipwasm forward --bind-vips` in a throwaway network namespace (root only): ClusterIPs that are
 * no local address (198.18.50.10, .11) are put on the dummy interface, served, removed when their
 * Service goes (the other one untouched) and on exit.
 * Nothing leaves the namespace: it has only `lo` and the dummy interface, no routes out.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from './forwarder/harness.js';

const isRoot = process.getuid?.() === 0;
const NS = `vipwasm-fwd-${process.pid}`;
const root = resolve(import.meta.dirname, '../..');
const inNs = (cmd: string, args: string[]): string => execFileSync('ip', ['netns', 'exec', NS, cmd, ...args], { encoding: 'utf8', timeout: 10_000 });

/** Addresses in the namespace that are on vipwasm0 or labelled lo:vipwasm0. */
function vipsInNamespace(): string[] {
  const links = JSON.parse(inNs('ip', ['-j', 'addr', 'show'])) as { ifname: string; addr_info: { local: string; prefixlen: number; label?: string }[] }[];
  return links.flatMap((l) => l.addr_info.filter((a) => l.ifname === 'vipwasm0' || a.label === 'lo:vipwasm0').map((a) => `${a.local}/${a.prefixlen}`));
}

/** A Service on `clusterIP`:7000 with one Pod (127.0.0.1:7001). */
function echoService(name: string, clusterIP: string): string {
  return `apiVersion: v1
kind: Service
metadata: { name: ${name}, namespace: default }
spec: { clusterIP: ${clusterIP}, selector: { app: ${name} }, ports: [{ port: 7000, targetPort: 7001 }] }
---
apiVersion: v1
kind: Pod
metadata: { name: ${name}-0, namespace: default, labels: { app: ${name} } }
spec: { nodeName: n1, containers: [{ name: c, image: x }] }
status: { phase: Running, podIP: 127.0.0.1, podIPs: [{ ip: 127.0.0.1 }], conditions: [{ type: Ready, status: "True" }] }
`;
}

describe.skipIf(!isRoot)('--bind-vips (network namespace)', () => {
  let dir = '';
  beforeAll(() => {
    execFileSync('ip', ['netns', 'add', NS]);
    inNs('ip', ['link', 'set', 'lo', 'up']);
    dir = mkdtempSync(join(tmpdir(), 'vipwasm-vips-'));
    writeFileSync(join(dir, 'svc.yaml'), echoService('echo', '198.18.50.10'));
  });
  afterAll(() => {
    try {
      execFileSync('ip', ['netns', 'del', NS]);
    } catch {
      // already gone
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('puts ClusterIPs on the VIP interface as Services come and go, forwards to them, and takes them away on exit', async () => {
    const backend = spawn('ip', ['netns', 'exec', NS, 'socat', 'TCP-LISTEN:7001,bind=127.0.0.1,fork,reuseaddr', 'EXEC:cat']);
    const fwd = spawn('ip', ['netns', 'exec', NS, process.execPath, '--import', 'tsx', join(root, 'test/e2e/forwarder/cli-entry.ts'), 'forward', '-f', dir,
      '--service-cluster-ip-range', '198.18.0.0/16', '--node-name', 'n1', '--bind-vips', 'vipwasm0', '--metrics-bind-address', 'off', '--healthz-bind-address', 'off',
      '--log-level', 'debug'],
      { cwd: root, env: { ...process.env, NODE_OPTIONS: '' } });
    let out = '';
    let err = '';
    fwd.stdout.on('data', (c: Buffer) => (out += c.toString()));
    fwd.stderr.on('data', (c: Buffer) => (err += c.toString()));
    const exited = new Promise<number | null>((r) => fwd.once('exit', (c) => r(c)));
    try {
      await eventually(() => out.includes('vipwasm forward: serving'), 20_000);
      expect(out).toContain('1 listeners');
      // On the dummy interface, or on lo labelled lo:vipwasm0 where the kernel has no dummy driver.
      expect(vipsInNamespace()).toEqual(['198.18.50.10/32']);
      const echoed = inNs('sh', ['-c', 'echo through-the-vip | socat -t 2 - TCP:198.18.50.10:7000']);
      expect(echoed.trim()).toBe('through-the-vip');
      // A second Service: its ClusterIP is added; when it goes, only its address is removed.
      writeFileSync(join(dir, 'svc2.yaml'), echoService('echo2', '198.18.50.11'));
      await eventually(() => vipsInNamespace().length === 2, 10_000);
      expect(vipsInNamespace().sort()).toEqual(['198.18.50.10/32', '198.18.50.11/32']);
      expect(inNs('sh', ['-c', 'echo second | socat -t 2 - TCP:198.18.50.11:7000']).trim()).toBe('second');
      rmSync(join(dir, 'svc2.yaml'));
      await eventually(() => vipsInNamespace().length === 1, 10_000);
      expect(vipsInNamespace()).toEqual(['198.18.50.10/32']);
      expect(inNs('sh', ['-c', 'echo first-still | socat -t 2 - TCP:198.18.50.10:7000']).trim()).toBe('first-still');
      // --log-level debug: debug records (level 20) appear, e.g. the closed listener of echo2
      // (logged after the address is removed, so it may still be on its way).
      await eventually(() => err.includes('"msg":"listener closed"'), 5000);
      expect(err).toMatch(/"level":20,.*"listener":"tcp\/198\.18\.50\.11:7000".*"msg":"listener closed"/);
      expect(err).toMatch(/"level":30,.*"removed":\["198\.18\.50\.11"\].*"msg":"VIP interface updated"/);
      fwd.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(vipsInNamespace()).toEqual([]);
    } finally {
      fwd.kill('SIGKILL');
      backend.kill('SIGKILL');
    }
  });
});
