/**
 * Upstream kube-proxy's overall golden tests (TestOverallIPTablesRules, TestOverallNFTablesRules) on the
 * same six Services, compared after upstream's own normalisation.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { iptablesRestoreFull, renderIptables } from '../../host/rules/render-iptables.js';
import { nftTransactionFull, renderNftables } from '../../host/rules/render-nftables.js';
import { overallModel } from './fixtures.js';
import { NFACCT_CT_STATE_INVALID_DROPPED, NFACCT_LOCALHOST_NODEPORT_ACCEPTED } from '../../host/rules/options.js';
import { sortIPTablesRules, sortNFTablesTransaction } from './normalize.js';

const golden = (name: string) => readFileSync(new URL(`./golden/${name}`, import.meta.url), 'utf8');
const options = { clusterCIDRs: ['10.0.0.0/8'] };
/** Upstream's fake iptables proxier has both nfacct counters (newFakeProxier: nfAcctCounters all true). */
const iptablesOptions = { ...options, nfacctCounters: [NFACCT_CT_STATE_INVALID_DROPPED, NFACCT_LOCALHOST_NODEPORT_ACCEPTED] };

describe('upstream overall golden rulesets', () => {
  it('iptables: matches TestOverallIPTablesRules', () => {
    const actual = iptablesRestoreFull(renderIptables(overallModel(), iptablesOptions));
    expect(sortIPTablesRules(actual)).toBe(sortIPTablesRules(golden('iptables-overall.txt')));
  });

  it('nftables: matches TestOverallNFTablesRules', () => {
    // Our full sync deletes and re-creates the table in one transaction; upstream's fake starts empty.
    const actual = nftTransactionFull(renderNftables({ ...overallModel(['192.168.0.2']), serviceCIDRs: ['172.30.0.0/16'] }, options)).split('\n').slice(2).join('\n');
    expect(sortNFTablesTransaction(actual)).toBe(sortNFTablesTransaction(golden('nftables-overall.txt')));
  });
});
