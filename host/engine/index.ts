/**
 * Public API of the engine host: types and contracts, the snapshot encoder, the Engine wrapper and
 * its Node loader. Browser code imports ./browser.js directly (no node: imports there).
 */
export * from './api.js';
export * from './address.js';
export * from './model.js';
export { Engine, ENGINE_ABI_VERSION, randomHashKey, type EngineExports } from './engine.js';
export { encodeDelta, ServicePortOrder, DELTA_MAGIC, DELTA_VERSION, type DeltaOp, type ServicePortChanges } from './delta.js';
export { encodeSnapshot, resealSnapshot, schedulerId, SNAPSHOT_ERRORS, SNAPSHOT_MAGIC, SNAPSHOT_VERSION } from './snapshot.js';
export { loadEngine, engineModule, engineWasmPath } from './node.js';
export { loadEngineFromBytes } from './browser.js';
export { EngineStateView, tickAge, type AddressKind, type PoolMatch, type PoolMember, type PoolState, type FlowEntry, type AffinityEntry } from './state-view.js';
