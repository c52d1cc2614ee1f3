/**
 * mamba-ts in the browser: the shared API plus init(), which loads the wasm backend (its
 * kernels are fetched and compiled asynchronously, so it cannot be created on first use as in
 * Node). Nothing here may import a node: module.
 */
import type { Backend } from './backends/backend.js';
import { loadOverHttp, type LoadOptions, type ModelSource } from './pipeline/load.js';
import type { TextModel } from './pipeline/text-model.js';
import { getBackend, registerBackend, setBackend } from './backends/registry.js';
import { createBrowserWasmBackend, WasmUnsupportedError } from './backends/wasm/browser.js';
import { MambaError } from './util/errors.js';

export * from './api.js';
export { createBrowserWasmBackend, WasmUnsupportedError } from './backends/wasm/browser.js';

export interface InitOptions {
  /** 'wasm' (the default) or 'reference'. */
  backend?: 'wasm' | 'reference';
  /** Threads for the wasm backend; defaults to navigator.hardwareConcurrency where the page is cross-origin isolated, else 1. */
  threads?: number;
}

let wasm: Promise<Backend> | null = null;

/**
 * Creates the wasm backend once per page and registers it as 'wasm'; the registry keeps the
 * first instance it hands out, so a second one could not replace it.
 */
function loadWasm(threads: number | undefined): Promise<Backend> {
  wasm ??= createBrowserWasmBackend(threads === undefined ? {} : { threads }).then(
    (backend) => {
      registerBackend('wasm', () => backend);
      return backend;
    },
    (error: unknown) => {
      if (error instanceof WasmUnsupportedError) {
        console.warn(`mamba-ts: ${error.message}; using the reference backend`);
        return getBackend('reference');
      }
      wasm = null;
      throw error;
    },
  );
  return wasm;
}

/**
 * Loads a backend and makes it the default for new tensors: the wasm backend (falling back to
 * the reference backend, with a console warning, where the browser lacks WebAssembly SIMD or
 * shared memory) unless `backend: 'reference'`. Later calls reuse the wasm backend of the first.
 */
export async function init(options: InitOptions = {}): Promise<Backend> {
  const name = options.backend ?? 'wasm';
  if (name !== 'wasm' && name !== 'reference')
    throw new MambaError(`init: unknown backend '${String(name)}'; use 'wasm' or 'reference'`);
  return setBackend(name === 'wasm' ? await loadWasm(options.threads) : getBackend('reference'));
}

/**
 * Loads a language model and its tokenizer in one call: the URL of a model folder (relative to the
 * page), a hub id (`org/name`, fetched from huggingface.co), ModelFiles, or the folder's files as
 * bytes by name (from fetch() or a file picker). Call init() first.
 */
export function load(source: ModelSource, options: LoadOptions = {}): Promise<TextModel> {
  return loadOverHttp(source, options, globalThis.location?.href);
}
