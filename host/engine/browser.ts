/**
 * Loads engine.wasm anywhere WebAssembly runs, with @bjorn3/browser_wasi_shim as the WASI layer.
 * No `node:` imports: this file is bundled for the browser playground (and tested under Node).
 */
import { ConsoleStdout, File, OpenFile, WASI } from '@bjorn3/browser_wasi_shim';
import type { EngineOptions } from './api.js';
import { Engine } from './engine.js';

/** Instantiates engine.wasm from its bytes (or an already compiled module) and wraps it. */
export async function loadEngineFromBytes(bytes: BufferSource | WebAssembly.Module, options?: EngineOptions): Promise<Engine> {
  const wasi = new WASI([], [], [
    new OpenFile(new File([])),
    ConsoleStdout.lineBuffered((line) => console.log(line)),
    ConsoleStdout.lineBuffered((line) => console.warn(line)),
  ]);
  const module = bytes instanceof WebAssembly.Module ? bytes : await WebAssembly.compile(bytes);
  const instance = await WebAssembly.instantiate(module, { wasi_snapshot_preview1: wasi.wasiImport });
  wasi.initialize(instance as { exports: { memory: WebAssembly.Memory; _initialize?: () => unknown } });
  return new Engine(instance, options);
}
