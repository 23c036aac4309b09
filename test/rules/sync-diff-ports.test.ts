/**
 * Partial syncs diff ports by memo identity; the result must equal comparing every chain and set
 * (the path taken when port identities repeat), whatever changed: endpoints, policies, affinity,
 * ports added or removed, a port re-created with equal content.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ModelServicePort } from '../../host/engine/model.js';
import { iptablesRestoreFull, iptablesRestorePartial, renderIptables, type IptablesRuleset } from '../../host/rules/render-iptables.js';
import { nftTransactionFull, nftTransactionPartial, renderNftables, type NftRuleset } from '../../host/rules/render-nftables.js';
import { backend, model, servicePort } from './fixtures.js';

const rules = { clusterCIDRs: ['10.0.0.0/8'] };

/**
 * Port `i` of the test. With `shared`, ports i and i + 4 are two ports of one Service (same name,
 * same ClusterIP, ports 80 and 8080): their `cluster-ips` element is the same key, so a changed port
 * must not delete what an unchanged one still needs.
 */
function port(i: number, variant: number, shared = false): ModelServicePort {
  const n = variant % 4;
  return servicePort('ns', shared ? `svc${i % 4}` : `svc${i}`, {
    ...(shared ? { portName: i < 4 ? 'a' : 'b', port: i < 4 ? 80 : 8080 } : {}),
    clusterIPs: [`172.30.0.${(shared ? i % 4 : i) + 1}`],
    nodePort: variant % 3 === 0 ? 30000 + i : 0,
    sessionAffinity: variant % 5 === 0 ? 'ClientIP' : 'None',
    externalTrafficPolicy: variant % 2 ? 'Local' : 'Cluster',
    backends: Array.from({ length: n }, (_, k) => backend(`10.1.${i}.${k + 1 + (variant % 2)}`, 80, { local: k === 0 })),
  });
}

/** The same ruleset seen through the compare-everything path. */
const slowIpt = (rs: IptablesRuleset): IptablesRuleset => ({ ...rs, nat: rs.nat, uniqueChains: false });
const slowNft = (rs: NftRuleset): NftRuleset => ({ ...rs, chains: rs.chains, sets: rs.sets, uniqueNames: false });

describe('partial sync by port identity', () => {
  it.each([false, true])('equals comparing every chain, for random sequences of changes (ports of one Service: %s)', (shared) => {
    const step = fc.array(fc.tuple(fc.integer({ min: 0, max: 7 }), fc.integer({ min: -1, max: 9 })), { maxLength: 4 });
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 4 }), (steps) => {
        const state = new Map<number, ModelServicePort>([0, 1, 2, 3, 4, 5].map((i) => [i, port(i, i, shared)]));
        let ipt = renderIptables(model([...state.values()]), rules);
        let nft = renderNftables(model([...state.values()]), rules);
        for (const changes of steps) {
          for (const [i, v] of changes) {
            if (v < 0) state.delete(i);
            else state.set(i, v === 9 ? structuredClone(state.get(i) ?? port(i, 0, shared)) : port(i, v, shared));
          }
          const m = model([...state.entries()].sort((a, b) => a[0] - b[0]).map(([, sp]) => sp));
          const ipt2 = renderIptables(m, rules);
          const nft2 = renderNftables(m, rules);
          expect(iptablesRestorePartial(ipt, ipt2)).toBe(iptablesRestorePartial(slowIpt(ipt), slowIpt(ipt2)));
          expect(iptablesRestoreFull(ipt2, ipt)).toBe(iptablesRestoreFull(slowIpt(ipt2), slowIpt(ipt)));
          expect(nftTransactionPartial(nft, nft2)).toBe(nftTransactionPartial(slowNft(nft), slowNft(nft2)));
          expect(nftTransactionFull(nft2)).toBe(nftTransactionFull(slowNft(nft2)));
          ipt = ipt2;
          nft = nft2;
        }
      }),
      { numRuns: 60 },
    );
  });
});
