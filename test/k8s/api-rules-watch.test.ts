/**
 * `vipwasm rules --watch --kubeconfig --mode iptables` against a real API server: it runs on the
 * host (reaching the API server through a relay the test can cut) and installs kube-proxy's
 * iptables rules into a network namespace this test creates (--netns). What it serves is read back
 * from the kernel with iptables-save: the KUBE-SEP DNAT destinations the web ClusterIP:port's
 * KUBE-SVC chain jumps to.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { writeKubeconfig } from '../../scripts/k8s/cluster.js';
import { deleteNetns, inNetnsOutput } from '../../scripts/k8s/proxies.js';
import { NODE } from './api-cluster.js';
import { ApiRelay, VipwasmProcess } from './api-process.js';
import { describeFollowing } from './following.js';

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

describeFollowing('rules --watch --kubeconfig follows a real API server', true, async (api) => {
  const netns = `vw-api-${process.pid}-rules`;
  const relay = new ApiRelay(Number(new URL(api.cluster.server).port));
  let proc: VipwasmProcess | undefined;
  const stop = async () => {
    await proc?.stop();
    await relay.cut();
    await deleteNetns(netns);
  };
  try {
    execFileSync('ip', ['netns', 'add', netns]);
    await inNetnsOutput(netns, ['ip', 'link', 'set', 'lo', 'up']);
    await relay.restore();
    const kubeconfig = join(api.dir, 'rules.kubeconfig');
    writeKubeconfig(kubeconfig, `https://127.0.0.1:${relay.port}`, join(api.cluster.options.dir, 'pki', 'ca.crt'), 'admin-token-vipwasm');
    proc = new VipwasmProcess([
      'rules', '--kubeconfig', kubeconfig, '--mode', 'iptables', '--watch', '--netns', netns, '--ip-family', '4',
      '--node-name', NODE.name, '--node-ip', NODE.ip, '--cluster-cidr', '198.18.128.0/17', '--min-sync-period', '100ms',
    ]);
    await proc.waitFor(/^synced iptables: full/);
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    relay,
    process: proc!,
    async observe(clusterIP, port) {
      return servedByIptables(await inNetnsOutput(netns, ['iptables-save', '-t', 'nat']), clusterIP, port);
    },
    stop,
  };
});
