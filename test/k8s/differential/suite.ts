/**
 * The differential suite body, shared by the iptables and nftables test files: seeded scenarios in
 * three rounds (create all; update a third, delete some, add new ones; again), each round compared
 * between the real kube-proxy and vipwasm after both have synced. Prints matched/total per round and
 * in all, and on a difference the seed, the scenario and the differing items.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { k8sToolchain } from '../../../scripts/k8s/cluster.js';
import type { ProxyMode } from '../../../scripts/k8s/proxies.js';
import type { Comparison } from './dump.js';
import { Differential, type ProxyOptions, type RoundResult } from './harness.js';
import { describeScenario, generateScenarios, type Scenario, updateScenario } from './scenarios.js';

const DEFAULT_SCENARIOS = Number(process.env['VIPWASM_DIFF_SCENARIOS'] ?? 200);
const SEED = Number(process.env['VIPWASM_DIFF_SEED'] ?? Date.now() % 1_000_000);

/** Why the suite cannot run here, or undefined. */
export function differentialSkipReason(): string | undefined {
  const tool = k8sToolchain();
  if (!tool.ok) return tool.reason;
  if (process.getuid?.() !== 0) return 'needs root (network namespaces, iptables, nft)';
  return undefined;
}

function report(c: Comparison, owner: string | undefined, limit = 6): string {
  return (c.differing.get(owner) ?? []).slice(0, limit).map((d) => `  ${d.key}\n    kube-proxy: ${d.kubeProxy?.replace(/\n/g, '\n                ') ?? '(absent)'}\n    vipwasm:    ${d.vipwasm?.replace(/\n/g, '\n                ') ?? '(absent)'}`).join('\n');
}

/** A failure message naming the seed and each differing scenario with its items. */
function explain(mode: ProxyMode, round: number, r: RoundResult, byNamespace: ReadonlyMap<string, Scenario>): string {
  const lines = [`${mode} round ${round}: seed ${SEED} (rerun with VIPWASM_DIFF_SEED=${SEED})`];
  if (r.comparison.differing.has(undefined)) lines.push(`rules of no Service differ:\n${report(r.comparison, undefined)}`);
  for (const ns of [...r.comparison.differing.keys()].filter((k): k is string => k !== undefined).slice(0, 5)) {
    lines.push(`${ns}: ${byNamespace.has(ns) ? describeScenario(byNamespace.get(ns)!) : '(deleted or marker)'}\n${report(r.comparison, ns)}`);
  }
  return lines.join('\n');
}

/** Rounds 2 and 3: a third of the scenarios updated, a tenth deleted, a tenth new. */
function nextRound(live: Map<number, Scenario>, round: number, firstNew: number, scenarios: number): { live: Scenario[]; deleted: Scenario[] } {
  const all = [...live.values()];
  const deleted = all.filter((s) => (s.index + round) % 10 === 0);
  const updated = all.filter((s) => (s.index + round) % 3 === 0 && !deleted.includes(s)).map((s) => updateScenario(s, SEED + round));
  const added = generateScenarios(SEED + round * 101, Math.ceil(scenarios / 10), firstNew);
  return { live: [...updated, ...added], deleted };
}

export interface SuiteVariant {
  /** Flags both proxies get (kube-proxy's defaults when omitted). */
  readonly options?: ProxyOptions;
  /** Scenarios in round 1 (default VIPWASM_DIFF_SCENARIOS, 200). */
  readonly scenarios?: number;
  /**
   * Proof that the options took effect in the real kube-proxy (its raw IPv4 and IPv6 dumps after
   * round 1): equal rules alone would also pass if both proxies ignored a flag. Returns what is missing.
   */
  readonly evidence?: (mode: ProxyMode, ip4: string, ip6: string) => string | undefined;
}

export function differentialSuite(mode: ProxyMode, variant: SuiteVariant = {}): void {
  const skip = differentialSkipReason();
  const scenarios = variant.scenarios ?? DEFAULT_SCENARIOS;
  const flags = Object.entries(variant.options ?? {}).map(([k, v]) => `${k}=${Array.isArray(v) ? v.join(',') : String(v)}`).join(' ');
  const label = flags ? `${mode} mode with ${flags}` : `${mode} mode`;
  if (skip) console.log(`kube-proxy differential (${label}) skipped: ${skip}`);

  describe.skipIf(skip !== undefined)(`differential conformance vs the real kube-proxy, ${label}`, () => {
    let diff: Differential;
    beforeAll(async () => {
      diff = await Differential.start(mode, variant.options);
    }, 180_000);
    afterAll(async () => {
      await diff?.stop();
    }, 60_000);

    it(`installs the same rules as kube-proxy for ${scenarios}+ generated scenarios, over creates, updates and deletes`, async () => {
      const live = new Map<number, Scenario>();
      let next = scenarios;
      let matched = 0;
      let total = 0;
      const failures: string[] = [];
      for (let round = 1; round <= 3; round++) {
        const step = round === 1 ? { live: generateScenarios(SEED, scenarios), deleted: [] } : nextRound(live, round, next, scenarios);
        if (round > 1) next += Math.ceil(scenarios / 10);
        const previous = new Map(live);
        await diff.applyRound(step.live, previous, step.deleted);
        for (const s of step.deleted) live.delete(s.index);
        for (const s of step.live) live.set(s.index, s);
        const namespaces = [...[...live.values()].map((s) => s.namespace), ...step.deleted.map((s) => s.namespace)];
        const r = await diff.compare(namespaces);
        if (round === 1 && variant.evidence) expect(variant.evidence(mode, ...(await diff.kubeProxyDumps())), 'the options took effect in kube-proxy').toBeUndefined();
        matched += r.matched.length;
        total += r.compared.length;
        console.log(`kube-proxy differential ${label} round ${round}: ${r.matched.length}/${r.compared.length} scenarios matched (seed ${SEED})`);
        const byNamespace = new Map([...live.values(), ...step.deleted].map((s) => [s.namespace, s]));
        if (r.comparison.differing.size) failures.push(explain(mode, round, r, byNamespace));
      }
      // Which nfacct case this machine is: kube-proxy's iptables proxier creates its counters where the kernel can.
      const nfacct = mode === 'iptables' ? `; kube-proxy's nfacct counters ${(await diff.nfacctCounters()).includes('=') ? 'exist here (rules with -m nfacct compared)' : 'could not be created here'}` : '';
      console.log(`kube-proxy differential ${label}: ${matched}/${total} scenario states matched (seed ${SEED})${nfacct}`);
      expect(failures.join('\n\n')).toBe('');
      expect(matched).toBe(total);
    }, 900_000);
  });
}
