/**
 * `npm run bench -- envoy`: the proxy-wasm filter's per-request cost in the TypeScript host
 * emulator, and the module's size.
 *
 * Rows `{ case, services, usPerCall, meanUs, p99Us, moduleBytes }` (bench/results/envoy.json), in
 * microseconds of process CPU time per callback (usPerCall is the median):
 * - `request-headers <route>`: proxy_on_request_headers alone (the stream is created before and
 *   completed after each sample, untimed), routed by Service name, by ClusterIP:port, by the
 *   downstream destination, and with ClientIP affinity shared through proxy shared data;
 * - `http stream`: context create + request headers + done/log/delete;
 * - `tcp new-connection`: context create + proxy_on_new_connection (set_envoy_filter_state) + close;
 * - `noop callback`: proxy_on_log on a live context, i.e. the emulator's own JS↔Wasm call cost.
 * The numbers include the emulator's host-call handling in JavaScript; inside Envoy the host side
 * is C++, so read them as an upper bound on the filter's cost.
 *
 * Each sample is a batch of BATCH callbacks; the figures are the batch's median, mean and p99
 * divided by BATCH.
 *
 * Options: --sizes 100,10000  --time <ms per case>
 */
import { statSync } from 'node:fs';
import { Bench } from 'tinybench';
import { encodeSnapshot } from '../host/engine/snapshot.js';
import type { ModelServicePort, ServiceModel } from '../host/engine/model.js';
import { ProxyWasmHost } from '../host/envoy/emulator/host.js';
import { filterConfigJson, snapshotToBase64 } from '../host/envoy/filter-config.js';
import { filterModule, filterWasmPath } from '../host/envoy/filter-wasm.js';
import { cpuClock, report } from './report.js';

/** Callbacks per tinybench sample; the reported figures are per callback. */
const BATCH = 100;

type Row = { case: string; services: number; usPerCall: number; meanUs: number; p99Us: number; moduleBytes: number };


function option(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

function text(w: number): string {
  return `${w >>> 24}.${(w >>> 16) & 255}.${(w >>> 8) & 255}.${w & 255}`;
}

/** N services `svc-<i>` in namespace bench: ClusterIP 10.96.0.0/12 + i, port 80, 10 endpoints; every 2nd with ClientIP affinity. */
function buildModel(n: number): ServiceModel {
  const servicePorts: ModelServicePort[] = [];
  for (let i = 0; i < n; i++) {
    const backends = Array.from({ length: 10 }, (_, k) => ({
      ip: text(0x0a800000 + i * 16 + k), port: 8080, weight: 1, ready: true, serving: true, terminating: false, local: false, cluster: true, external: true,
    }));
    servicePorts.push({
      namespace: 'bench', name: `svc-${i}`, portName: 'http', type: 'ClusterIP', protocol: 'TCP', port: 80,
      clusterIPs: [text(0x0a600000 + i)], nodePort: 0, externalIPs: [], loadBalancerIPs: [], loadBalancerSourceRanges: [],
      scheduler: 'rr', schedulerFlags: { port: false, fallback: false }, sessionAffinity: i % 2 ? 'ClientIP' : 'None', affinityTimeoutSeconds: 10800,
      externalTrafficPolicy: 'Cluster', internalTrafficPolicy: 'Cluster', healthCheckNodePort: 0, hasEndpoints: true, backends,
    });
  }
  servicePorts.sort((a, b) => (`${a.namespace}/${a.name}` < `${b.namespace}/${b.name}` ? -1 : 1));
  return { nodeIPs: [], servicePorts };
}

export async function run(args: string[]): Promise<void> {
  const sizes = (option(args, '--sizes') ?? '100,10000').split(',').map(Number);
  const time = Number(option(args, '--time') ?? '1000');
  const moduleBytes = statSync(filterWasmPath()).size;
  const rows: Row[] = [];
  for (const n of sizes) {
    const model = buildModel(n);
    const vm = await ProxyWasmHost.load(await filterModule(), {
      pluginConfiguration: filterConfigJson({ snapshot: snapshotToBase64(encodeSnapshot(model)), flowCapacity: 1 << 16 }),
    });
    vm.startVm();
    if (!vm.configure()) throw new Error(`configure failed: ${JSON.stringify(vm.getLogs())}`);
    let i = 0;
    let ctx = 0;
    const batch: number[] = [];
    const batchHeaders: Array<Array<[string, string]>> = [];
    const source = () => ({ source: `198.18.${(i >> 8) & 255}.${i & 255}:${1024 + (i % 50000)}`, destination: `${text(0x0a600000 + (i % n))}:80` });
    const svc = (k: number) => `svc-${(k * 2) % n}`; // even: no affinity
    const bench = new Bench({ time, warmupTime: 300, throws: true, timestampProvider: cpuClock });
    /** Each sample runs BATCH callbacks on BATCH streams created before and completed after it. */
    const headersTask = (name: string, make: () => Array<[string, string]>) =>
      bench.add(name, () => {
        for (let k = 0; k < BATCH; k++) vm.callOnRequestHeaders(batch[k]!, batchHeaders[k]!, true);
      }, {
        beforeEach: () => {
          batch.length = 0;
          batchHeaders.length = 0;
          for (let k = 0; k < BATCH; k++) {
            i++;
            batch.push(vm.initializeHttpContext(source()));
            batchHeaders.push(make());
          }
        },
        afterEach: () => {
          for (const id of batch) vm.completeHttpContext(id);
        },
      });
    headersTask('request-headers by name', () => [[':authority', `${svc(i)}.bench.svc.cluster.local`], [':path', '/']]);
    headersTask('request-headers by ClusterIP:port', () => [[':authority', `${text(0x0a600000 + ((i * 2) % n))}:80`], [':path', '/']]);
    headersTask('request-headers by destination', () => [[':path', '/']]);
    headersTask('request-headers ClientIP affinity (shared data)', () => [[':authority', `svc-${(i * 2 + 1) % n}.bench`], [':path', '/']]);
    bench.add('http stream', () => {
      for (let k = 0; k < BATCH; k++) {
        i++;
        ctx = vm.initializeHttpContext(source());
        vm.callOnRequestHeaders(ctx, [[':authority', `${svc(i)}.bench`]], true);
        vm.completeHttpContext(ctx);
      }
    });
    bench.add('tcp new-connection', () => {
      for (let k = 0; k < BATCH; k++) {
        i++;
        const c = vm.initializeConnection(source());
        vm.completeConnection(c.id);
      }
    });
    const onLog = vm.state.exports['proxy_on_log'] as (c: number) => void;
    bench.add('noop callback', () => {
      for (let k = 0; k < BATCH; k++) onLog(ctx);
    });
    await bench.run();
    for (const task of bench.tasks) {
      const r = task.result;
      if (r.state !== 'completed') throw new Error(`${task.name}: ${r.state}`);
      rows.push({
        case: task.name, services: n, usPerCall: +((r.latency.p50 * 1000) / BATCH).toFixed(2), meanUs: +((r.latency.mean * 1000) / BATCH).toFixed(2),
        p99Us: +((r.latency.p99 * 1000) / BATCH).toFixed(2), moduleBytes,
      });
    }
    if (vm.liveContexts() !== 0) throw new Error(`${vm.liveContexts()} contexts leaked`);
  }
  report('envoy', rows);
}
