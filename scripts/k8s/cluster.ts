/**
 * A real Kubernetes control plane on loopback for tests and benchmarks: etcd, kube-apiserver
 * (TLS from a CA made here, static admin token, ServiceAccount signing keys, RBAC) and
 * kube-controller-manager (the real EndpointSlice controller, garbage collector, namespace and
 * ServiceAccount controllers). There is no kubelet and no scheduler: pods are created with
 * `spec.nodeName` set and their status (podIP, Ready, terminating) is patched through the status
 * subresource, so the real controller makes the EndpointSlices.
 *
 * The binaries come from `npm run setup:k8s` (scripts/k8s/setup.sh); {@link k8sToolchain} says
 * why a suite must skip when they are missing.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);

/** The pinned release scripts/k8s/setup.sh builds. */
export const K8S_VERSION = 'v1.37.2';

/** Where scripts/k8s/setup.sh caches the binaries. */
export const K8S_BIN = join(process.env.VIPWASM_CACHE ?? join(homedir(), '.cache', 'vipwasm'), 'k8s', K8S_VERSION, 'bin');

const BINARIES = ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-proxy', 'kubectl'] as const;
export type K8sBinary = (typeof BINARIES)[number];

/** The path of one cached binary. */
export function k8sBinary(name: K8sBinary): string {
  return join(K8S_BIN, name);
}

/** `{ ok: true }` when every binary is built, else the reason a suite skips. */
export function k8sToolchain(): { ok: true } | { ok: false; reason: string } {
  const missing = BINARIES.filter((b) => !existsSync(k8sBinary(b)));
  if (missing.length === 0) return { ok: true };
  return { ok: false, reason: `real Kubernetes ${K8S_VERSION} not built (${missing.join(', ')} missing in ${K8S_BIN}; run npm run setup:k8s, which needs Go)` };
}

export interface ClusterOptions {
  /** Working directory for data, certificates, logs and the kubeconfig (created; removed by stop unless keep). */
  dir: string;
  /** `--service-cluster-ip-range`; default dual-stack 10.96.0.0/12,fd00:10:96::/108. */
  serviceCIDR?: string;
  /** `--service-node-port-range`; default 30000-32767. */
  nodePortRange?: string;
  /** Extra kube-apiserver flags. */
  apiserverArgs?: string[];
  /** Let the processes outlive this one (`npm run cluster:up`); stop them with {@link stopByPids}. */
  detached?: boolean;
}

interface Ports {
  etcdClient: number;
  etcdPeer: number;
  apiserver: number;
}

/** A running control plane. */
export class Cluster {
  /** The admin kubeconfig (token of a system:masters user). */
  readonly kubeconfig: string;
  /** `https://127.0.0.1:<port>`. */
  readonly server: string;
  private readonly procs = new Map<string, ChildProcess>();

  private constructor(
    readonly options: Required<ClusterOptions>,
    private readonly ports: Ports,
  ) {
    this.kubeconfig = join(options.dir, 'admin.kubeconfig');
    this.server = `https://127.0.0.1:${ports.apiserver}`;
  }

  /** Starts etcd, kube-apiserver and kube-controller-manager and waits until the API answers. */
  static async start(options: ClusterOptions): Promise<Cluster> {
    const tool = k8sToolchain();
    if (!tool.ok) throw new Error(tool.reason);
    const opts = {
      dir: options.dir,
      serviceCIDR: options.serviceCIDR ?? '10.96.0.0/12,fd00:10:96::/108',
      nodePortRange: options.nodePortRange ?? '30000-32767',
      apiserverArgs: options.apiserverArgs ?? [],
      detached: options.detached ?? false,
    };
    mkdirSync(opts.dir, { recursive: true });
    // A free port is free when picked, not when etcd or the apiserver binds it: another test may
    // take it in between. That loss is retried with new ports (twice); any other failure is not.
    for (let attempt = 1; ; attempt++) {
      const ports = { etcdClient: await freePort(), etcdPeer: await freePort(), apiserver: await freePort() };
      const cluster = new Cluster(opts, ports);
      try {
        await cluster.writeCredentials();
        cluster.startEtcd();
        await cluster.startApiserver();
      } catch (err) {
        for (const name of ['kube-apiserver', 'etcd']) await cluster.stopProcess(name);
        if (attempt >= 3 || !cluster.lostPortRace()) throw err;
        // Start the next attempt clean: etcd may have written its member with the old peer URL.
        for (const f of ['etcd', 'etcd.log', 'kube-apiserver.log']) rmSync(cluster.path(f), { recursive: true, force: true });
        continue;
      }
      cluster.startControllerManager();
      return cluster;
    }
  }

