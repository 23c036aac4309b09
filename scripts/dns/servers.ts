/**
 * The two cluster DNS servers the comparison test and the bench run side by side against one real
 * API server: the real CoreDNS (built by scripts/dns/setup-coredns.sh, `kubernetes` plugin) and
 * `vipwasm dns --kubeconfig`, each on 127.0.0.1 and a free port, with the same zone, TTL and pod
 * mode (kubeadm's Corefile: `pods insecure`, `ttl 30`). Neither has an upstream: names outside
 * the cluster's zones are REFUSED by both.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { freePort } from '../k8s/cluster.js';
import { stopProcess, until } from '../k8s/proxies.js';
import { queryDns } from './client.js';

export const COREDNS_VERSION = 'v1.14.7';
export const COREDNS_BIN = join(process.env.VIPWASM_CACHE ?? join(homedir(), '.cache', 'vipwasm'), 'coredns', COREDNS_VERSION, 'coredns');
export const DNS_TTL = 30;
const root = resolve(import.meta.dirname, '../..');

export function corednsToolchain(): { ok: true } | { ok: false; reason: string } {
  return existsSync(COREDNS_BIN) ? { ok: true } : { ok: false, reason: `CoreDNS ${COREDNS_VERSION} not built (${COREDNS_BIN} missing; run bash scripts/dns/setup-coredns.sh, which needs Go)` };
}

export interface DnsRun {
  readonly name: 'coredns' | 'vipwasm';
  readonly child: ChildProcess;
  readonly server: { host: string; port: number };
  log(): string;
}

function track(name: DnsRun['name'], child: ChildProcess, port: number): DnsRun {
  let log = '';
  const keep = (d: Buffer): void => void (log = (log + d.toString()).slice(-6000));
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return { name, child, server: { host: '127.0.0.1', port }, log: () => log };
}

/**
 * Waits until `run` answers over UDP and over TCP (the comparison asks over TCP): a server that
 * says it is ready may still be opening one of its sockets on a busy machine.
 */
async function answersOnBoth(run: DnsRun): Promise<void> {
  for (const transport of ['udp', 'tcp'] as const) {
    await until(`${run.name} answers over ${transport}`, async () => {
      if (run.child.exitCode !== null) throw new Error(`${run.name} exited ${run.child.exitCode}`);
      return queryDns(run.server, 'dns-version.cluster.local', 'TXT', transport).then(() => true, () => false);
    }, 30_000);
  }
}

/** CoreDNS authoritative for cluster.local and the reverse zones, reading the API via `kubeconfig`. */
export async function startCoreDNS(kubeconfig: string, dir: string): Promise<DnsRun> {
  const port = await freePort();
  const ready = await freePort();
  const corefile = join(dir, 'Corefile');
  writeFileSync(corefile, `cluster.local in-addr.arpa ip6.arpa {
    bind 127.0.0.1
    errors
    ready 127.0.0.1:${ready}
    kubernetes cluster.local in-addr.arpa ip6.arpa {
        kubeconfig ${kubeconfig}
        pods insecure
        ttl ${DNS_TTL}
    }
}
`);
  const child = spawn(COREDNS_BIN, ['-conf', corefile, '-dns.port', String(port)], { stdio: ['ignore', 'pipe', 'pipe'] });
  const run = track('coredns', child, port);
  try {
    await until('coredns ready', async () => child.exitCode !== null || (await fetch(`http://127.0.0.1:${ready}/ready`).then((r) => r.ok, () => false)), 60_000);
    if (child.exitCode !== null) throw new Error(`coredns exited ${child.exitCode}`);
    await answersOnBoth(run);
  } catch (err) {
    await stopProcess(child);
    throw new Error(`${(err as Error).message}; its log: ${run.log()}`);
  }
  return run;
}

/** `vipwasm dns --kubeconfig` from the built CLI (bin/vipwasm.js), as a user runs it. */
export async function startVipwasmDns(kubeconfig: string, nodeArgs: readonly string[] = []): Promise<DnsRun> {
  const port = await freePort();
  const child = spawn(process.execPath, [...nodeArgs, join(root, 'bin/vipwasm.js'), 'dns', '--kubeconfig', kubeconfig, '--dns-bind-address', `127.0.0.1:${port}`,
    '--dns-upstream', 'none', '--dns-ttl', String(DNS_TTL), '--pod-records', 'insecure', '--log-level', 'warn'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const run = track('vipwasm', child, port);
  try {
    await until('vipwasm dns serving', async () => run.log().includes('vipwasm dns: serving') || child.exitCode !== null, 60_000);
    if (child.exitCode !== null) throw new Error(`vipwasm dns exited ${child.exitCode}`);
    // Serving starts after the first full list; answered queries show both sockets are up.
    await answersOnBoth(run);
  } catch (err) {
    await stopProcess(child);
    throw new Error(`${(err as Error).message}; its log: ${run.log()}`);
  }
  return run;
}
