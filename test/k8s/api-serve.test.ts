/**
 * `vipwasm serve --kubeconfig` against a real API server: what it serves is what the Envoy filter
 * decides after loading the served snapshot, the way Envoy does (the compiled envoy-filter.wasm in
 * the proxy-wasm host emulator polls it: tick, HTTP call, response): the endpoints it picks for
 * requests to ClusterIP:port from a dozen clients. The verb reaches the API server through a relay
 * the test can cut.
 */
import { join } from 'node:path';
import { writeKubeconfig } from '../../scripts/k8s/cluster.js';
import { NODE } from './api-cluster.js';
import { ApiRelay, VipwasmProcess } from './api-process.js';
import { describeFollowing } from './following.js';
import { ProxyWasmHost, modelFrom, request, startFilter } from '../envoy/fixtures.js';

/** Loads the snapshot from `url` into the filter as its poll would; throws unless it was accepted. */
async function poll(vm: ProxyWasmHost, url: string): Promise<void> {
  const res = await fetch(url);
  if (res.status !== 200) throw new Error(`GET ${url}: HTTP ${res.status}`);
  const bytes = new Uint8Array(await res.arrayBuffer());
  const failures = vm.getMetric('vipwasm.snapshot.update_failures');
  vm.tick();
  const [call] = vm.pendingHttpCalls();
  vm.callOnHttpCallResponse(call!.id, [[':status', '200'], ['etag', res.headers.get('etag')!], ['content-type', 'application/octet-stream']], bytes);
  if (vm.getMetric('vipwasm.snapshot.update_failures') !== failures) throw new Error(`the filter rejected the snapshot: ${JSON.stringify(vm.getLogs())}`);
}

describeFollowing('serve --kubeconfig follows a real API server', false, async (api) => {
  const relay = new ApiRelay(Number(new URL(api.cluster.server).port));
  await relay.restore();
  const kubeconfig = join(api.dir, 'serve.kubeconfig');
  writeKubeconfig(kubeconfig, `https://127.0.0.1:${relay.port}`, join(api.cluster.options.dir, 'pki', 'ca.crt'), 'admin-token-vipwasm');
  const proc = new VipwasmProcess(['serve', '--kubeconfig', kubeconfig, '--node-name', NODE.name, '--listen', '127.0.0.1:0']);
  let url: string;
  let clients = 0;
  let vm: ProxyWasmHost;
  try {
    url = `http://127.0.0.1:${(await proc.waitFor(/on http:\/\/127\.0\.0\.1:(\d+)\/snapshot/))[1]}/snapshot`;
    // The filter starts from an unrelated model; every observation replaces it with what serve serves.
    vm = await startFilter(modelFrom('apiVersion: v1\nkind: Service\nmetadata: { name: other }\nspec: { ports: [{ port: 1 }] }\n'), {
      snapshotCluster: 'vipwasm_snapshot', pollMs: 1000, snapshotAuthority: '127.0.0.1:9902', snapshotPath: '/snapshot',
    });
  } catch (err) {
    await proc.stop();
    await relay.cut();
    throw err;
  }
  return {
    relay,
    process: proc,
    async observe(clusterIP, port) {
      await poll(vm, url);
      // New clients each time: the filter keeps a client's flow on its backend across snapshots.
      const endpoints = Array.from({ length: 12 }, () => request(vm, `${clusterIP}:${port}`, `198.18.0.${100 + (clients % 100)}:${20000 + clients++}`).endpoint);
      return [...new Set(endpoints.filter((e): e is string => e !== null).map((e) => e.split(':')[0]!))];
    },
    async stop() {
      await proc.stop();
      await relay.cut();
    },
  };
});
