/**
 * The filter writes IPv6 endpoints in RFC 5952 text (what Envoy's ORIGINAL_DST cluster parses),
 * and reads every IPv6 text form in :authority. Expected texts come from the model, whose
 * addresses are ipaddr.js canonical strings.
 */
import { describe, expect, it } from 'vitest';
import { modelFrom, request, service, startFilter } from './fixtures.js';

const backends = ['fd00::1', '2001:db8::1:0:0:1', '2001:db8:0:1:1:1:1:1', 'fd00:1:2:3:4:5:6:7', '2001:0:0:1::', 'fe80::abcd:0:0:0'];

describe('IPv6 text', () => {
  it('writes each endpoint in canonical bracketed form', async () => {
    const model = modelFrom(service({ name: 'six', clusterIP: 'fd00:96::10', ips: backends, ports: [{ name: 'http', port: 80, targetPort: 8080 }], extra: '\n  ipFamilies: [IPv6]' }));
    const expected = model.servicePorts[0]!.backends.map((b) => `[${b.ip}]:8080`);
    const vm = await startFilter(model);
    const seen = backends.map((_, i) => request(vm, 'six', `[fd00::5]:${1000 + i}`).endpoint);
    expect(seen.sort()).toEqual([...expected].sort());
  });

  it.each(['[fd00:96::10]:80', '[FD00:96:0:0:0:0:0:10]:80', '[fd00:96:0::0:10]:80', '[fd00:0096::0010]:80'])('reads %s', async (authority) => {
    const model = modelFrom(service({ name: 'six', clusterIP: 'fd00:96::10', ips: ['fd00::1'], extra: '\n  ipFamilies: [IPv6]' }));
    const vm = await startFilter(model);
    expect(request(vm, authority, '[fd00::5]:1').endpoint).toBe('[fd00::1]:8080');
  });

  it('treats ::ffff:a.b.c.d as the IPv4 address', async () => {
    const vm = await startFilter(modelFrom(service({ name: 'web', clusterIP: '10.96.0.10', ips: ['10.1.0.1'] })));
    expect(request(vm, '[::ffff:10.96.0.10]:80').endpoint).toBe('10.1.0.1:8080');
    expect(request(vm, '[::ffff:10.96.0.11]:80').status).toBe(404);
  });
});
