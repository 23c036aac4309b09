/** `vipwasm rules`: prints kube-proxy's rules for manifests; bad usage exits 2 with a clear message. */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../host/cli/main.js';

const hostnames = new URL('../../examples/hostnames.yaml', import.meta.url).pathname;

async function run(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => ((stdout += String(chunk)), true));
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => ((stderr += String(chunk)), true));
  const code = await main(['node', 'vipwasm', 'rules', ...args]);
  vi.restoreAllMocks();
  process.exitCode = undefined;
  return { code, stdout, stderr };
}

describe('vipwasm rules', () => {
  afterEach(() => vi.restoreAllMocks());

  it('prints iptables-restore input with kube-proxy chains', async () => {
    const r = await run('-f', hostnames, '--mode', 'iptables', '--node-name', 'n1', '--node-ip', '10.1.0.5');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^\*nat$/m);
    expect(r.stdout).toMatch(/-A KUBE-SERVICES -m comment --comment "default\/hostnames cluster IP" -m tcp -p tcp -d \S+ --dport 80 -j KUBE-SVC-/);
    expect(r.stdout).toContain('--mode random --probability 0.3333333333');
  });

  it('prints an nft transaction and ipvsadm-restore input', async () => {
    expect((await run('-f', hostnames, '--mode', 'nftables', '--node-ip', '10.1.0.5')).stdout).toMatch(/dnat ip addr \. port to numgen random mod 3 map/);
    const ipvs = await run('-f', hostnames, '--mode', 'ipvs', '--node-ip', '10.1.0.5');
    expect(ipvs.stdout).toMatch(/^-A -t \S+:80 -s rr$/m);
  });

  it('uses true round robin only for an explicit --scheduler rr', async () => {
    expect((await run('-f', hostnames, '--mode', 'nftables', '--scheduler', 'rr')).stdout).toMatch(/numgen inc mod 3/);
  });

  it("follows kube-proxy's NodePort addresses: every local address by default, the node IPs with --nodeport-addresses primary", async () => {
    const tail = /-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" (.*) -j KUBE-NODEPORTS/;
    const byDefault = await run('-f', hostnames, '--mode', 'iptables', '--node-ip', '10.1.0.5');
    expect(tail.exec(byDefault.stdout)?.[1]).toBe('-m addrtype --dst-type LOCAL');
    expect(byDefault.stdout).toMatch(/^-A KUBE-FIREWALL .*-d 127\.0\.0\.0\/8 ! -s 127\.0\.0\.0\/8 .*-j DROP$/m);
    const primary = await run('-f', hostnames, '--mode', 'iptables', '--node-ip', '10.1.0.5', '--nodeport-addresses', 'primary');
    expect(tail.exec(primary.stdout)?.[1]).toBe('-d 10.1.0.5');
    expect(primary.stdout).not.toContain('KUBE-FIREWALL -m comment');
    const noLocalhost = await run('-f', hostnames, '--mode', 'iptables', '--iptables-localhost-nodeports', 'false');
    expect(tail.exec(noLocalhost.stdout)?.[1]).toBe('-m addrtype --dst-type LOCAL ! -d 127.0.0.0/8');
  });

  it('exits 2 naming the bad flag', async () => {
    expect(await run('-f', hostnames, '--mode', 'iptables', '--nodeport-addresses', 'lan')).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('--nodeport-addresses: "lan" is not a CIDR or "primary"'),
    });
    expect(await run('-f', hostnames, '--mode', 'iptables', '--iptables-localhost-nodeports', 'yes')).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('--iptables-localhost-nodeports: "yes" is not true or false'),
    });
    expect(await run('-f', hostnames)).toMatchObject({ code: 2, stderr: expect.stringContaining('--mode is required') });
    expect(await run('-f', hostnames, '--mode', 'pf')).toMatchObject({ code: 2, stderr: expect.stringContaining('--mode: unknown mode "pf"') });
    expect(await run('-f', hostnames, '--mode', 'iptables', '--cluster-cidr', '10.0.0.0/40')).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('--cluster-cidr: "10.0.0.0/40" is not a CIDR'),
    });
    expect(await run('-f', hostnames, '--mode', 'iptables', '--ip-family', '5')).toMatchObject({ code: 2, stderr: expect.stringContaining('--ip-family') });
  });
});
