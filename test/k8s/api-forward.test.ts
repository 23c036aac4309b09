/**
 * `vipwasm forward --kubeconfig` against a real API server, with real traffic: the forwarder, the
 * web Pods' servers and the client all run inside a network namespace this test creates (the
 * ClusterIPs are in 198.19.0.0/16, put on a dummy interface by --bind-vips; Pod IPs on lo; no route
 * out). The forwarder reaches the API server, which listens on host loopback only, through socat
 * in the namespace and a relay in this process the test can cut. What it serves is what a client
 * connecting to ClusterIP:port gets answered by.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { writeKubeconfig } from '../../scripts/k8s/cluster.js';
import { deleteNetns, inNetnsOutput, makeNetns, stopProcess, until } from '../../scripts/k8s/proxies.js';
import { NODE, POD_IPS, TARGET_PORT } from './api-cluster.js';
import { ApiRelay, VipwasmProcess } from './api-process.js';
import { describeFollowing } from './following.js';

const execFileP = promisify(execFile);
const clientScript = join(import.meta.dirname, '..', 'e2e', 'netns', 'client.mjs');
const holderScript = join(import.meta.dirname, '..', 'e2e', 'netns', 'holder.mjs');
const backendsScript = join(import.meta.dirname, 'backends.mjs');
/** Where socat listens inside the namespace (the namespace is ours alone). */
const API_PORT_IN_NETNS = 6443;

/** One connection held open through the forwarder; each ping must come back. */
class HeldConnection {
  private readonly lines: string[] = [];
  private pings = 0;
  constructor(readonly child: ChildProcess) {
    createInterface({ input: child.stdout! }).on('line', (l) => this.lines.push(l));
  }
  async greeting(): Promise<string> {
    await until('held connection greeting', async () => this.lines.length > 0, 10_000);
    return this.lines[0]!;
  }
  async ping(): Promise<void> {
    const word = `ping-${++this.pings}`;
    this.child.stdin!.write(`${word}\n`);
    await until(`echo of ${word} on the held connection (got ${this.lines.join(' | ')})`, async () => this.lines.includes(word), 10_000);
  }
}

describeFollowing('forward --kubeconfig follows a real API server', true, async (api) => {
  const netns = `vw-api-${process.pid}-fwd`;
  const children: ChildProcess[] = [];
  let proc: VipwasmProcess | undefined;
  let held: HeldConnection | undefined;
  const relay = new ApiRelay(Number(new URL(api.cluster.server).port), join(api.dir, 'api.sock'));

  const stop = async () => {
    await proc?.stop();
    for (const c of children) await stopProcess(c);
    await relay.cut();
    await deleteNetns(netns);
  };
  try {
    await makeNetns(netns, NODE.ip);
    for (const ip of Object.values(POD_IPS)) await inNetnsOutput(netns, ['ip', 'addr', 'add', `${ip}/32`, 'dev', 'lo']);
    const backends = spawn('ip', ['netns', 'exec', netns, process.execPath, backendsScript, ...Object.values(POD_IPS).map((ip) => `${ip}:${TARGET_PORT}`)], { stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(backends);
    await new Promise<void>((resolve, reject) => {
      backends.stdout!.once('data', () => resolve());
      backends.once('exit', (code) => reject(new Error(`backends exited ${code}`)));
    });
    await relay.restore();
    children.push(spawn('ip', ['netns', 'exec', netns, 'socat', `TCP-LISTEN:${API_PORT_IN_NETNS},bind=127.0.0.1,fork,reuseaddr`, `UNIX-CONNECT:${join(api.dir, 'api.sock')}`], { stdio: 'ignore' }));
    const kubeconfig = join(api.dir, 'forward.kubeconfig');
    writeKubeconfig(kubeconfig, `https://127.0.0.1:${API_PORT_IN_NETNS}`, join(api.cluster.options.dir, 'pki', 'ca.crt'), 'admin-token-vipwasm');
    proc = new VipwasmProcess([
      'forward', '--kubeconfig', kubeconfig, '--node-name', NODE.name, '--node-ip', NODE.ip, '--bind-vips',
      '--metrics-bind-address', 'off', '--healthz-bind-address', 'off', '--connect-timeout', '500ms', '--eject-duration', '0',
    ], { netns });
    await proc.waitFor(/^vipwasm forward: serving/);
  } catch (err) {
    await stop();
    throw err;
  }

  return {
    relay,
    process: proc!,
    async observe(clusterIP, port) {
      const out = await execFileP('ip', ['netns', 'exec', netns, process.execPath, clientScript, clusterIP, String(port), '6', '2000']);
      const results = JSON.parse(out.stdout) as { ok?: string }[];
      return [...new Set(results.filter((r) => r.ok).map((r) => r.ok!.split(' ')[0]!))];
    },
    async whileDisconnected(clusterIP) {
      if (!held) {
        // Opened on the first outage; it must outlive that one and every one after.
        const child = spawn('ip', ['netns', 'exec', netns, process.execPath, holderScript, clusterIP, '81'], { stdio: ['pipe', 'pipe', 'inherit'] });
        children.push(child);
        held = new HeldConnection(child);
        await held.greeting();
      }
      await held.ping();
    },
    stop,
  };
});
