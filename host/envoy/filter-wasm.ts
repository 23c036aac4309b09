/**
 * Finds and compiles build/envoy-filter.wasm (the proxy-wasm filter built from engine/envoy/ by
 * asconfig.envoy.json), from the sources (host/envoy/*.ts under vitest or tsx) and from the
 * compiled package (dist/host/envoy/*.js).
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const CANDIDATES = ['../../build/envoy-filter.wasm', '../../../build/envoy-filter.wasm'];

/** Path of build/envoy-filter.wasm; throws naming the places looked at when it is missing. */
export function filterWasmPath(): string {
  const tried: string[] = [];
  for (const rel of CANDIDATES) {
    const path = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(path)) return path;
    tried.push(path);
  }
  throw new Error(`envoy-filter.wasm not found (looked at ${tried.join(', ')}): run "npm run build"`);
}

let compiled: Promise<WebAssembly.Module> | null = null;

/** The compiled filter module, once per process. */
export function filterModule(): Promise<WebAssembly.Module> {
  compiled ??= WebAssembly.compile(readFileSync(filterWasmPath()));
  return compiled;
}
