/** What partial syncs contain (KEP-3453 for iptables; element diffs for nftables). */
import { describe, expect, it } from 'vitest';
import { iptablesRestorePartial, renderIptables, TOP_LEVEL_CHAINS } from '../../host/rules/render-iptables.js';
import { nftSameBase, nftTransactionPartial, renderNftables } from '../../host/rules/render-nftables.js';
import { backend, overallModel, model, servicePort } from './fixtures.js';

describe('iptables partial sync', () => {
  it('rewrites only the top-level chains when nothing changed', () => {
    const rs = renderIptables(overallModel());
    const text = iptablesRestorePartial(rs, renderIptables(overallModel()));
    const declared = [...text.matchAll(/^:(\S+)/gm)].map((m) => m[1]);
    expect(declared).toEqual([...TOP_LEVEL_CHAINS.filter, ...TOP_LEVEL_CHAINS.nat]);
    expect(text).not.toMatch(/-X /);
  });

  it('declares and deletes the chains of a removed endpoint', () => {
    const one = (ips: string[]) => model([servicePort('ns', 'svc', { clusterIPs: ['10.96.0.1'], backends: ips.map((ip) => backend(ip, 80)) })]);
    const text = iptablesRestorePartial(renderIptables(one(['10.1.0.1', '10.1.0.2'])), renderIptables(one(['10.1.0.1'])));
    const removed = /-X (KUBE-SEP-\S+)/.exec(text)?.[1];
    expect(removed).toBeDefined();
    expect(text).toContain(`:${removed} - [0:0]`);
    expect(text).toMatch(/^:KUBE-SVC-/m);
    // The surviving endpoint's chain is unchanged, so only the removed one is declared.
    expect([...text.matchAll(/^:(KUBE-SEP-\S+)/gm)].map((m) => m[1])).toEqual([removed]);
  });
});

describe('nftables partial sync', () => {
  it('is empty when nothing changed', () => {
    expect(nftTransactionPartial(renderNftables(overallModel()), renderNftables(overallModel()))).toBe('');
  });

  it('replaces a map element whose verdict changed (delete, then add)', () => {
    const svc = (hasEndpoints: boolean) =>
      model([servicePort('ns', 'svc', { clusterIPs: ['10.96.0.1'], backends: hasEndpoints ? [backend('10.1.0.1', 80)] : [] })]);
    const text = nftTransactionPartial(renderNftables(svc(false)), renderNftables(svc(true)));
    expect(text).toContain('delete element ip kube-proxy no-endpoint-services { 10.96.0.1 . tcp . 80 }');
    expect(text).toContain('add element ip kube-proxy service-ips { 10.96.0.1 . tcp . 80 : goto service-');
    expect(text.indexOf('add chain ip kube-proxy service-')).toBeLessThan(text.indexOf('add element ip kube-proxy service-ips'));
  });

  it('needs a full sync when the base objects change', () => {
    expect(nftSameBase(renderNftables(overallModel()), renderNftables(overallModel(), { masqueradeBit: 15 }))).toBe(false);
    expect(nftSameBase(renderNftables(overallModel()), renderNftables(overallModel(['10.0.0.1'])))).toBe(false);
  });
});
