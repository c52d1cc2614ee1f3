/**
 * mamba-ts in the browser: the shared API plus init(), which loads the wasm backend (its
 * kernels are fetched and compiled asynchronously, so it cannot be created on first use as in
 * Node). Nothing here may import a node: module.
 */
import type { Backend } from './backends/backend.js';
import { initBackend, type InitOptions } from './backends/init.js';
import { getBackend, registerBackend } from './backends/registry.js';
import { loadOverHttp, type LoadOptions, type ModelSource } from './pipeline/load.js';
import type { TextModel } from './pipeline/text-model.js';
import { createBrowserWasmBackend, WasmUnsupportedError } from './backends/wasm/browser.js';

export * from './api.js';
export { createBrowserWasmBackend, WasmUnsupportedError } from './backends/wasm/browser.js';
export type { InitOptions } from './backends/init.js';

/** Registers the page's wasm backend as 'wasm', or falls back to the reference one where the browser cannot run it. */
async function loadWasm(threads: number | undefined): Promise<Backend> {
  try {
    const backend = await createBrowserWasmBackend(threads === undefined ? {} : { threads });
    registerBackend('wasm', () => backend);
    return backend;
  } catch (error) {
    if (!(error instanceof WasmUnsupportedError)) throw error;
    console.warn(`mamba-ts: ${error.message}; using the reference backend`);
    return getBackend('reference');
  }
}

/**
 * Loads a backend and makes it the default for new tensors: the wasm backend (falling back to
 * the reference backend, with a console warning, where the browser lacks WebAssembly SIMD or
 * shared memory) unless `backend: 'reference'`. Later calls reuse the wasm backend of the first.
 * Call it once before creating tensors.
 */
export function init(options: InitOptions = {}): Promise<Backend> {
  return initBackend(options, loadWasm);
}

/**
 * Loads a language model and its tokenizer in one call: the URL of a model folder (relative to the
 * page), a hub id (`org/name`, fetched from huggingface.co), ModelFiles, or the folder's files as
 * bytes by name (from fetch() or a file picker). Call init() first.
 */
export function load(source: ModelSource, options: LoadOptions = {}): Promise<TextModel> {
  return loadOverHttp(source, options, globalThis.location?.href);
}
