/**
 * mamba-ts: tensors with autograd on pluggable backends, PyTorch-style modules, and (as the
 * library grows) the Mamba family of selective state-space models.
 */
import './backends/node.js';

export * from './ops/index.js';
export * as nn from './nn/index.js';
export { Tensor } from './tensor/tensor.js';
export type { DType, TypedArray } from './tensor/dtype.js';
export { backward, noGrad, enableGrad, isGradEnabled, type BackwardOptions } from './tensor/autograd.js';
export { scope, keep } from './tensor/scope.js';
export { Generator, manualSeed, defaultGenerator } from './tensor/random.js';
export type { Backend, View } from './backends/backend.js';
export { getBackend, setBackend, registerBackend, backendNames, setDefaultBackendName } from './backends/registry.js';
export { WasmBackend, type WasmBackendOptions } from './backends/wasm/backend.js';
export { createNodeWasmBackend } from './backends/wasm/node.js';
export { ReferenceBackend } from './backends/reference/index.js';
export { MambaError, ShapeError, DisposedError } from './util/errors.js';
export { SGD, AdamW, Optimizer, type ParamGroup } from './train/optim.js';
