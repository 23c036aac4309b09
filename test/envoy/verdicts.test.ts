import { describe, expect, it } from 'vitest';
import { modelFrom, request, service, startFilter } from './fixtures.js';

describe('HTTP filter: verdicts other than a backend', () => {
  it('answers 503 with a clear body when the Service has no endpoints', async () => {
    const vm = await startFilter(modelFrom(service({ name: 'empty', clusterIP: '10.96.1.1', ips: [] })));
    const r = request(vm, 'empty', '10.0.0.1:1', '127.0.0.1:10000', [['x-vipwasm-endpoint', '10.9.9.9:1']]);
    expect(r.status).toBe(503);
    expect(r.body).toBe('vipwasm: Service "default/empty:http" has no usable endpoints\n');
    expect(r.endpoint).toBeNull();
    expect(r.action).toBe(1);
    expect(vm.getMetric('vipwasm.rejects')).toBe(1n);
    expect(vm.getMetric('vipwasm.decisions')).toBe(0n);
  });

  it('answers 403 when the Local internal traffic policy leaves no local endpoint', async () => {
    const model = modelFrom(service({ name: 'local', clusterIP: '10.96.1.2', ips: ['10.1.0.1'], nodes: ['node-b'], internalTrafficPolicy: 'Local' }));
    const vm = await startFilter(model);
    const r = request(vm, 'local.default', '10.0.0.1:1');
    expect(r.status).toBe(403);
    expect(r.body).toContain('vipwasm: request to Service "default/local:http" dropped by policy');
    expect(vm.getMetric('vipwasm.drops')).toBe(1n);
  });

  it('answers 503 before any snapshot has been loaded (configured with a snapshot endpoint only)', async () => {
    const vm = await startFilter(modelFrom(service({ name: 'x', ips: ['10.1.0.1'] })), { snapshot: undefined as unknown as string, snapshotCluster: 'vipwasm_snapshot' });
    const r = request(vm, 'x');
    expect(r.status).toBe(503);
    expect(r.body).toBe('vipwasm: no snapshot loaded yet\n');
  });

  it('counts decisions per service port', async () => {
    const vm = await startFilter(modelFrom(service({ name: 'web', clusterIP: '10.96.1.3', ips: ['10.1.0.1', '10.1.0.2'] })));
    for (let i = 0; i < 5; i++) request(vm, 'web', `10.0.0.1:${1000 + i}`);
    expect(vm.getMetric('vipwasm.decisions')).toBe(5n);
    expect(vm.getMetric('vipwasm.service.default.web.http.decisions')).toBe(5n);
    expect(vm.metricNames()).toEqual(expect.arrayContaining(['vipwasm.rejects', 'vipwasm.drops', 'vipwasm.unmatched', 'vipwasm.snapshot.generation']));
  });
});
