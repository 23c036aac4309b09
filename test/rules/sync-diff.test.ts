/** What partial syncs contain (KEP-3453 for iptables; element diffs for nftables). */
import { describe, expect, it } from 'vitest';
import { iptablesRestorePartial, renderIptables, TOP_LEVEL_CHAINS } from '../../host/rules/render-iptables.js';
import { nftSameBase, nftTransactionPartial, renderNftables } from '../../host/rules/render-nftables.js';
import { backend, overallModel, model, servicePort } from './fixtures.js';

describe('iptables partial sync', () => {
  it('is empty when nothing changed (unchanged top-level chains are not rewritten)', () => {
    const rs = renderIptables(overallModel());
    expect(iptablesRestorePartial(rs, renderIptables(overallModel()))).toBe('');
  });

  it('rewrites a top-level chain when it changed, and nothing else unchanged', () => {
    const svc = (name: string, ip: string) => servicePort('ns', name, { clusterIPs: [ip], backends: [backend('10.1.0.1', 80)] });
    const before = renderIptables(model([svc('a', '10.96.0.1')]));
    const text = iptablesRestorePartial(before, renderIptables(model([svc('a', '10.96.0.1'), svc('b', '10.96.0.2')])));
    const declared = [...text.matchAll(/^:(\S+)/gm)].map((m) => m[1]!);
    expect(declared.filter((c) => (TOP_LEVEL_CHAINS.nat as readonly string[]).includes(c))).toEqual(['KUBE-SERVICES']);
    expect(text).not.toMatch(/^\*filter/m);
    expect(text).toContain('-d 10.96.0.2');
    expect(text).not.toContain(':KUBE-SVC-' + /KUBE-SVC-(\S+)/.exec(iptablesRestorePartial(renderIptables(model([])), before))![1]);
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
