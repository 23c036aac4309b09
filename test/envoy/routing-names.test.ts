import { describe, expect, it } from 'vitest';
import { modelFrom, request, service, startFilter } from './fixtures.js';

const manifests = [
  service({ name: 'web', clusterIP: '10.96.0.10', ips: ['10.1.0.1'], ports: [{ name: 'http', port: 80, targetPort: 8080 }, { name: 'admin', port: 9000, targetPort: 9001 }] }),
  service({ name: 'api', namespace: 'shop', clusterIP: '10.96.0.20', ips: ['10.2.0.1'], ports: [{ name: 'http', port: 8080, targetPort: 80 }] }),
].join('---\n');

describe('HTTP filter: choosing the Service port from :authority', () => {
  it.each([
    ['web', '10.1.0.1:8080'],
    ['web:80', '10.1.0.1:8080'],
    ['web:9000', '10.1.0.1:9001'],
    ['web.default', '10.1.0.1:8080'],
    ['web.default.svc', '10.1.0.1:8080'],
    ['web.default.svc.cluster.local', '10.1.0.1:8080'],
    ['web.default.svc.cluster.local.', '10.1.0.1:8080'],
    ['WEB.Default.SVC.Cluster.Local:80', '10.1.0.1:8080'],
    ['api.shop:8080', '10.2.0.1:80'],
    ['api.shop.svc:8080', '10.2.0.1:80'],
    ['api.shop.svc.cluster.local:8080', '10.2.0.1:80'],
    ['10.96.0.10:9000', '10.1.0.1:9001'],
    ['10.96.0.10', '10.1.0.1:8080'],
    ['10.96.0.20:8080', '10.2.0.1:80'],
  ])('%s → %s', async (authority, endpoint) => {
    const vm = await startFilter(modelFrom(manifests));
    const r = request(vm, authority);
    expect(r).toMatchObject({ endpoint, status: null, action: 0 });
  });

  it('uses the configured namespace for bare names and the configured cluster domain', async () => {
    const vm = await startFilter(modelFrom(manifests), { namespace: 'shop', clusterDomain: 'corp.example' });
    expect(request(vm, 'api:8080').endpoint).toBe('10.2.0.1:80');
    expect(request(vm, 'api.shop.svc.corp.example:8080').endpoint).toBe('10.2.0.1:80');
    // cluster.local is not this cluster's domain: not a Service name, so the destination decides (none here).
    expect(request(vm, 'api.shop.svc.cluster.local:8080').status).toBe(404);
  });

  it('implies port 443 for :scheme https', async () => {
    const model = modelFrom(service({ name: 'tls', clusterIP: '10.96.0.30', ips: ['10.3.0.1'], ports: [{ name: 'https', port: 443, targetPort: 8443 }] }));
    const vm = await startFilter(model);
    const id = vm.initializeHttpContext({ source: '10.0.0.1:1', destination: '127.0.0.1:10000' });
    vm.callOnRequestHeaders(id, [[':authority', 'tls'], [':scheme', 'https'], [':path', '/'], [':method', 'GET']], true);
    expect(vm.getRequestHeaders(id)).toContainEqual(['x-vipwasm-endpoint', '10.3.0.1:8443']);
    vm.completeHttpContext(id);
  });

  it('falls back to the downstream destination address when :authority names no Service', async () => {
    const vm = await startFilter(modelFrom(manifests));
    expect(request(vm, 'example.com', '10.0.0.1:40000', '10.96.0.20:8080').endpoint).toBe('10.2.0.1:80');
    expect(request(vm, 'localhost:8080', '10.0.0.1:40001', '10.96.0.10:9000').endpoint).toBe('10.1.0.1:9001');
    expect(request(vm, null, '10.0.0.1:40002', '10.96.0.10:80').endpoint).toBe('10.1.0.1:8080');
  });

  it('answers 404 and strips the endpoint header when nothing matches', async () => {
    const vm = await startFilter(modelFrom(manifests));
    const r = request(vm, 'nosuch.default:80', '10.0.0.1:1', '127.0.0.1:10000', [['x-vipwasm-endpoint', '169.254.169.254:80']]);
    expect(r.status).toBe(404);
    expect(r.endpoint).toBeNull();
    expect(r.body).toBe('vipwasm: no Service port matches :authority "nosuch.default:80" or the destination address\n');
    expect(r.action).toBe(1);
    expect(vm.getMetric('vipwasm.unmatched')).toBe(1n);
  });

  it('always overwrites a client-supplied endpoint header', async () => {
    const vm = await startFilter(modelFrom(manifests));
    const r = request(vm, 'web', '10.0.0.1:1', '127.0.0.1:10000', [['X-Vipwasm-Endpoint', '169.254.169.254:80'], ['x-vipwasm-endpoint', '1.2.3.4:5']]);
    expect(r.endpoint).toBe('10.1.0.1:8080');
    const vm2 = await startFilter(modelFrom(manifests));
    const id = vm2.initializeHttpContext({ source: '10.0.0.1:2', destination: '127.0.0.1:10000' });
    vm2.callOnRequestHeaders(id, [[':authority', 'web'], ['x-vipwasm-endpoint', '169.254.169.254:80']], true);
    expect(vm2.getRequestHeaders(id).filter(([k]) => k === 'x-vipwasm-endpoint')).toEqual([['x-vipwasm-endpoint', '10.1.0.1:8080']]);
  });

  it('routes IPv6 ClusterIPs and writes bracketed IPv6 endpoints', async () => {
    const model = modelFrom(service({ name: 'six', clusterIP: 'fd00:96::10', ips: ['fd00:1::1'], ports: [{ name: 'http', port: 80, targetPort: 8080 }], extra: '\n  ipFamilies: [IPv6]' }));
    const vm = await startFilter(model);
    expect(request(vm, '[fd00:96::10]:80', '[fd00::5]:1234').endpoint).toBe('[fd00:1::1]:8080');
    expect(request(vm, 'six.default.svc.cluster.local', '[fd00::5]:1235').endpoint).toBe('[fd00:1::1]:8080');
  });
});
