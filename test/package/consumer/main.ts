// A consumer of the packed vipwasm package (test/package/consumer.test.ts copies this folder into a
// fresh project): the main API, the engine entry, the browser entry and both wasm files, all
// through the package's `exports`. Prints what it saw as JSON for the test to check.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { ApiServerSource, buildServiceModel, loadManifests, parseAddress, PROTOCOL_NUMBER, Verdict, type ServiceModel } from 'vipwasm';
import { loadEngine, type EngineApi } from 'vipwasm/engine';
import { loadEngineFromBytes } from 'vipwasm/browser';

function backendFor(engine: EngineApi, model: ServiceModel, clientPort: number): string {
  const sp = model.servicePorts[0]!;
  const d = engine.connect(PROTOCOL_NUMBER.TCP, parseAddress('198.18.0.7'), clientPort, parseAddress(sp.clusterIPs[0]!), sp.port, Date.now());
  return d.verdict === Verdict.Backend ? `${d.backend!.ip}:${d.backend!.port}` : `verdict ${d.verdict}`;
}

// The declarations are real types, not `any`: each misuse below must be a compile error, and an
// unused expect-error directive is one too, so this file does not compile against degraded types.
export function misuses(engine: EngineApi): void {
  // @ts-expect-error a port is a number
  engine.connect(PROTOCOL_NUMBER.TCP, parseAddress('198.18.0.7'), '80', parseAddress('10.96.0.10'), 80, 0);
  // @ts-expect-error buildServiceModel takes Kubernetes objects
  buildServiceModel('web.yaml', {});
  // @ts-expect-error a table capacity is a number
  void loadEngineFromBytes(new Uint8Array(8), { flowCapacity: 'big' });
}

const manifest = fileURLToPath(new URL('../web.yaml', import.meta.url));
const { objects, diagnostics } = await loadManifests([manifest]);
const { model } = buildServiceModel(objects, { nodeName: 'node-a', serviceClusterIPRanges: ['10.96.0.0/16'] });

const node = await loadEngine({ flowCapacity: 1024 });
node.load(model);
const engineWasm = await readFile(fileURLToPath(import.meta.resolve('vipwasm/engine.wasm')));
const browser = await loadEngineFromBytes(engineWasm, { flowCapacity: 1024 });
browser.load(model);
const filter = await WebAssembly.compile(await readFile(fileURLToPath(import.meta.resolve('vipwasm/envoy-filter.wasm'))));

// The API-server source loads @kubernetes/client-node only on start(): a missing kubeconfig is its error.
const apiError = await new ApiServerSource({ kubeconfig: '/nonexistent/kubeconfig' }).start().then(() => 'started', (e: Error) => e.message);

const ports = [40001, 40002, 40003, 40004];
console.log(JSON.stringify({
  diagnostics: diagnostics.length,
  clusterIP: model.servicePorts[0]?.clusterIPs[0],
  node: ports.map((p) => backendFor(node, model, p)),
  browser: ports.map((p) => backendFor(browser, model, p)),
  filterExports: WebAssembly.Module.exports(filter).map((e) => e.name),
  apiError,
}));
