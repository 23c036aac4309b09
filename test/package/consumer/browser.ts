// What a web page bundles: only the browser entry, which must pull in no `node:` module.
import { buildServiceModel, loadEngineFromBytes, parseManifestDocuments } from 'vipwasm/browser';

export async function start(yamlText: string, wasmUrl: string): Promise<number> {
  const { objects } = parseManifestDocuments('pasted.yaml', yamlText);
  const engine = await loadEngineFromBytes(await (await fetch(wasmUrl)).arrayBuffer());
  engine.load(buildServiceModel(objects, {}).model);
  return engine.stats().servicePorts;
}
