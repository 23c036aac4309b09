/**
 * `vipwasm rules --watch --kubeconfig` against a real API server, in iptables and nftables mode at
 * once: two processes on the host (reaching the API server through one relay the test can cut)
 * install kube-proxy's rules into a network namespace of their own each (--netns). What they serve
 * is read back from the kernel — iptables-save: the KUBE-SEP DNAT destinations the web
 * ClusterIP:port's KUBE-SVC chain jumps to; nft: the endpoints its service chain DNATs to —
 * and the two modes must agree.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { writeKubeconfig } from '../../scripts/k8s/cluster.js';
import { deleteNetns, inNetnsOutput } from '../../scripts/k8s/proxies.js';
import { NODE } from './api-cluster.js';
import { ApiRelay, VipwasmProcess } from './api-process.js';
import { describeFollowing } from './following.js';

type Mode = 'iptables' | 'nftables';
const MODES: readonly Mode[] = ['iptables', 'nftables'];

/** The DNAT destinations (IPs) the nat table sends clusterIP:port/TCP to, per iptables-save. */
export function servedByIptables(save: string, clusterIP: string, port: number): string[] {
  const rules = save.split('\n').filter((l) => l.startsWith('-A '));
  const jump = (chain: string) => rules.filter((l) => l.startsWith(`-A ${chain} `)).map((l) => /-j (KUBE-\S+)/.exec(l)?.[1]).filter((c): c is string => !!c);
  const service = rules.find((l) => l.startsWith('-A KUBE-SERVICES ') && l.includes(` -d ${clusterIP}/32 `) && l.includes(`--dport ${port} `) && l.includes(' -p tcp '));
  const svcChain = service && /-j (KUBE-SVC-\S+)/.exec(service)?.[1];
  if (!svcChain) return [];
  return jump(svcChain)
    .filter((c) => c.startsWith('KUBE-SEP-'))
    .flatMap((sep) => rules.filter((l) => l.startsWith(`-A ${sep} `)).map((l) => /--to-destination ([\d.]+):\d+/.exec(l)?.[1]).filter((ip): ip is string => !!ip));
}

/** The endpoint IPs `nft list table ip kube-proxy` sends clusterIP:port/TCP to. */
export function servedByNftables(table: string, clusterIP: string, port: number): string[] {
  const service = new RegExp(`${clusterIP.replaceAll('.', '\\.')} \\. tcp \\. ${port} : goto ([^\\s,}]+)`).exec(table)?.[1];
  if (!service) return [];
  const chain = table.split(/\n\s*chain /).find((c) => c.startsWith(`${service} {`)) ?? '';
  // kube-proxy v1.37: with affinity the service chain goes to endpoint chains; without, it DNATs
  // itself through a numgen map of `ip . port` (nft lists `dnat ip to numgen … map { 0 : ip . port, … }`).
  const viaChains = [...chain.matchAll(/goto endpoint-\S+?__([\d.]+)\/\d+/g)].map((m) => m[1]!);
  const viaMap = [...(/dnat ip (?:addr \. port )?to .*? map \{([^}]*)\}/.exec(chain)?.[1] ?? '').matchAll(/: ([\d.]+) \. \d+/g)].map((m) => m[1]!);
  // One endpoint: nft lists a plain `dnat to ip:port`.
  const direct = [...chain.matchAll(/dnat to ([\d.]+):\d+/g)].map((m) => m[1]!);
  return [...viaChains, ...viaMap, ...direct];
}

describeFollowing('rules --watch --kubeconfig follows a real API server', true, async (api) => {
  const netns = { iptables: `vw-api-${process.pid}-ipt`, nftables: `vw-api-${process.pid}-nft` };
  const relay = new ApiRelay(Number(new URL(api.cluster.server).port));
  const procs: Partial<Record<Mode, VipwasmProcess>> = {};
  const stop = async () => {
    for (const p of Object.values(procs)) await p.stop();
    await relay.cut();
    for (const ns of Object.values(netns)) await deleteNetns(ns);
  };
  try {
    await relay.restore();
    const kubeconfig = join(api.dir, 'rules.kubeconfig');
    writeKubeconfig(kubeconfig, `https://127.0.0.1:${relay.port}`, join(api.cluster.options.dir, 'pki', 'ca.crt'), 'admin-token-vipwasm');
    for (const mode of MODES) {
      execFileSync('ip', ['netns', 'add', netns[mode]]);
      await inNetnsOutput(netns[mode], ['ip', 'link', 'set', 'lo', 'up']);
      procs[mode] = new VipwasmProcess([
        'rules', '--kubeconfig', kubeconfig, '--mode', mode, '--watch', '--netns', netns[mode], '--ip-family', '4',
        '--node-name', NODE.name, '--node-ip', NODE.ip, '--cluster-cidr', '198.18.128.0/17', '--min-sync-period', '100ms',
      ]);
    }
    for (const mode of MODES) await procs[mode]!.waitFor(new RegExp(`^synced ${mode}: full`));
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    relay,
    process: procs.iptables!,
    async observe(clusterIP, port) {
      const nft = procs.nftables!;
      if (nft.child.exitCode !== null) throw new Error(`rules --watch --mode nftables exited ${nft.child.exitCode}:\n${nft.output()}`);
      const iptables = servedByIptables(await inNetnsOutput(netns.iptables, ['iptables-save', '-t', 'nat']), clusterIP, port).sort();
      const table = await inNetnsOutput(netns.nftables, ['nft', 'list', 'table', 'ip', 'kube-proxy']);
      const nftables = servedByNftables(table, clusterIP, port).sort();
      // Disagreeing modes never converge: the last observation shows both.
      return JSON.stringify(iptables) === JSON.stringify(nftables) ? iptables : [`iptables ${iptables.join(',')}`, `nftables ${nftables.join(',')}`];
    },
    stop,
  };
});
