/**
 * mamba-ts: tensors with autograd on pluggable backends, PyTorch-style modules, and (as the
 * library grows) the Mamba family of selective state-space models.
 */
import './backends/node.js';

export * from './api.js';
export { load, type NodeLoadOptions } from './io/load.js';
export { createNodeWasmBackend } from './backends/wasm/node.js';
