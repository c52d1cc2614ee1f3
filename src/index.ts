/**
 * mamba-ts in Node: the shared API (api.ts), the Node wasm backend, and init(). The trainers and
 * data sets are in the `mamba-ts/train` and `mamba-ts/data` entries, model folders on disk in
 * `mamba-ts/io`.
 */
// Importing init also registers Node's backends (backends/node.ts).
export { init } from './backends/node.js';
export * from './api.js';
export { load, type NodeLoadOptions } from './io/load.js';
export type { InitOptions } from './backends/init.js';
export { createNodeWasmBackend } from './backends/wasm/node.js';
