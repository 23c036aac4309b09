/**
 * kube-proxy and `vipwasm rules --watch` side by side in network namespaces of their own, both
 * reaching one {@link Cluster}'s API server (which listens on host loopback only) through a
 * unix-socket relay: used by the kube-proxy bench and the metrics oracle test. Each namespace has
 * lo and a veth "eth0" with the node address, and no route out.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { type Cluster, freePort, k8sBinary, writeKubeconfig } from './cluster.js';

const execFileP = promisify(execFile);
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export type ProxyMode = 'iptables' | 'nftables';

export interface ProxyRun {
  readonly name: 'kube-proxy' | 'vipwasm';
  readonly netns: string;
  readonly child: ChildProcess;
  /** Last 4 KB of its stderr. */
  log(): string;
}

export interface ProxySettings {
  readonly mode: ProxyMode;
  readonly nodeName: string;
  readonly nodeIP: string;
  readonly clusterCIDR: string;
  /** e.g. 127.0.0.1:10249 inside the namespace; omitted: vipwasm serves none, kube-proxy its default. */
  readonly metricsBindAddress?: string;
  readonly minSyncPeriod?: string;
  /** More node IPs (e.g. the IPv6 one of a dual-stack node), for vipwasm's `--node-ip`. */
  readonly extraNodeIPs?: readonly string[];
  /** vipwasm's `--service-cluster-ip-range` (kube-proxy reads the cluster's ServiceCIDRs). */
  readonly serviceCIDR?: string;
  /** `--masquerade-all` / masqueradeAll: SNAT every packet to a ClusterIP. */
  readonly masqueradeAll?: boolean;
  /** `--nodeport-addresses` / nodePortAddresses: NodePorts only on node addresses in these CIDRs. */
  readonly nodePortAddresses?: readonly string[];
}

async function sh(cmd: string, args: string[]): Promise<string> {
  return (await execFileP(cmd, args, { maxBuffer: 1 << 30 })).stdout;
}

/** Runs a command inside `netns`; resolves with stdout. */
export function inNetnsOutput(netns: string, argv: string[]): Promise<string> {
  return sh('ip', ['netns', 'exec', netns, ...argv]);
}

/**
 * Creates `name` with lo up and a veth "eth0" (its peer inside too) holding `nodeIP`/24 (and each of
 * `extraIPs`, /64 for IPv6, without duplicate address detection), no default route.
 */
