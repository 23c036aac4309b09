/**
 * The DNS verbs through the real CLI (spawned, as a user runs them): `vipwasm dns`, `vipwasm
 * forward --dns-bind-address`, the demo's dig line, and flag errors (exit 2, naming the flag).
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../../scripts/k8s/cluster.js';
import { runCli as runInProcess } from '../cli/run-cli.js';
import { HAVE_DIG, dig } from './dig.js';

const root = resolve(import.meta.dirname, '../..');
const cliEntry = join(root, 'test/e2e/forwarder/cli-entry.ts');
const children: ChildProcessWithoutNullStreams[] = [];
const dir = mkdtempSync(join(tmpdir(), 'vipwasm-dns-cli-'));
afterAll(() => {
  for (const c of children) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

function start(args: string[]): { child: ChildProcessWithoutNullStreams; output: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, ['--import', 'tsx', cliEntry, ...args], { cwd: root, env: { ...process.env, NODE_OPTIONS: '' } });
  children.push(child);
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return { child, output: () => out, exited };
}

async function waitFor(output: () => string, pattern: RegExp, ms = 30_000): Promise<RegExpExecArray> {
  const deadline = Date.now() + ms;
  for (;;) {
    const m = pattern.exec(output());
    if (m) return m;
    if (Date.now() > deadline) throw new Error(`no ${pattern} in:\n${output()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe.skipIf(!HAVE_DIG)('DNS through the real CLI', () => {
  it('vipwasm dns serves the examples until SIGTERM', async () => {
    const port = await freePort();
    const p = start(['dns', '-f', join(root, 'examples'), '--dns-bind-address', `127.0.0.1:${port}`, '--dns-upstream', 'none', '--node-name', 'node-a']);
    await waitFor(p.output, /vipwasm dns: serving cluster\.local on 127\.0\.0\.1:\d+ \(udp, tcp\), no upstream/);
    const r = await dig({ host: '127.0.0.1', port }, ['+tcp', 'exampleheadlessservice.default.svc.cluster.local', 'A']);
    expect(r.answer.map((l) => l.split(' ').pop()).sort()).toEqual(['127.244.2.1', '127.244.2.2']);
    const pet = await dig({ host: '127.0.0.1', port }, ['nginx-1.exampleheadlessservice.default.svc.cluster.local', 'A']);
    expect(pet.answer).toEqual(['nginx-1.exampleheadlessservice.default.svc.cluster.local. 30 IN A 127.244.2.2']);
    p.child.kill('SIGTERM');
    expect(await p.exited).toBe(0);
  });

  it('vipwasm forward --dns-bind-address serves DNS beside the forwarder', async () => {
    const file = join(dir, 'svc.yaml');
    writeFileSync(file, `apiVersion: v1
kind: Service
metadata: { name: api, namespace: default }
spec: { clusterIP: 127.97.0.5, ports: [{ name: http, port: 7000 }] }
`);
    const port = await freePort();
    const p = start(['forward', '-f', file, '--service-cluster-ip-range', '127.97.0.0/16', '--dns-bind-address', `127.0.0.1:${port}`, '--dns-upstream', 'none',
      '--metrics-bind-address', 'off', '--healthz-bind-address', 'off', '--log-level', 'warn']);
    await waitFor(p.output, /vipwasm forward: serving .*dns cluster\.local on 127\.0\.0\.1:\d+/);
    const r = await dig({ host: '127.0.0.1', port }, ['_http._tcp.api.default.svc.cluster.local', 'SRV']);
    expect(r.answer).toEqual(['_http._tcp.api.default.svc.cluster.local. 30 IN SRV 0 100 7000 api.default.svc.cluster.local.']);
    expect(r.additional).toContain('api.default.svc.cluster.local. 30 IN A 127.97.0.5');
    p.child.kill('SIGTERM');
    expect(await p.exited).toBe(0);
  });

  it('vipwasm demo prints a dig line that works, and its answer is the ClusterIP it curls', async () => {
    const p = start(['demo', '--metrics-bind-address', '127.0.0.1:0', '--healthz-bind-address', 'off']);
    await waitFor(p.output, /Press Ctrl-C to stop\./);
    const clusterIP = /ClusterIP (127\.96\.\d+\.\d+):/.exec(p.output())![1];
    const line = /\$ dig @(127\.96\.0\.10)(?: -p (\d+))? \+short hostnames\.default\.svc\.cluster\.local\n(.*)\n/.exec(p.output());
    expect(line?.[3]).toBe(clusterIP);
    const r = await dig({ host: line![1]!, port: Number(line![2] ?? 53) }, ['hostnames.default.svc.cluster.local']);
    expect(r.answer).toEqual([`hostnames.default.svc.cluster.local. 30 IN A ${clusterIP}`]);
    expect(p.output()).toContain(`curl -s http://${clusterIP}`);
    p.child.kill('SIGTERM');
    expect(await p.exited).toBe(0);
  });
});

describe('DNS flag errors', () => {
  it.each([
    [['--dns-bind-address', 'nowhere'], '--dns-bind-address: "nowhere" is not host:port'],
    [['--cluster-domain', 'bad_domain'], '--cluster-domain: "bad_domain" is not a DNS domain name'],
    [['--dns-upstream', '1.2.3'], '--dns-upstream: "1.2.3" is not an upstream address'],
    [['--dns-ttl', '99999'], '--dns-ttl: "99999" must be an integer from 0 to 3600'],
  ])('%j → exit 2', async (flags, message) => {
    const r = await runInProcess(['dns', '-f', join(root, 'examples/hostnames.yaml'), '--dns-bind-address', '127.0.0.1:0', ...flags]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(message);
  });
});
