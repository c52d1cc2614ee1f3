// Node's backends: the wasm backend on worker_threads is the default wherever WebAssembly SIMD
// exists; MAMBA_TS_BACKEND names another (e.g. 'reference').
import type { Backend } from './backend.js';
import { initBackend, type InitOptions } from './init.js';
import { getBackend, registerBackend, setDefaultBackendName } from './registry.js';
import { createNodeWasmBackend } from './wasm/node.js';

function wasmSimdAvailable(): boolean {
  // A module with one v128 constant: valid only where the engine has SIMD128.
  const probe = new Uint8Array([
    0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 22, 1, 20, 0, 253, 12, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 11,
  ]);
  return typeof WebAssembly === 'object' && WebAssembly.validate(probe);
}

registerBackend('wasm', () => createNodeWasmBackend());
setDefaultBackendName(process.env['MAMBA_TS_BACKEND'] ?? (wasmSimdAvailable() ? 'wasm' : 'reference'));

/** The registered 'wasm' backend, made with the threads asked for; the reference backend where V8 lacks SIMD. */
async function loadWasm(threads: number | undefined): Promise<Backend> {
  if (!wasmSimdAvailable()) {
    console.warn('mamba-ts: this engine has no WebAssembly SIMD; using the reference backend');
    return getBackend('reference');
  }
  if (threads === undefined) return getBackend('wasm');
  const backend = createNodeWasmBackend({ threads });
  registerBackend('wasm', () => backend);
  return backend;
}

/**
 * Makes a backend the default for new tensors, as `init()` does in the browser: the wasm backend
 * (with `threads` worker threads; by default MAMBA_TS_THREADS or every core) unless
 * `backend: 'reference'`. Later calls reuse the wasm backend of the first. Node needs no init()
 * (the wasm backend is created on first use), but code shared with a page may call it; call it
 * before creating tensors.
 */
export function init(options: InitOptions = {}): Promise<Backend> {
  return initBackend(options, loadWasm);
}
