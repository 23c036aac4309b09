import { describe, expect, it } from 'vitest';
import { parseDuration, resolveForwarderFlags } from '../../host/cli/forwarder-options.js';
import type { ForwarderFlagValues } from '../../host/cli/forwarder-options.js';
import { parseBindAddress } from '../../host/forwarder/health.js';

const defaults: ForwarderFlagValues = {
  metricsBindAddress: '127.0.0.1:10249',
  healthzBindAddress: '127.0.0.1:10256',
  connectTimeout: '2s',
  connectRetries: '2',
  udpTimeout: '300s',
  udpMaxSessions: '16384',
  tcpIdleTimeout: '0',
  ejectDuration: '5s',
  shutdownGrace: '30s',
  healthzTimeout: '60s',
  logLevel: 'info',
};

describe('forwarder flags', () => {
  it('resolves the defaults', () => {
    const r = resolveForwarderFlags(defaults);
    expect(r.forwarder).toMatchObject({ connectTimeoutMs: 2000, connectRetries: 2, udpTimeoutMs: 300_000, ejectMs: 5000, healthTimeoutMs: 60_000 });
    expect(r.engine.timeouts).toEqual({ udp: 300 });
    expect(r.metricsAddress).toBe('127.0.0.1:10249');
    expect(r.shutdownGraceMs).toBe(30_000);
  });

  it('parses durations and names the flag on bad input', () => {
    expect(parseDuration('--x', '250ms')).toBe(250);
    expect(parseDuration('--x', '1.5s')).toBe(1500);
    expect(parseDuration('--x', '2m')).toBe(120_000);
    expect(() => parseDuration('--udp-timeout', 'soon')).toThrow('--udp-timeout: "soon" is not a duration (e.g. 500ms, 2s, 5m)');
  });

  it('rejects bad counts, CIDRs, addresses and interface names', () => {
    expect(() => resolveForwarderFlags({ ...defaults, connectRetries: '-1' })).toThrow('--connect-retries: "-1" must be an integer from 0 to 16');
    expect(() => resolveForwarderFlags({ ...defaults, nodeportAddresses: ['10.0.0.0/33'] })).toThrow('--nodeport-addresses: "10.0.0.0/33" is not a CIDR');
    expect(() => resolveForwarderFlags({ ...defaults, metricsBindAddress: 'localhost' })).toThrow('--metrics-bind-address: "localhost" is not host:port');
    expect(() => resolveForwarderFlags({ ...defaults, bindVips: 'way-too-long-interface-name' })).toThrow('--bind-vips');
  });

  it('turns servers off with "off" and accepts IPv6 bind addresses', () => {
    expect(resolveForwarderFlags({ ...defaults, healthzBindAddress: 'off' }).healthzAddress).toBeNull();
    expect(parseBindAddress('--x', '[::1]:10249')).toEqual({ host: '::1', port: 10249 });
  });
});
