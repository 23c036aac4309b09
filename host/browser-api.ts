/**
 * The browser-safe library, exported as "vipwasm/browser": everything of the main entry that needs
 * no `node:` module — the contracts, addresses, the snapshot encoder, the Engine with its
 * @bjorn3/browser_wasi_shim loader (loadEngineFromBytes) and the Kubernetes model (buildServiceModel,
 * parseManifestDocuments). The bytes of engine.wasm come from "vipwasm/engine.wasm": fetch them, or
 * let a bundler emit the file. The playground is built from the same modules.
 */
export * from './engine/api.js';
export * from './engine/address.js';
export * from './engine/model.js';
export { Engine, ENGINE_ABI_VERSION, randomHashKey, type EngineExports } from './engine/engine.js';
export { encodeSnapshot, resealSnapshot, schedulerId, SNAPSHOT_ERRORS, SNAPSHOT_MAGIC, SNAPSHOT_VERSION } from './engine/snapshot.js';
export { loadEngineFromBytes } from './engine/browser.js';
export * from './model/index.js';
