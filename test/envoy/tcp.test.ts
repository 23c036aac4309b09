/**
 * The network filter: the backend goes to Envoy as the filter state
 * envoy.network.transport_socket.original_dst_address (set_envoy_filter_state), connections that
 * cannot be served are closed, and closing a connection ends its engine flow (least-connection
 * schedulers see it).
 */
import { describe, expect, it } from 'vitest';
import { modelFrom, request, service, startFilter } from './fixtures.js';

const KEY = 'envoy.network.transport_socket.original_dst_address';

describe('TCP filter', () => {
  it('sets original_dst_address to the chosen backend and continues', async () => {
    const vm = await startFilter(modelFrom(service({ name: 'db', clusterIP: '10.96.3.1', ports: [{ name: 'pg', port: 5432, targetPort: 5433 }], ips: ['10.1.0.1', '10.1.0.2'] })));
    const a = vm.initializeConnection({ source: '10.0.0.1:40000', destination: '10.96.3.1:5432' });
    const b = vm.initializeConnection({ source: '10.0.0.1:40001', destination: '10.96.3.1:5432' });
    expect(a.action).toBe(0);
    expect(vm.getFilterState(a.id).get(KEY)).toEqual({ value: '10.1.0.1:5433', span: 0 });
    expect(vm.getFilterState(b.id).get(KEY)).toEqual({ value: '10.1.0.2:5433', span: 0 });
    expect(vm.state.streams.get(a.id)!.closed).toBe(0);
    vm.completeConnection(a.id);
    vm.completeConnection(b.id);
    expect(vm.getMetric('vipwasm.decisions')).toBe(2n);
  });

  it('closes connections to Services without endpoints and to unknown destinations', async () => {
    const vm = await startFilter(modelFrom(service({ name: 'none', clusterIP: '10.96.3.2', ips: [] })));
    const rejected = vm.initializeConnection({ source: '10.0.0.1:40000', destination: '10.96.3.2:80' });
    expect(rejected.action).toBe(1);
    expect(vm.state.streams.get(rejected.id)!.closed).toBe(1);
    expect(vm.getFilterState(rejected.id).size).toBe(0);
    const unknown = vm.initializeConnection({ source: '10.0.0.1:40001', destination: '10.96.9.9:80' });
    expect(vm.state.streams.get(unknown.id)!.closed).toBe(1);
    expect(vm.getMetric('vipwasm.rejects')).toBe(1n);
    expect(vm.getMetric('vipwasm.unmatched')).toBe(1n);
  });

  it('advances one rr position per ClusterIP whether a connection names the Service or its address', async () => {
    // HTTP streams reach the engine by Service port (connectToServicePort), TCP connections by
    // destination (connect): both are the ClusterIP's virtual service, so one round robin.
    const vm = await startFilter(modelFrom(service({ name: 'web', clusterIP: '10.96.3.4', ips: ['10.1.0.1', '10.1.0.2', '10.1.0.3'] })));
    const chosen: string[] = [];
    for (let i = 0; i < 9; i++) {
      if (i % 3 === 1) {
        const c = vm.initializeConnection({ source: `10.0.0.2:${30000 + i}`, destination: '10.96.3.4:80' });
        chosen.push(vm.getFilterState(c.id).get(KEY)?.value ?? 'none');
        vm.completeConnection(c.id);
      } else {
        chosen.push(request(vm, 'web.default.svc.cluster.local:80', `10.0.0.1:${40000 + i}`).endpoint ?? 'none');
      }
    }
    expect(chosen).toEqual(Array.from({ length: 9 }, (_, i) => `10.1.0.${1 + (i % 3)}:8080`));
  });

  it('ends the flow when the connection closes, so lc sees the freed backend', async () => {
    const vm = await startFilter(modelFrom(service({ name: 'lc', clusterIP: '10.96.3.3', ips: ['10.1.0.1', '10.1.0.2'], scheduler: 'lc' })));
    const backendOf = (id: number) => vm.getFilterState(id).get(KEY)?.value;
    const c1 = vm.initializeConnection({ source: '10.0.0.1:1', destination: '10.96.3.3:80' });
    const c2 = vm.initializeConnection({ source: '10.0.0.1:2', destination: '10.96.3.3:80' });
    expect([backendOf(c1.id), backendOf(c2.id)]).toEqual(['10.1.0.1:8080', '10.1.0.2:8080']);
    vm.completeConnection(c1.id);
    const c3 = vm.initializeConnection({ source: '10.0.0.1:3', destination: '10.96.3.3:80' });
    expect(backendOf(c3.id)).toBe('10.1.0.1:8080');
    const c4 = vm.initializeConnection({ source: '10.0.0.1:4', destination: '10.96.3.3:80' });
    // One active each now, but c1 still counts as inactive (TIME_WAIT) on the first: IPVS lc's
    // overhead is active * 256 + inactive, so the second backend is less loaded.
    expect(backendOf(c4.id)).toBe('10.1.0.2:8080');
  });
});
