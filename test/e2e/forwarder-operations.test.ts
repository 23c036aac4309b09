/**
 * Forwarder operations end to end (127.245.4.x backends, 127.97.4.x VIPs): /metrics, /healthz, the
 * service health server, draining, and the real CLI: `vipwasm forward` (file reload, SIGTERM drain)
 * and `vipwasm demo` (`--exit`, and serving on as an unprivileged user).
 */
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backend, model, servicePort } from '../forwarder/fixtures.js';
import { eventually, startForwarder } from './forwarder/harness.js';
import { closeAll, connectOutcome, echoServer, hostnameServer, httpGet } from './forwarder/servers.js';

function fetchText(url: string): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
  return new Promise((res, rej) => {
    http
      .get(url, { agent: false, timeout: 3000 }, (r) => {
        let body = '';
        r.setEncoding('utf8');
        r.on('data', (c: string) => (body += c));
        r.on('end', () => res({ status: r.statusCode ?? 0, body, headers: r.headers }));
      })
      .on('error', rej);
  });
}

describe('metrics and health', () => {
  const PODS = ['127.245.4.1', '127.245.4.2'];
  let servers: Awaited<ReturnType<typeof hostnameServer>>[] = [];
  beforeAll(async () => {
    servers = await Promise.all(PODS.map((ip, i) => hostnameServer(ip, 9376, `web-${i}`)));
  });
  afterAll(() => closeAll(...servers));

  it('exports per-service-port traffic, rejects, engine tables and sync times on /metrics', async () => {
    const f = await startForwarder(
      model([
        servicePort('web', { clusterIPs: ['127.97.4.1'], backends: PODS.map((ip) => backend(ip, 9376)) }),
        servicePort('empty', { clusterIPs: ['127.97.4.2'] }),
      ]),
    );
    try {
      const ops = await f.serveOperations('127.0.0.1:0', '127.0.0.1:0');
      for (let i = 0; i < 3; i++) await httpGet('127.97.4.1', 80);
      await connectOutcome('127.97.4.2', 80);
      await eventually(() => f.openConnections === 0);
      const m = await fetchText(`http://${ops.metrics}/metrics`);
      expect(m.status).toBe(200);
      const line = (prefix: string): number => Number(m.body.split('\n').find((l) => l.startsWith(prefix))?.split(' ').pop());
      expect(line('vipwasm_forwarder_connections_total{service_port="default/web",protocol="TCP"}')).toBe(3);
      expect(line('vipwasm_forwarder_decisions_total{service_port="default/web",protocol="TCP",via="scheduler"}')).toBe(3);
      expect(line('vipwasm_forwarder_active_connections{service_port="default/web",protocol="TCP"}')).toBe(0);
      expect(line('vipwasm_forwarder_bytes_total{service_port="default/web",protocol="TCP",direction="to_client"}')).toBeGreaterThan(300);
      expect(line('vipwasm_forwarder_rejects_total{service_port="default/empty",protocol="TCP",reason="no_endpoints"}')).toBe(1);
      expect(line('vipwasm_forwarder_listeners{protocol="TCP"}')).toBe(2);
      expect(line('vipwasm_engine_flows')).toBe(3);
      expect(line('vipwasm_engine_service_ports')).toBe(2);
      expect(line('vipwasm_engine_affinities_dropped_on_swap')).toBe(0);
      // Per service port flow-table entries: closed flows linger inactive (tcpfin timeout).
      const flows = (text: string, state: string): number =>
        Number(text.split('\n').find((l) => l.startsWith(`vipwasm_engine_service_port_flows{service_port="default/web",protocol="TCP",state="${state}"}`))?.split(' ').pop());
      expect(flows(m.body, 'inactive')).toBe(3);
      expect(flows(m.body, 'active')).toBe(0);
      // kube-proxy's own sync metrics, with its names and labels (host/metrics/kube-proxy.ts).
      expect(line('kubeproxy_sync_proxy_rules_duration_seconds_count{ip_family="IPv4"}')).toBe(1);
      expect(line('kubeproxy_sync_full_proxy_rules_duration_seconds_count{ip_family="IPv4"}')).toBe(1);
      expect(line('kubeproxy_sync_proxy_rules_last_timestamp_seconds{ip_family="IPv4"}')).toBeGreaterThan(Date.now() / 1000 - 60);
      expect(m.body).not.toContain('vipwasm_sync_proxy_rules_duration_seconds');
      // An open connection counts as active in the engine until it closes.
      const held = net.connect({ host: '127.97.4.1', port: 80 });
      await new Promise((r) => {
        held.once('data', r);
        held.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
      });
      const m2 = await fetchText(`http://${ops.metrics}/metrics`);
      held.destroy();
      expect(flows(m2.body, 'active')).toBe(1);
      expect(flows(m2.body, 'inactive')).toBe(3);
      expect((await fetchText(`http://${ops.metrics}/proxyMode`)).body).toBe('userspace');
      expect((await fetchText(`http://${ops.metrics}/nope`)).status).toBe(404);
    } finally {
      await f.close();
    }
  });

  it('answers /healthz like kube-proxy: 200 with lastUpdated, 503 once an update waits too long', async () => {
    const f = await startForwarder(model([servicePort('web', { clusterIPs: ['127.97.4.3'], backends: [backend(PODS[0]!, 9376)] })]), { healthTimeoutMs: 200 });
    try {
      const ops = await f.serveOperations(null, '127.0.0.1:0');
      const ok = await fetchText(`http://${ops.healthz}/healthz`);
      expect(ok.status).toBe(200);
      expect(ok.headers['content-type']).toBe('application/json');
      const body = JSON.parse(ok.body) as { lastUpdated: string; currentTime: string; nodeEligible: boolean };
      expect(Date.parse(body.lastUpdated)).toBeGreaterThan(Date.now() - 60_000);
      expect(body.nodeEligible).toBe(true);
      f.queued(); // a change arrived and is not applied
      await new Promise((r) => setTimeout(r, 300));
      expect((await fetchText(`http://${ops.healthz}/healthz`)).status).toBe(503);
      await f.sync(model([servicePort('web', { clusterIPs: ['127.97.4.3'], backends: [backend(PODS[0]!, 9376)] })]));
      expect((await fetchText(`http://${ops.healthz}/healthz`)).status).toBe(200);
      expect((await fetchText(`http://${ops.healthz}/livez`)).status).toBe(200);
      // Each answer is counted by status code, as kube-proxy's kubeproxy_proxy_healthz_total / _livez_total.
      const metrics = await f.metrics.registry.metrics();
      expect(metrics).toContain('kubeproxy_proxy_healthz_total{code="200"} 2');
      expect(metrics).toContain('kubeproxy_proxy_healthz_total{code="503"} 1');
      expect(metrics).toContain('kubeproxy_proxy_livez_total{code="200"} 1');
    } finally {
      await f.close();
    }
  });

  it('serves healthCheckNodePort for an externalTrafficPolicy Local LoadBalancer with the local endpoint count', async () => {
    const lb = (local: boolean) =>
      model(
        [
          servicePort('lb', {
            type: 'LoadBalancer',
            externalTrafficPolicy: 'Local',
            healthCheckNodePort: 32123,
            nodePort: 30123,
            clusterIPs: ['127.97.4.4'],
            backends: [backend(PODS[0]!, 9376, { local, external: local })],
          }),
        ],
        ['127.245.4.100'],
      );
    const f = await startForwarder(lb(true));
    try {
      const up = await fetchText('http://127.245.4.100:32123/healthz');
      expect(up.status).toBe(200);
      expect(JSON.parse(up.body)).toEqual({ service: { namespace: 'default', name: 'lb' }, localEndpoints: 1, serviceProxyHealthy: true });
      expect(up.headers['x-load-balancing-endpoint-weight']).toBe('1');
      await f.sync(lb(false));
      const down = await fetchText('http://127.245.4.100:32123/healthz');
      expect(down.status).toBe(503);
      expect(JSON.parse(down.body)).toMatchObject({ localEndpoints: 0, serviceProxyHealthy: true });
    } finally {
      await f.close();
    }
  });
});

