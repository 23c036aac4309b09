/** The page's simulation, run in Node on the same engine.wasm bytes: what the page must show. */
import { readFileSync } from 'node:fs';
import { loadEngineFromBytes } from '../../../host/engine/browser.js';
import { analyzeManifests } from '../../../host/browser/scenario.js';
import { PLAYGROUND_ENGINE_SEED, simulate, type SimulationInput, type SimulationResult } from '../../../host/browser/simulate.js';
import { ensureEngineWasm } from './playground-build.js';

export async function simulateInNode(manifests: string, node: string, input: SimulationInput): Promise<SimulationResult> {
  const bytes = new Uint8Array(readFileSync(ensureEngineWasm()));
  const engine = await loadEngineFromBytes(bytes, { seed: PLAYGROUND_ENGINE_SEED });
  return simulate(engine, analyzeManifests(manifests, node).model, input);
}
