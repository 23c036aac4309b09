/**
 * The process exit codes of the installed `vipwasm` binary (bin/vipwasm.js over the built dist/):
 * 0 ok, 2 invalid input or usage, 1 any other failure. The in-process tests (get, simulate) check
 * main()'s return value; this checks what a shell sees.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const tmp = mkdtempSync(join(tmpdir(), 'vipwasm-exit-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function vipwasm(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['bin/vipwasm.js', ...args], { timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

describe('vipwasm exit codes', () => {
  it('0 when everything loads', async () => {
    const r = await vipwasm(['get', 'svc', '-f', 'examples/hostnames.yaml']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^NAME\s+TYPE\s+CLUSTER-IP\s+EXTERNAL-IP\s+PORT\(S\)\nhostnames\s+ClusterIP\s/);
  });

  it('2 for bad usage and for an invalid object, with the message on stderr', async () => {
    const usage = await vipwasm(['get', 'pods', '-f', 'examples']);
    expect(usage).toMatchObject({ code: 2, stdout: '', stderr: 'error: get: unknown resource type "pods" (want services or endpoints)\n' });
    const f = join(tmp, 'bad.yaml');
    writeFileSync(f, 'apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {ports: [{port: 70000}]}\n');
    const invalid = await vipwasm(['simulate', '-f', f, '--to', '10.96.0.1:80']);
    expect(invalid.code).toBe(2);
    expect(invalid.stderr.split('\n')[0]).toBe(`error: Service "default/web" (${f}:1): spec.ports[0].port: Invalid value: 70000: must be between 1 and 65535, inclusive`);
  });

  it('1 for a failure that is not the input’s fault (an unreadable allocation state)', async () => {
    const state = join(tmp, 'state');
    mkdirSync(state);
    writeFileSync(join(state, 'allocations.json'), '{ not json');
    const r = await vipwasm(['get', 'svc', '-f', 'examples/hostnames.yaml', '--state-dir', state]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(new RegExp(`^error: allocation state ${join(state, 'allocations.json')} is not valid JSON[^\\n]*\\n$`));
  });
});
