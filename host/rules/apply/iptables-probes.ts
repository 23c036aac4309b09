/**
 * What the iptables applier asks the machine before a full sync, as kube-proxy does
 * (pkg/proxy/iptables/proxier.go): which nfacct counters exist (created if missing), whether the
 * iptables binary knows `--random-fully`, and `route_localnet` for IPv4 localhost NodePorts. Each probe
 * answers "no" when its tool is missing, so the rules fall back to what works without it.
 */
import { NFACCT_CT_STATE_INVALID_DROPPED, NFACCT_LOCALHOST_NODEPORT_ACCEPTED } from '../options.js';
import type { Runner } from './exec.js';

/** kube-proxy's counters (pkg/proxy/metrics: iptablesCTStateInvalidDroppedPacketsTotal, localhostNodePortAcceptedPacketsTotal). */
export const NFACCT_COUNTERS = [NFACCT_CT_STATE_INVALID_DROPPED, NFACCT_LOCALHOST_NODEPORT_ACCEPTED] as const;

/**
 * Ensures each counter (nfacct.Ensure: create when absent) and returns those that exist. kube-proxy
 * speaks nfnetlink itself; here the `nfacct` tool does the same calls. No tool or no kernel support
 * (nfnetlink_acct) → no counters, and the rules are written without `-m nfacct`.
 */
export async function ensureNfacctCounters(runner: Runner): Promise<string[]> {
  const out: string[] = [];
  for (const name of NFACCT_COUNTERS) {
    try {
      const got = await runner.run('nfacct', ['get', name]);
      if (got.code === 0 || (await runner.run('nfacct', ['add', name])).code === 0) out.push(name);
    } catch {
      return [];
    }
  }
  return out;
}

/** `iptables v1.8.9 (nf_tables)` → [1, 8, 9]. */
export function iptablesVersion(text: string): [number, number, number] | undefined {
  const m = /v(\d+)\.(\d+)\.(\d+)/.exec(text);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
}

/** `--random-fully` needs iptables ≥ 1.6.2 (kube-proxy's former RandomFullyMinVersion check). */
export async function supportsRandomFully(runner: Runner, iptables: string): Promise<boolean> {
  try {
    const v = iptablesVersion((await runner.run(iptables, ['--version'])).stdout);
    if (!v) return false;
    const [a, b, c] = v;
    return a > 1 || (a === 1 && (b > 6 || (b === 6 && c >= 2)));
  } catch {
    return false;
  }
}

/** Sets net.ipv4.conf.all.route_localnet=1 (kube-proxy's EnsureSysctl), without a shell: tee into /proc. */
export async function enableRouteLocalnet(runner: Runner): Promise<boolean> {
  try {
    return (await runner.run('tee', ['/proc/sys/net/ipv4/conf/all/route_localnet'], '1\n')).code === 0;
  } catch {
    return false;
  }
}
