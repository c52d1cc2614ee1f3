// Node's backends: the wasm backend on worker_threads is the default wherever WebAssembly SIMD
// exists; MAMBA_TS_BACKEND names another (e.g. 'reference').
import { registerBackend, setDefaultBackendName } from './registry.js';
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
