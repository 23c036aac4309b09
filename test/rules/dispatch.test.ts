/**
 * Endpoint dispatch: kube-proxy's probabilities (1/(n−i) with 10 decimals), weighted shares, true
 * round robin on request, and weight 0 leaving an endpoint out.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { probability } from '../../host/rules/iptables-service.js';
import { renderIptables } from '../../host/rules/render-iptables.js';
import { renderNftables } from '../../host/rules/render-nftables.js';
import { backend, model, servicePort } from './fixtures.js';

function svcRules(weights: number[], extra: Parameters<typeof servicePort>[2] = {}, options = {}): string[] {
  const backends = weights.map((w, i) => backend(`10.1.0.${i + 1}`, 80, { weight: w }));
  const rs = renderIptables(model([servicePort('ns', 'svc', { clusterIPs: ['10.96.0.1'], backends, ...extra })]), options);
  return [...rs.nat].find(([name]) => name.startsWith('KUBE-SVC-'))![1].split('\n');
}

/** Each endpoint's share of new connections, following the rule cascade. */
function shares(rules: string[]): Map<string, number> {
  const out = new Map<string, number>();
  let remaining = 1;
  for (const rule of rules) {
    const target = /-j (KUBE-SEP-\S+)/.exec(rule)?.[1];
    if (!target || rule.includes('--rcheck')) continue;
    const p = Number(/--probability (\S+)/.exec(rule)?.[1] ?? '1');
    out.set(target, (out.get(target) ?? 0) + remaining * p);
    remaining *= 1 - p;
  }
  return out;
}

describe('iptables endpoint dispatch', () => {
  it('writes 1/(n-i) with ten decimals, as Go %0.10f', () => {
    expect([2, 3, 4, 6, 7].map((n) => probability(1 / n))).toEqual(['0.5000000000', '0.3333333333', '0.2500000000', '0.1666666667', '0.1428571429']);
    const rules = svcRules([1, 1, 1, 1]);
    expect(rules.map((r) => /--probability (\S+)/.exec(r)?.[1] ?? '-')).toEqual(['0.2500000000', '0.3333333333', '0.5000000000', '-']);
  });

  it('gives every endpoint a share proportional to its weight', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 20 }), { minLength: 1, maxLength: 12 }), (weights) => {
        fc.pre(weights.some((w) => w > 0));
        const s = [...shares(svcRules(weights)).values()];
        const positive = weights.filter((w) => w > 0);
        const total = positive.reduce((a, b) => a + b, 0);
        expect(s).toHaveLength(positive.length);
        s.forEach((share, i) => expect(share).toBeCloseTo(positive[i]! / total, 6));
      }),
      { numRuns: 200 },
    );
  });

  it('uses statistic nth for rr only when roundRobin is on', () => {
    const rr = { scheduler: 'rr' as const };
    expect(svcRules([1, 1, 1], rr).join('\n')).toContain('--mode random');
    expect(svcRules([1, 1, 1], rr, { roundRobin: true }).map((r) => /--every (\d)/.exec(r)?.[1] ?? '-')).toEqual(['3', '2', '-']);
  });

  it('checks ClientIP affinity before choosing', () => {
    const rules = svcRules([1, 1], { sessionAffinity: 'ClientIP', affinityTimeoutSeconds: 600 });
    expect(rules[0]).toMatch(/-m recent --name KUBE-SEP-\S+ --rcheck --seconds 600 --reap -j KUBE-SEP-/);
    expect(rules[1]).toMatch(/--rcheck --seconds 600 --reap/);
    expect(rules[2]).toMatch(/--probability 0.5000000000/);
  });
});

describe('nftables endpoint dispatch', () => {
  const dispatch = (weights: number[], extra = {}, options = {}) => {
    const backends = weights.map((w, i) => backend(`10.1.0.${i + 1}`, 80, { weight: w }));
    const rs = renderNftables(model([servicePort('ns', 'svc', { clusterIPs: ['10.96.0.1'], backends, ...extra })]), options);
    return [...rs.chains].find(([n]) => n.startsWith('service-'))![1].find((r) => r.includes('numgen'))!;
  };

  it('DNATs in the service chain with numgen random mod N, one slot per endpoint, when weights are equal (kube-proxy v1.37)', () => {
    expect(dispatch([1, 1, 1])).toBe('meta l4proto tcp dnat ip addr . port to numgen random mod 3 map { 0 : 10.1.0.1 . 80 , 1 : 10.1.0.2 . 80 , 2 : 10.1.0.3 . 80 }');
  });

  it('gives weighted endpoints ranges of slots and leaves weight 0 out', () => {
    expect(dispatch([3, 0, 1])).toBe('meta l4proto tcp dnat ip addr . port to numgen random mod 4 map { 0-2 : 10.1.0.1 . 80 , 3 : 10.1.0.3 . 80 }');
  });

  it('with ClientIP affinity picks an endpoint chain with a verdict map', () => {
    expect(dispatch([1, 1], { sessionAffinity: 'ClientIP' })).toMatch(/^numgen random mod 2 vmap \{ 0 : goto endpoint-\S+10\.1\.0\.1\/80 , 1 : goto endpoint-\S+10\.1\.0\.2\/80 \}$/);
  });

  it('uses numgen inc for rr with roundRobin on', () => {
    expect(dispatch([1, 1], { scheduler: 'rr' }, { roundRobin: true })).toMatch(/ to numgen inc mod 2 map /);
  });
});
