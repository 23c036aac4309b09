/** Bad renderer options fail loudly, naming the option and the value. */
import { describe, expect, it } from 'vitest';
import { localhostNodePortsActive, masqueradeMark, nodePortIPs, ruleOptions } from '../../host/rules/options.js';

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

describe("kube-proxy's NodePort addresses (NewNodePortAddresses)", () => {
  const nodeIPs = ['10.1.0.5', '192.168.7.2', 'fd00::5'];
  it('matches every local address when unset, or when no entry is of this family, or one is /0', () => {
    expect(nodePortIPs(nodeIPs, ruleOptions({}))).toBeUndefined();
    expect(nodePortIPs(nodeIPs, ruleOptions({ nodePortAddresses: ['fd00::/64'] }))).toBeUndefined();
    expect(nodePortIPs(nodeIPs, ruleOptions({ nodePortAddresses: ['10.0.0.0/8', '0.0.0.0/0'] }))).toBeUndefined();
  });
  it('selects node IPs by CIDR, and all of this family for primary', () => {
    expect(nodePortIPs(nodeIPs, ruleOptions({ nodePortAddresses: ['192.168.0.0/16'] }))).toEqual(['192.168.7.2']);
    expect(nodePortIPs(nodeIPs, ruleOptions({ nodePortAddresses: ['primary'], family: 6 }))).toEqual(['fd00::5']);
  });
  it('keeps localhost NodePorts only for IPv4 and only when the addresses cover 127.0.0.1', () => {
    expect(localhostNodePortsActive(ruleOptions({}))).toBe(true);
    expect(localhostNodePortsActive(ruleOptions({ family: 6 }))).toBe(false);
    expect(localhostNodePortsActive(ruleOptions({ localhostNodePorts: false }))).toBe(false);
    expect(localhostNodePortsActive(ruleOptions({ nodePortAddresses: ['primary'] }))).toBe(false);
    expect(localhostNodePortsActive(ruleOptions({ nodePortAddresses: ['10.0.0.0/8', '127.0.0.1/32'] }))).toBe(true);
    expect(localhostNodePortsActive(ruleOptions({ nodePortAddresses: ['fd00::/64'] }))).toBe(true);
  });
  it('refuses a value that is neither a CIDR nor primary', () => {
    expect(() => ruleOptions({ nodePortAddresses: ['lan'] })).toThrow('nodePortAddresses: "lan" is not a CIDR or "primary"');
  });
});
