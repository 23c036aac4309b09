/** Full iptables-nft syncs in bounded batches: together they write exactly what the single transaction does. */
import { describe, expect, it } from 'vitest';
import { CANARY_CHAIN, iptablesRestoreFull, iptablesRestoreFullChunks, renderIptables, TOP_LEVEL_CHAINS } from '../../host/rules/render-iptables.js';
import { backend, model, servicePort } from './fixtures.js';

const many = (n: number, endpoints: number) =>
  model(
    Array.from({ length: n }, (_, i) =>
      servicePort('ns', `svc${String(i).padStart(3, '0')}`, {
        clusterIPs: [`172.30.${i >> 8}.${i & 255}`],
        backends: Array.from({ length: endpoints }, (_, k) => backend(`10.1.${i & 255}.${k + 1}`, 80)),
      }),
    ),
  );
const declared = (text: string) => [...text.matchAll(/^:(\S+)/gm)].map((m) => m[1]!);
const ruleLines = (text: string) => text.split('\n').filter((l) => l.startsWith('-'));

describe('iptablesRestoreFullChunks', () => {
  it('is the single full transaction when the ruleset fits in one batch', () => {
    const rs = renderIptables(many(3, 2));
    expect(iptablesRestoreFullChunks(rs)).toEqual([iptablesRestoreFull(rs)]);
  });

  it('splits by Service, declares every chain once, and writes the same rules', () => {
    const before = renderIptables(many(60, 3));
    const rs = renderIptables(many(50, 2));
    const extra = { nat: ['-I PREROUTING 1 -j KUBE-SERVICES'] };
    const chunks = iptablesRestoreFullChunks(rs, before, extra, 40);
    const single = iptablesRestoreFull(rs, before, extra);
    expect(chunks.length).toBeGreaterThan(3);
    // KUBE-MARK-MASQ, which Service chains jump to, is also created by the first batch.
    const once = (names: string[]) => names.filter((c) => c !== 'KUBE-MARK-MASQ').sort();
    expect(once(chunks.flatMap(declared))).toEqual(once(declared(single)));
    expect(declared(chunks[0]!)).toContain('KUBE-MARK-MASQ');
    const masq = (l: string) => !l.startsWith('-A KUBE-MARK-MASQ ');
    expect(chunks.flatMap(ruleLines).filter(masq).sort()).toEqual(ruleLines(single).filter(masq).sort());
    const last = chunks.at(-1)!;
    const top = [...TOP_LEVEL_CHAINS.filter, ...TOP_LEVEL_CHAINS.nat];
    for (const chunk of chunks.slice(0, -1)) {
      expect(declared(chunk).filter((c) => (top.includes(c) && c !== 'KUBE-MARK-MASQ') || c === CANARY_CHAIN)).toEqual([]);
      // A Service's SVC chain and its SEP chains are in the same batch.
      const svcs = declared(chunk).filter((c) => c.startsWith('KUBE-SVC-'));
      const jumped = [...chunk.matchAll(/-j (KUBE-SEP-\S+)/g)].map((m) => m[1]!);
      expect(jumped.every((sep) => declared(chunk).includes(sep))).toBe(true);
      expect(svcs.length).toBeGreaterThan(0);
    }
    expect(last).toContain(`:${CANARY_CHAIN} - [0:0]`);
    expect(last).toMatch(/-X KUBE-SVC-/); // Services 50-59 are gone
    expect(last).toContain('-I PREROUTING 1 -j KUBE-SERVICES');
  });
});
