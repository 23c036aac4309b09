/**
 * The jumps from built-in chains: kube-proxy's (with comments) and kubelet's KUBE-FIREWALL ones (without),
 * found in `iptables -S` listings so a full sync never inserts a jump twice.
 */
import { describe, expect, it } from 'vitest';
import { hasJump, IPTABLES_JUMPS, jumpRestoreLine, KUBELET_JUMPS } from '../../host/rules/render-iptables.js';

const input = KUBELET_JUMPS.find((j) => j.from === 'INPUT')!;
const portals = IPTABLES_JUMPS.find((j) => j.from === 'INPUT' && j.to === 'KUBE-EXTERNAL-SERVICES')!;

describe('jumps from built-in chains', () => {
  it("writes kubelet's firewall jumps without a comment, kube-proxy's with one", () => {
    expect(jumpRestoreLine(input, '-I')).toBe('-I INPUT 1 -j KUBE-FIREWALL');
    expect(jumpRestoreLine(input, '-D')).toBe('-D INPUT -j KUBE-FIREWALL');
    expect(jumpRestoreLine(portals, '-I')).toBe('-I INPUT 1 -m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES');
  });

  it('finds an installed jump in an iptables -S listing, and only that one', () => {
    const listing = [
      '-P INPUT ACCEPT',
      '-A INPUT -j KUBE-FIREWALL',
      '-A INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES',
    ].join('\n');
    expect(hasJump(listing, input)).toBe(true);
    expect(hasJump(listing, portals)).toBe(true);
    expect(hasJump('-P INPUT ACCEPT\n-A INPUT -s 10.0.0.0/8 -j KUBE-FIREWALL', input)).toBe(false);
    expect(hasJump('-P INPUT ACCEPT', portals)).toBe(false);
  });
});