describe('drain', () => {
  it('stops accepting, answers 503, lets open connections run for the grace period, then cuts them', async () => {
    const echo = await echoServer('127.245.4.21', 7000);
    const f = await startForwarder(model([servicePort('echo', { port: 7000, clusterIPs: ['127.97.4.20'], backends: [backend('127.245.4.21', 7000)] })]));
    const held = net.connect({ host: '127.97.4.20', port: 7000 });
    held.on('error', () => undefined);
    const closed = new Promise<void>((r) => held.once('close', () => r()));
    const ask = (text: string): Promise<string> =>
      new Promise((r) => {
        held.once('data', (d: Buffer) => r(d.toString()));
        held.write(text);
      });
    try {
      const ops = await f.serveOperations(null, '127.0.0.1:0');
      expect(await ask('before')).toBe('before');
      const drained = f.drain(1500);
      const during = await fetchText(`http://${ops.healthz}/healthz`);
      expect(during.status).toBe(503);
      expect(JSON.parse(during.body)).toMatchObject({ nodeEligible: false });
      expect(await connectOutcome('127.97.4.20', 7000)).toBe('refused');
      expect(await ask('during the grace period')).toBe('during the grace period');
      expect(await drained).toEqual({ aborted: 1 });
      await closed;
      await eventually(() => f.openConnections === 0);
    } finally {
      held.destroy();
      await f.close();
      await echo.stop();
    }
  });
});

