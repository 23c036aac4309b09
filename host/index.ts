/**
 * The vipwasm library: the normalized service model and its contracts, the engine, the Kubernetes
 * model and the manifest / API-server sources. Hosts (forwarder, rules, Envoy tooling, playground)
 * are reached through the CLI or their own modules.
 */
export * from './engine/index.js';
export * from './model/index.js';
export * from './sources/files.js';
export * from './sources/api-source.js';
export * from './sources/source.js';
