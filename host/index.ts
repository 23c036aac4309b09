export * from './engine/model.js';
export * from './engine/address.js';
export * from './engine/api.js';