const root = resolve(import.meta.dirname, '../..');
const cliEntry = join(root, 'test/e2e/forwarder/cli-entry.ts');

const AS_NOBODY = ['--reuid=nobody', '--regid=nogroup', '--clear-groups'];

/** Whether user `nobody` can read these files (a checkout under /root, for one, it cannot). */
function nobodyCanRead(files: string[]): boolean {
  const check = `for (const f of ${JSON.stringify(files)}) require('node:fs').accessSync(f, require('node:fs').constants.R_OK)`;
  return spawnSync('setpriv', [...AS_NOBODY, process.execPath, '-e', check], { timeout: 10_000 }).status === 0;
}

function runCli(args: string[]): ChildProcessWithoutNullStreams {
  return spawn(process.execPath, ['--import', 'tsx', cliEntry, ...args], { cwd: root, env: { ...process.env, NODE_OPTIONS: '' } });
}

function manifest(name: string, clusterIP: string, podIP: string): string {
  return `apiVersion: v1
kind: Service
metadata: { name: ${name}, namespace: default }
spec: { clusterIP: ${clusterIP}, selector: { app: ${name} }, ports: [{ port: 7000, targetPort: 7000 }] }
---
apiVersion: v1
kind: Pod
metadata: { name: ${name}-0, namespace: default, labels: { app: ${name} } }
spec: { nodeName: n1, containers: [{ name: c, image: x }] }
status: { phase: Running, podIP: ${podIP}, podIPs: [{ ip: ${podIP} }], conditions: [{ type: Ready, status: "True" }] }
`;
}