export async function makeNetns(name: string, nodeIP: string, extraIPs: readonly string[] = []): Promise<void> {
  await sh('ip', ['netns', 'add', name]);
  try {
    const x = (...a: string[]) => inNetnsOutput(name, a);
    await x('ip', 'link', 'set', 'lo', 'up');
    await x('ip', 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0-peer');
    await x('ip', 'link', 'set', 'eth0-peer', 'up');
    await x('ip', 'addr', 'add', `${nodeIP}/24`, 'dev', 'eth0');
    for (const ip of extraIPs) await x('ip', 'addr', 'add', `${ip}/${ip.includes(':') ? 64 : 24}`, 'dev', 'eth0', ...(ip.includes(':') ? ['nodad'] : []));
    await x('ip', 'link', 'set', 'eth0', 'up');
  } catch (err) {
    await deleteNetns(name);
    throw err;
  }
}

export async function deleteNetns(name: string): Promise<void> {
  await sh('ip', ['netns', 'del', name]).catch(() => undefined);
}

/** Polls `check` every 20 ms; resolves with the ms it took, rejects after `timeoutMs`. */
export async function until(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<number> {
  const start = performance.now();
  while (!(await check())) {
    if (performance.now() - start > timeoutMs) throw new Error(`${what}: not reached in ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return performance.now() - start;
}

/**
 * A kubeconfig that reaches the API server from inside `netns`: socat listens on a unix socket in
 * `dir` on the host side and on 127.0.0.1:<free port> inside the namespace.
 */
export async function relayKubeconfig(cluster: Cluster, dir: string, netns: string): Promise<{ kubeconfig: string; relays: ChildProcess[] }> {
  const sock = join(dir, `api-${netns}.sock`);
  const apiPort = new URL(cluster.server).port;
  const relayPort = await freePort();
  const hostRelay = spawn('socat', [`UNIX-LISTEN:${sock},fork`, `TCP:127.0.0.1:${apiPort}`], { stdio: 'ignore' });
  await until('relay socket', async () => (await sh('ls', [dir])).includes(`api-${netns}.sock`), 5000);
  const nsRelay = spawn('ip', ['netns', 'exec', netns, 'socat', `TCP-LISTEN:${relayPort},bind=127.0.0.1,fork,reuseaddr`, `UNIX-CONNECT:${sock}`], { stdio: 'ignore' });
  const kubeconfig = join(dir, `${netns}.kubeconfig`);
  writeKubeconfig(kubeconfig, `https://127.0.0.1:${relayPort}`, join(cluster.options.dir, 'pki', 'ca.crt'), 'admin-token-vipwasm');
  return { kubeconfig, relays: [hostRelay, nsRelay] };
}

/** The real kube-proxy in `netns`, configured by a KubeProxyConfiguration file written to `dir`. */
export function startKubeProxy(kubeconfig: string, dir: string, netns: string, s: ProxySettings): ProxyRun {
  const config = join(dir, `kube-proxy-${netns}.yaml`);
  const minSyncPeriod = s.minSyncPeriod ?? '1s';
  writeFileSync(
    config,
    JSON.stringify({
      apiVersion: 'kubeproxy.config.k8s.io/v1alpha1',
      kind: 'KubeProxyConfiguration',
      clientConnection: { kubeconfig },
      mode: s.mode,
      hostnameOverride: s.nodeName,
      clusterCIDR: s.clusterCIDR,
      iptables: { minSyncPeriod, syncPeriod: '30s', masqueradeAll: s.masqueradeAll ?? false },
      nftables: { minSyncPeriod, syncPeriod: '30s', masqueradeAll: s.masqueradeAll ?? false },
      ...(s.nodePortAddresses ? { nodePortAddresses: s.nodePortAddresses } : {}),
      conntrack: { maxPerCore: 0 },
      metricsBindAddress: s.metricsBindAddress ?? '127.0.0.1:10249',
      healthzBindAddress: '127.0.0.1:10256',
    }),
  );
  return inNetns('kube-proxy', netns, [k8sBinary('kube-proxy'), '--config', config, '-v', '0']);
}

/** `vipwasm rules --watch` in `netns`, as kube-proxy runs, so neither pays for `ip netns exec` per sync. */
export function startVipwasm(kubeconfig: string, netns: string, s: ProxySettings, nodeArgs: readonly string[] = []): ProxyRun {
  return inNetns('vipwasm', netns, [
    process.execPath, ...nodeArgs, join(root, 'bin/vipwasm.js'), 'rules', '--kubeconfig', kubeconfig, '--mode', s.mode, '--watch',
    '--node-name', s.nodeName, '--node-ip', [s.nodeIP, ...(s.extraNodeIPs ?? [])].join(','), '--cluster-cidr', s.clusterCIDR,
    ...(s.serviceCIDR ? ['--service-cluster-ip-range', s.serviceCIDR] : []), '--min-sync-period', s.minSyncPeriod ?? '1s', '--sync-period', '30s',
    ...(s.metricsBindAddress ? ['--metrics-bind-address', s.metricsBindAddress] : []),
    ...(s.masqueradeAll ? ['--masquerade-all'] : []),
    ...(s.nodePortAddresses ? ['--nodeport-addresses', s.nodePortAddresses.join(',')] : []),
  ]);
}

/** `ip netns exec` execs the command, so the child's pid is the proxy's own. */
function inNetns(name: ProxyRun['name'], netns: string, argv: string[]): ProxyRun {
  const child = spawn('ip', ['netns', 'exec', netns, ...argv], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr!.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-4000)));
  return { name, netns, child, log: () => log };
}

/** SIGTERM, then SIGKILL after 5 s; resolves once the process is gone. */
export async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(t);
}
