/**
 * Loads engine.wasm in Node through `node:wasi` (a WASI reactor: `_initialize`, no `_start`).
 * Finds build/engine.wasm from the sources (host/engine/*.ts under vitest or tsx) and from the
 * compiled package (dist/host/engine/*.js).
 */
import { readFileSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { EngineOptions } from './api.js';
import { Engine } from './engine.js';

/** Path of build/<file> (engine.wasm, engine.shared.wasm); throws naming the places looked at when it is missing. */
export function builtWasmPath(file: string): string {
  const tried: string[] = [];
  for (const rel of [`../../build/${file}`, `../../../build/${file}`]) {
    const path = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(path)) return path;
    tried.push(path);
  }
  throw new Error(`${file} not found (looked at ${tried.join(', ')}): run "npm run build"`);
}

/** Path of build/engine.wasm; throws naming the places looked at when it is missing. */
export function engineWasmPath(): string {
  return builtWasmPath('engine.wasm');
}

let compiled: Promise<WebAssembly.Module> | null = null;

/** The compiled engine module (compiled once per process). */
export function engineModule(): Promise<WebAssembly.Module> {
  compiled ??= WebAssembly.compile(readFileSync(engineWasmPath()));
  return compiled;
}

let wasiClass: Promise<typeof import('node:wasi').WASI> | null = null;

/** node:wasi's WASI class, imported without Node's one-time "WASI is an experimental feature" warning. */
export function wasiConstructor(): Promise<typeof import('node:wasi').WASI> {
  wasiClass ??= (async () => {
    const emit = process.emitWarning;
    process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
      if (String(warning).includes('WASI')) return;
      (emit as (...args: unknown[]) => void).call(process, warning, ...rest);
    }) as typeof process.emitWarning;
    try {
      return (await import('node:wasi')).WASI;
    } finally {
      process.emitWarning = emit;
    }
  })();
  return wasiClass;
}

/**
 * A fresh engine instance (its own memory, tables and generation) with `options` applied, of
 * build/engine.wasm or of another compiled build (`module`: bench engine-paired's baseline).
 */
export async function loadEngine(options?: EngineOptions, module?: WebAssembly.Module): Promise<Engine> {
  module ??= await engineModule();
  const WASI = await wasiConstructor();
  const wasi = new WASI({ version: 'preview1', args: [], env: {} });
  const instance = await WebAssembly.instantiate(module, wasi.getImportObject() as WebAssembly.Imports);
  wasi.initialize(instance);
  return new Engine(instance, options);
}
