/**
 * The page's simulation, run in Node on the same engine.wasm bytes: what the page must show.
 * `defaultTables` uses the engine's default table sizes instead of the page's smaller ones, to
 * show the size does not change the result.
 */
import { readFileSync } from 'node:fs';
import { loadEngineFromBytes } from '../../../host/engine/browser.js';
import { analyzeManifests } from '../../../host/browser/scenario.js';
import { simulate, simulationEngineOptions, type SimulationInput, type SimulationResult } from '../../../host/browser/simulate.js';
import { ensureEngineWasm } from './playground-build.js';

export async function simulateInNode(manifests: string, node: string, input: SimulationInput, defaultTables = false): Promise<SimulationResult> {
  const bytes = new Uint8Array(readFileSync(ensureEngineWasm()));
  const engine = await loadEngineFromBytes(bytes, defaultTables ? { seed: simulationEngineOptions(input).seed } : simulationEngineOptions(input));
  return simulate(engine, analyzeManifests(manifests, node).model, input);
}
