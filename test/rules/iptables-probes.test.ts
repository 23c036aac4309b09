/**
 * The iptables applier's machine probes (kube-proxy's nfacct.Ensure, the `--random-fully` version
 * check, route_localnet), run for real inside a network namespace of this test's own.
 */
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localRunner } from '../../host/rules/apply/exec.js';
import { enableRouteLocalnet, ensureNfacctCounters, iptablesVersion, NFACCT_COUNTERS, supportsRandomFully } from '../../host/rules/apply/iptables-probes.js';

function has(cmd: string): boolean {
  try {
    execFileSync('which', [cmd], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const root = process.getuid?.() === 0;
const skip = !root ? 'needs root (network namespaces)' : !has('nfacct') || !has('iptables') ? 'nfacct or iptables missing (scripts/setup.sh installs them)' : undefined;
if (skip) console.log(`iptables probes in a namespace skipped: ${skip}`);

describe('iptablesVersion', () => {
  it('reads the version iptables prints', () => {
    expect(iptablesVersion('iptables v1.8.9 (nf_tables)\n')).toEqual([1, 8, 9]);
    expect(iptablesVersion('iptables v1.6.1\n')).toEqual([1, 6, 1]);
    expect(iptablesVersion('no version')).toBeUndefined();
  });
});

describe('a runner whose tools are missing', () => {
  const missing = { run: () => Promise.reject(Object.assign(new Error('spawn nfacct ENOENT'), { code: 'ENOENT' })) };
  it('means no counters, no --random-fully, no route_localnet', async () => {
    expect(await ensureNfacctCounters(missing)).toEqual([]);
    expect(await supportsRandomFully(missing, 'iptables')).toBe(false);
    expect(await enableRouteLocalnet(missing)).toBe(false);
  });
  it('treats an iptables older than 1.6.2 as lacking --random-fully', async () => {
    const old = { run: async () => ({ code: 0, stdout: 'iptables v1.6.1\n', stderr: '' }) };
    expect(await supportsRandomFully(old, 'iptables')).toBe(false);
  });
});

describe.skipIf(skip !== undefined)('probes in a network namespace', () => {
  const ns = `vw-diff-probe-${process.pid}`;
  beforeAll(() => {
    execFileSync('ip', ['netns', 'add', ns]);
  });
  afterAll(() => {
    execFileSync('ip', ['netns', 'del', ns]);
  });

  it("creates kube-proxy's nfacct counters where the kernel has nfacct, and finds them the second time", async () => {
    const runner = localRunner(ns);
    const first = await ensureNfacctCounters(runner);
    // This machine's kernel has nfnetlink_acct (checked when this test was written); say which case ran.
    console.log(`nfacct counters in a fresh namespace: ${first.length ? first.join(', ') : 'none (no kernel nfacct)'}`);
    expect(first).toEqual([...NFACCT_COUNTERS]);
    const listed = execFileSync('ip', ['netns', 'exec', ns, 'nfacct', 'list']).toString();
    for (const name of NFACCT_COUNTERS) expect(listed).toContain(name);
    expect(await ensureNfacctCounters(runner)).toEqual([...NFACCT_COUNTERS]);
  });

  it('finds --random-fully in this iptables and sets route_localnet in the namespace only', async () => {
    const runner = localRunner(ns);
    expect(await supportsRandomFully(runner, 'iptables')).toBe(true);
    expect(await enableRouteLocalnet(runner)).toBe(true);
    expect(execFileSync('ip', ['netns', 'exec', ns, 'cat', '/proc/sys/net/ipv4/conf/all/route_localnet']).toString().trim()).toBe('1');
  });
});
