/**
 * The kernel accepts every golden scenario: each one's full ruleset, then its partial sync, is applied
 * with the real appliers (iptables-restore / ip6tables-restore, nft -f) in a scratch network namespace.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApplier, localRunner } from '../../host/rules/apply/index.js';
import { main } from '../../host/cli/main.js';
import { parseScenario, scenarioOptions } from '../rules/scenario-file.js';
import { renderIpvs } from '../../host/rules/render-ipvs.js';
import { netnsUnavailableReason } from './netns/topology.js';

const skipReason = netnsUnavailableReason();
if (skipReason) console.warn(`[netns-syntax] skipped: ${skipReason}`);

const dir = new URL('../rules/scenarios/', import.meta.url);
const files = readdirSync(dir).filter((f) => f.endsWith('.txt')).sort();

describe.skipIf(skipReason !== undefined)('the kernel accepts the golden scenarios', () => {
  const ns = `vw${process.pid % 100000}${Math.random().toString(36).slice(2, 5)}-syntax`;
  const runner = localRunner(ns);

  beforeAll(() => {
    execFileSync('ip', ['netns', 'add', ns]);
  });
  afterAll(() => {
    execFileSync('ip', ['netns', 'del', ns]);
  });

  it('vipwasm rules --apply installs into a namespace and --cleanup removes it', async () => {
    const manifests = new URL('../../examples/hostnames.yaml', import.meta.url).pathname;
    const cli = (...args: string[]) => main(['node', 'vipwasm', 'rules', '--netns', ns, '--mode', 'nftables', ...args]);
    expect(await cli('-f', manifests, '--node-ip', '10.0.0.5', '--apply')).toBe(0);
    expect((await runner.run('nft', ['list', 'tables'])).stdout).toContain('table ip kube-proxy');
    expect(await cli('--cleanup')).toBe(0);
    expect((await runner.run('nft', ['list', 'tables'])).stdout).not.toContain('kube-proxy');
  });

  describe.each(files)('%s', (file) => {
    const scenario = parseScenario(readFileSync(new URL(file, dir), 'utf8'));
    const { rules, model } = scenarioOptions(scenario);
    const before = model(scenario.sections.get('manifests') ?? '');
    const afterText = scenario.sections.get('manifests-after');

    it('ipvs: the ipsets and the iptables glue load (the virtual servers need IPVS in the kernel)', async (ctx) => {
      const hasIpset = (await runner.run('sh', ['-c', 'command -v ipset'])).code === 0;
      if (!hasIpset) ctx.skip();
      const rs = renderIpvs(before, rules);
      expect((await runner.run('ipset', ['restore'], rs.ipset)).stderr).toBe('');
      const iptables = rules.family === 6 ? 'ip6tables' : 'iptables';
      try {
        // `-m ipvs` (KUBE-IPVS-OUT-FILTER) needs the IPVS kernel module, like the virtual servers themselves.
        if (!rs.iptables.includes('-m ipvs')) expect((await runner.run(`${iptables}-restore`, ['--noflush'], rs.iptables)).stderr).toBe('');
      } finally {
        const chains = [...rs.iptables.matchAll(/^:(\S+)/gm)].map((m) => m[1]!);
        for (const table of ['nat', 'filter']) {
          await runner.run(`${iptables}-restore`, ['--noflush'], [`*${table}`, ...chains.map((c) => `:${c} - [0:0]`), 'COMMIT', ''].join('\n'));
          for (const c of chains) await runner.run(iptables, ['-t', table, '-X', c]);
        }
        await runner.run('ipset', ['destroy']);
      }
    });

    it.each(['iptables', 'iptables-legacy', 'nftables'] as const)('%s: full sync, partial sync, cleanup', async (variant) => {
      const mode = variant === 'nftables' ? 'nftables' : 'iptables';
      const legacy = variant === 'iptables-legacy';
      const applier = createApplier(mode, { runner, rules, conntrackCleanup: false, ...(legacy ? { iptablesBackend: 'legacy' as const } : {}) });
      try {
        expect((await applier.sync(before)).full).toBe(true);
        if (afterText) expect((await applier.sync(model(afterText))).full).toBe(false);
      } finally {
        await applier.cleanup();
      }
      const save = `${rules.family === 6 ? 'ip6tables' : 'iptables'}${legacy ? '-legacy' : ''}-save`;
      const leftovers = mode === 'nftables' ? await runner.run('nft', ['list', 'tables']) : await runner.run(save, []);
      // kubelet's KUBE-FIREWALL chain and its jumps stay, as kube-proxy's cleanup leaves them.
      const ours = leftovers.stdout.split('\n').filter((line) => !line.includes('KUBE-FIREWALL'));
      expect(ours.join('\n')).not.toMatch(/KUBE-|kube-proxy/);
    });
  });
});