  /** Whether etcd or the apiserver failed because a port picked for it was taken meanwhile. */
  private lostPortRace(): boolean {
    return ['etcd', 'kube-apiserver'].some((name) => {
      const log = this.path(`${name}.log`);
      return existsSync(log) && /bind: address already in use/.test(readFileSync(log, 'utf8'));
    });
  }

  /** Runs kubectl against this cluster; resolves with stdout, rejects with stderr on failure. */
  async kubectl(args: string[], input?: string): Promise<string> {
    const child = execFileP(k8sBinary('kubectl'), ['--kubeconfig', this.kubeconfig, ...args], { maxBuffer: 64 << 20 });
    if (input !== undefined) {
      child.child.stdin!.end(input);
    }
    try {
      return (await child).stdout;
    } catch (err) {
      const e = err as { stderr?: string; message: string };
      throw new Error(`kubectl ${args.join(' ')}: ${e.stderr?.trim() || e.message}`);
    }
  }

  /** `kubectl apply -f -` of YAML or JSON text. */
  apply(manifest: string): Promise<string> {
    return this.kubectl(['apply', '--server-side', '--force-conflicts', '-f', '-'], manifest);
  }

  /**
   * Makes a pod look the way kubelet would report it: podIP(s), phase Running, Ready as given.
   * The pod must have been created with `spec.nodeName`.
   */
  async setPodStatus(namespace: string, name: string, status: { ips: string[]; ready: boolean }): Promise<void> {
    const now = new Date().toISOString();
    const patch = {
      status: {
        phase: 'Running',
        podIP: status.ips[0],
        podIPs: status.ips.map((ip) => ({ ip })),
        conditions: [
          { type: 'Ready', status: status.ready ? 'True' : 'False', lastTransitionTime: now },
          { type: 'ContainersReady', status: status.ready ? 'True' : 'False', lastTransitionTime: now },
        ],
      },
    };
    await this.kubectl(['patch', 'pod', '-n', namespace, name, '--subresource=status', '--type=merge', '-p', JSON.stringify(patch)]);
  }

  /**
   * Restarts kube-apiserver on the same port (watches break and must resume). `whileDown` runs
   * after it has stopped and before it starts again, for checks of what clients do without it.
   */
  async restartApiserver(whileDown?: () => Promise<void>): Promise<void> {
    await this.stopProcess('kube-apiserver');
    try {
      await whileDown?.();
    } finally {
      await this.startApiserver();
    }
  }

  /** Compacts etcd to its current revision, so watches from older resourceVersions get 410 Gone. */
  async compactEtcd(): Promise<void> {
    const res = await fetch(`http://127.0.0.1:${this.ports.etcdClient}/v3/kv/range`, {
      method: 'POST',
      body: JSON.stringify({ key: Buffer.from('/').toString('base64') }),
    });
    const { header } = (await res.json()) as { header: { revision: string } };
    const compact = await fetch(`http://127.0.0.1:${this.ports.etcdClient}/v3/kv/compaction`, {
      method: 'POST',
      body: JSON.stringify({ revision: header.revision, physical: true }),
    });
    if (!compact.ok) throw new Error(`etcd compaction: HTTP ${compact.status} ${await compact.text()}`);
  }

