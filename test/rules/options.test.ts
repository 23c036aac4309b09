/** Bad renderer options fail loudly, naming the option and the value. */
import { describe, expect, it } from 'vitest';
import { masqueradeMark, ruleOptions } from '../../host/rules/options.js';

describe('rule options', () => {
  it('names the bad option', () => {
    expect(() => ruleOptions({ clusterCIDRs: ['10.0.0.0/33'] })).toThrow('clusterCIDR: "10.0.0.0/33" is not a CIDR');
    expect(() => ruleOptions({ masqueradeBit: 32 })).toThrow('masqueradeBit: 32 is outside 0-31');
    expect(() => ruleOptions({ nftTable: 'a b' })).toThrow('nftTable: "a b" is not a valid table name');
  });

  it('keeps only CIDRs of the ruleset family', () => {
    expect(ruleOptions({ family: 6, clusterCIDRs: ['10.0.0.0/8', 'fd00::/48'] }).clusterCIDRs).toEqual(['fd00::/48']);
  });

  it('formats the mark as iptables-save prints it', () => {
    expect(masqueradeMark(ruleOptions())).toBe('0x4000');
    expect(masqueradeMark(ruleOptions({ masqueradeBit: 31 }))).toBe('0x80000000');
  });
});
