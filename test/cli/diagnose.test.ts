/**
 * `vipwasm diagnose` through the real CLI: exit 0 and "No problems found." when nothing is wrong,
 * 3 with kubectl-style findings when something is, one Service only when named, JSON with the
 * finding codes, 1 for a Service that does not exist (as kubectl), 2 for bad usage.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from './run-cli.js';

const tmp = mkdtempSync(join(tmpdir(), 'vipwasm-diagnose-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const pod = (name: string, ready: boolean) => `---
apiVersion: v1
kind: Pod
metadata: { name: ${name}, namespace: default, labels: { app: web } }
spec: { nodeName: node-1, containers: [{ name: c, image: x, ports: [{ name: http, containerPort: 8080 }] }] }
status: { phase: Running, podIP: 10.1.0.${name.slice(-1)}, conditions: [{ type: Ready, status: "${ready ? 'True' : 'False'}" }] }
`;
const services = `apiVersion: v1
kind: Service
metadata: { name: web, namespace: default }
spec: { selector: { app: web }, ports: [{ name: http, port: 80, targetPort: http }] }
---
apiVersion: v1
kind: Service
metadata: { name: lost, namespace: default }
spec: { selector: { app: nothing }, ports: [{ port: 80 }] }
`;

function write(name: string, text: string): string {
  const f = join(tmp, name);
  writeFileSync(f, text);
  return f;
}

describe('vipwasm diagnose', () => {
  it('exits 0 with "No problems found." for a healthy Service', async () => {
    const f = write('healthy.yaml', services.split('---')[0] + pod('web-1', true));
    const r = await runCli(['diagnose', '-f', f, '--node-name', 'node-1']);
    expect(r).toMatchObject({ code: 0, stdout: 'No problems found.\n', stderr: '' });
  });

  it('exits 3 and names every problem with its object, field and fix', async () => {
    const f = write('broken.yaml', services + pod('web-1', false));
    const r = await runCli(['diagnose', '-f', f, '--node-name', 'node-1']);
    expect(r.code).toBe(3);
    expect(r.stdout).toBe(
      `error: Service "default/web" (${f}:1): spec.selector: 1 Pod(s) match app=web but none is Ready: web-1 (Ready=False, phase Running)\n` +
        '  fix: find out why they are not Ready (readiness probe, crash, image): kubectl describe pod -n default web-1\n' +
        `error: Service "default/lost" (${f}:6): spec.selector: no Pod in namespace "default" matches app=nothing\n` +
        '  fix: label the Pods app=nothing or change spec.selector to match their labels: kubectl get pods -n default --show-labels\n',
    );
  });

  it('diagnoses one Service when named, and prints JSON with finding codes', async () => {
    const f = write('both.yaml', services + pod('web-1', true));
    const one = await runCli(['diagnose', 'default/web', '-f', f, '--node-name', 'node-1']);
    expect(one).toMatchObject({ code: 0, stdout: 'No problems found.\n' });
    const json = await runCli(['diagnose', 'lost', '-f', f, '--node-name', 'node-1', '-o', 'json']);
    expect(json.code).toBe(3);
    const { findings } = JSON.parse(json.stdout) as { findings: { code: string; object: string; field: string; fix: string }[] };
    expect(findings.map((x) => [x.code, x.object, x.field])).toEqual([['SelectorMatchesNoPod', 'Service "default/lost"', 'spec.selector']]);
    expect(findings[0]!.fix).toContain('kubectl get pods -n default --show-labels');
  });

  it('exits 1 for a Service that does not exist, 2 for bad usage', async () => {
    const f = write('one.yaml', services);
    expect(await runCli(['diagnose', 'nope', '-f', f])).toMatchObject({ code: 1, stderr: 'error: services "nope" not found in namespace "default"\n' });
    expect(await runCli(['diagnose', 'a/b/c', '-f', f])).toMatchObject({ code: 2, stderr: 'error: diagnose: "a/b/c" is not a Service name (want NAME or NAMESPACE/NAME)\n' });
    expect(await runCli(['diagnose', '-f', f, '-o', 'yaml'])).toMatchObject({ code: 2, stderr: 'error: --output: unsupported format "yaml" (want json)\n' });
  });
});