  /** Stops every process (controller-manager, apiserver, etcd) and removes the directory. */
  async stop(opts: { keep?: boolean } = {}): Promise<void> {
    for (const name of ['kube-controller-manager', 'kube-apiserver', 'etcd']) await this.stopProcess(name);
    if (!opts.keep) rmSync(this.options.dir, { recursive: true, force: true });
  }

  /** The pids of the running processes, for `cluster:down` from another process. */
  pids(): Record<string, number> {
    return Object.fromEntries([...this.procs].map(([n, p]) => [n, p.pid!]));
  }

  private path(name: string): string {
    return join(this.options.dir, name);
  }

  private async writeCredentials(): Promise<void> {
    const pki = this.path('pki');
    mkdirSync(pki, { recursive: true });
    const ssl = (args: string[]) => execFileP('openssl', args, { cwd: pki });
    await ssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '30', '-subj', '/CN=vipwasm-test-ca']);
    await ssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'apiserver.key', '-out', 'apiserver.csr', '-subj', '/CN=kube-apiserver']);
    writeFileSync(join(pki, 'san.ext'), 'subjectAltName=IP:127.0.0.1,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default.svc\n');
    await ssl(['x509', '-req', '-in', 'apiserver.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'apiserver.crt', '-days', '30', '-extfile', 'san.ext']);
    await ssl(['genrsa', '-out', 'sa.key', '2048']);
    await ssl(['rsa', '-in', 'sa.key', '-pubout', '-out', 'sa.pub']);
    writeFileSync(join(pki, 'tokens.csv'), 'admin-token-vipwasm,admin,admin,system:masters\n');
    writeKubeconfig(this.kubeconfig, this.server, join(pki, 'ca.crt'), 'admin-token-vipwasm');
  }

  private startEtcd(): void {
    const { etcdClient, etcdPeer } = this.ports;
    this.spawn('etcd', k8sBinary('etcd'), [
      '--data-dir', this.path('etcd'),
      '--listen-client-urls', `http://127.0.0.1:${etcdClient}`,
      '--advertise-client-urls', `http://127.0.0.1:${etcdClient}`,
      '--listen-peer-urls', `http://127.0.0.1:${etcdPeer}`,
      '--initial-advertise-peer-urls', `http://127.0.0.1:${etcdPeer}`,
      '--initial-cluster', `default=http://127.0.0.1:${etcdPeer}`,
      '--unsafe-no-fsync',
      '--log-level', 'warn',
    ]);
  }

  private async startApiserver(): Promise<void> {
    const pki = this.path('pki');
    this.spawn('kube-apiserver', k8sBinary('kube-apiserver'), [
      '--etcd-servers', `http://127.0.0.1:${this.ports.etcdClient}`,
      '--bind-address', '127.0.0.1',
      '--advertise-address', '127.0.0.1',
      '--secure-port', String(this.ports.apiserver),
      '--tls-cert-file', join(pki, 'apiserver.crt'),
      '--tls-private-key-file', join(pki, 'apiserver.key'),
      '--client-ca-file', join(pki, 'ca.crt'),
      '--token-auth-file', join(pki, 'tokens.csv'),
      '--service-account-issuer', 'https://kubernetes.default.svc.cluster.local',
      '--service-account-key-file', join(pki, 'sa.pub'),
      '--service-account-signing-key-file', join(pki, 'sa.key'),
      '--authorization-mode', 'RBAC',
      '--service-cluster-ip-range', this.options.serviceCIDR,
      '--service-node-port-range', this.options.nodePortRange,
      '--endpoint-reconciler-type', 'none',
      '--cert-dir', this.path('apiserver-certs'),
      '-v', '1',
      ...this.options.apiserverArgs,
    ]);
    await this.waitReady();
  }

  private startControllerManager(): void {
    const pki = this.path('pki');
    this.spawn('kube-controller-manager', k8sBinary('kube-controller-manager'), [
      '--kubeconfig', this.kubeconfig,
      '--controllers', 'endpointslice,endpointslicemirroring,garbagecollector,namespace,serviceaccount',
      '--service-account-private-key-file', join(pki, 'sa.key'),
      '--root-ca-file', join(pki, 'ca.crt'),
      '--secure-port', '0',
      '--leader-elect=false',
      '--concurrent-service-endpoint-syncs', '10',
      '--endpointslice-updates-batch-period', '0s',
      '-v', '1',
    ]);
  }

  private spawn(name: string, bin: string, args: string[]): void {
    const log = openSync(this.path(`${name}.log`), 'a');
    const child = spawn(bin, args, { stdio: ['ignore', log, log], detached: this.options.detached });
    if (this.options.detached) child.unref();
    child.on('exit', () => {
      if (this.procs.get(name) === child) this.procs.delete(name);
    });
    this.procs.set(name, child);
    if (!this.options.detached) killOnExit.add(child);
    child.on('exit', () => killOnExit.delete(child));
  }

  private async stopProcess(name: string): Promise<void> {
    const child = this.procs.get(name);
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }

  /** Waits for /readyz (up to 60 s), failing early with the log tail if the apiserver exits. */
  private async waitReady(): Promise<void> {
    const deadline = performance.now() + 60_000;
    for (;;) {
      if (!this.procs.has('kube-apiserver')) throw new Error(`kube-apiserver exited; see ${this.path('kube-apiserver.log')}`);
      try {
        await this.kubectl(['get', '--raw', '/readyz']);
        return;
      } catch (err) {
        if (performance.now() > deadline) throw new Error(`kube-apiserver not ready after 60 s: ${(err as Error).message}`);
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

/** Control-plane processes of this process's clusters: killed if it exits without stopping them. */
const killOnExit = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of killOnExit) child.kill('SIGKILL');
});

/** Stops processes a detached cluster left running (by their pids), newest first. */
export async function stopByPids(pids: Record<string, number>): Promise<void> {
  for (const name of ['kube-controller-manager', 'kube-apiserver', 'etcd']) {
    const pid = pids[name];
    if (pid === undefined || !alive(pid)) continue;
    process.kill(pid, 'SIGTERM');
    const deadline = performance.now() + 10_000;
    while (alive(pid) && performance.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    if (alive(pid)) process.kill(pid, 'SIGKILL');
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Writes a kubeconfig for a bearer token (the ServiceAccount suites use it too). */
export function writeKubeconfig(path: string, server: string, caFile: string, token: string): void {
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'vipwasm-test', cluster: { server, 'certificate-authority': caFile } }],
    users: [{ name: 'user', user: { token } }],
    contexts: [{ name: 'vipwasm-test', context: { cluster: 'vipwasm-test', user: 'user' } }],
    'current-context': 'vipwasm-test',
  };
  writeFileSync(path, JSON.stringify(config, null, 2));
}

/**
 * The first port of the kernel's ephemeral range (ip_local_port_range): `bind(0)` and every
 * outgoing `connect` take their ports from that range, never below it.
 */
function ephemeralStart(): number {
  try {
    const start = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(start) && start > 11000 ? start : 32768;
  } catch {
    return 32768;
  }
}

function bindable(host: string, port: number): Promise<number | null> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(null));
    srv.listen(port, host, () => {
      const got = (srv.address() as { port: number }).port;
      srv.close(() => resolve(got));
    });
  });
}

/**
 * A TCP port free on `host` right now, for a process that binds it a moment later. Picked at
 * random below the ephemeral range: a port from `bind(0)` comes out of that range, where any
 * process's next outgoing connection may take it before the listener binds (CI failures: etcd
 * "bind: address already in use" while kube-apiserver and the tests opened connections). Below
 * it only another test's random pick can collide. Falls back to `bind(0)` after 50 tries.
 */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const top = ephemeralStart();
  for (let i = 0; i < 50; i++) {
    const port = await bindable(host, 10000 + Math.floor(Math.random() * (top - 10000)));
    if (port !== null) return port;
  }
  const port = await bindable(host, 0);
  if (port === null) throw new Error(`no free TCP port on ${host}`);
  return port;
}