describe('vipwasm forward (the real CLI)', () => {
  it('serves the files, follows a new file, drains on SIGTERM and exits 0', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vipwasm-fwd-'));
    const echoes = await Promise.all([echoServer('127.245.4.11', 7000), echoServer('127.245.4.12', 7000)]);
    writeFileSync(join(dir, 'a.yaml'), manifest('alpha', '127.97.4.10', '127.245.4.11'));
    const child = runCli(['forward', '-f', dir, '--service-cluster-ip-range', '127.97.0.0/16', '--node-name', 'n1',
      '--metrics-bind-address', '127.0.0.1:0', '--healthz-bind-address', '127.0.0.1:0', '--shutdown-grace', '10s', '--log-level', 'info']);
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    try {
      await eventually(() => out.includes('vipwasm forward: serving'), 20_000);
      expect(out).toMatch(/serving 1 services, 1 service ports, 1 endpoints, 1 listeners; scheduler rr, connect timeout 2000ms, 2 retries, udp timeout 300s; metrics http:\/\/127\.0\.0\.1:\d+\/metrics, healthz http:\/\/127\.0\.0\.1:\d+\/healthz/);
      const held = net.connect({ host: '127.97.4.10', port: 7000 });
      const ask = (text: string): Promise<string> =>
        new Promise((r) => {
          held.once('data', (d: Buffer) => r(d.toString()));
          held.write(text);
        });
      expect(await ask('one')).toBe('one');

      writeFileSync(join(dir, 'b.yaml'), manifest('beta', '127.97.4.11', '127.245.4.12'));
      await eventually(async () => (await connectOutcome('127.97.4.11', 7000, 200)) === 'open', 10_000);

      const t0 = Date.now();
      child.kill('SIGTERM');
      await eventually(async () => (await connectOutcome('127.97.4.10', 7000, 200)) === 'refused', 5000);
      expect(await ask('still served while draining')).toBe('still served while draining');
      held.end();
      expect(await exited).toBe(0);
      expect(Date.now() - t0).toBeLessThan(8000);
      expect(err).toContain('"msg":"draining"');
    } finally {
      child.kill('SIGKILL');
      await closeAll(...echoes);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('exits 2 naming the flag on bad input', async () => {
    const child = runCli(['forward', '-f', '/nonexistent', '--connect-retries', 'many']);
    let err = '';
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    expect(code).toBe(2);
    expect(err).toContain('--connect-retries: "many" must be an integer from 0 to 16');
  });
});

describe('vipwasm demo (the real CLI)', () => {
  it('curls the hostnames ClusterIP ten times across the three pods and exits with --exit', async () => {
    const child = runCli(['demo', '--exit', '--metrics-bind-address', '127.0.0.1:0', '--healthz-bind-address', 'off']);
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    expect(code).toBe(0);
    expect(out).toMatch(/vipwasm demo: Service default\/hostnames ClusterIP 127\.96\.\d+\.\d+:(80|8080) → 127\.244\.0\.1:9376, 127\.244\.0\.2:9376, 127\.244\.0\.3:9376 \(scheduler rr\)/);
    const answers = out.split('\n').filter((l) => l.startsWith('<p>The host is'));
    expect(answers).toHaveLength(10);
    expect(answers.slice(0, 3)).toEqual(['<p>The host is hostnames-1</p>', '<p>The host is hostnames-2</p>', '<p>The host is hostnames-3</p>']);
  });

  it('keeps serving without root, prints how to curl it and where the metrics are, and exits 0 on SIGTERM', async () => {
    // As root, run it as `nobody` to show it needs no privileges (port 80 may then be shifted),
    // when `nobody` can read the checkout; setpriv execs, so the signals below reach the demo.
    const asNobody = process.getuid?.() === 0 && nobodyCanRead([cliEntry, join(root, 'node_modules/tsx/package.json'), join(root, 'build/engine.wasm')]);
    const args = [cliEntry, 'demo', '--metrics-bind-address', '127.0.0.1:0', '--healthz-bind-address', '127.0.0.1:0'];
    const child = asNobody
      ? spawn('setpriv', [...AS_NOBODY, process.execPath, '--import', 'tsx', ...args], { cwd: root, env: { ...process.env, NODE_OPTIONS: '', HOME: tmpdir() } })
      : spawn(process.execPath, ['--import', 'tsx', ...args], { cwd: root, env: { ...process.env, NODE_OPTIONS: '' } });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    const exited = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    try {
      await eventually(() => out.includes('Press Ctrl-C to stop.'), 20_000);
      expect(out.split('\n').filter((l) => l.startsWith('<p>The host is hostnames-'))).toHaveLength(10);
      const url = /Serving\. Try: {2}curl (http:\/\/127\.96\.\d+\.\d+(?::8080)?\/)\n/.exec(out)?.[1];
      expect(url).toBeDefined();
      if (asNobody && Number(readFileSync('/proc/sys/net/ipv4/ip_unprivileged_port_start', 'utf8')) > 80) expect(url).toContain(':8080');
      if (url!.includes(':8080')) expect(out).toContain('served shifted: 80 → 8080');
      expect((await fetchText(url!)).body.trim()).toBe('<p>The host is hostnames-2</p>'); // rr: the 11th request
      const metricsUrl = /Metrics: +curl (http:\/\/127\.0\.0\.1:\d+\/metrics)\n/.exec(out)?.[1];
      const metrics = await fetchText(metricsUrl!);
      expect(metrics.body).toContain('vipwasm_forwarder_connections_total{service_port="default/hostnames",protocol="TCP"} 11\n');
      const healthUrl = /Health: +curl (http:\/\/127\.0\.0\.1:\d+\/healthz)\n/.exec(out)?.[1];
      expect((await fetchText(healthUrl!)).status).toBe(200);
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
