import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { MambaError } from '../../util/errors.js';
import { checkThreadCount } from '../threads.js';
import { WasmBackend, type ComposedWasmBackend, type WasmBackendOptions } from './backend.js';
import type { WorkerInit } from './protocol.js';

function kernelBytes(name: string): Uint8Array<ArrayBuffer> {
  try {
    return new Uint8Array(readFileSync(new URL(`./${name}`, import.meta.url)));
  } catch {
    throw new MambaError(`the wasm kernels (${name}) are missing; build them with 'npm run build'`);
  }
}

function spawn(init: WorkerInit): Worker {
  const worker = new Worker(new URL('./worker-node.js', import.meta.url), { workerData: init });
  worker.unref();
  return worker;
}

/** The wasm backend in Node: relaxed SIMD where V8 has it, worker_threads for the other cores. */
export function createNodeWasmBackend(options: WasmBackendOptions = {}): ComposedWasmBackend {
  const relaxed = kernelBytes('kernels-relaxed.wasm');
  const useRelaxed = WebAssembly.validate(relaxed);
  const module = new WebAssembly.Module(useRelaxed ? relaxed : kernelBytes('kernels-simd.wasm'));
  const memory = new WebAssembly.Memory({ initial: 32, maximum: 65536, shared: true });
  const cores = availableParallelism();
  const env = process.env['MAMBA_TS_THREADS'];
  const defaultThreads =
    env === undefined || env === '' ? cores : checkThreadCount(Number(env), 'MAMBA_TS_THREADS', cores);
  return new WasmBackend(
    memory,
    module,
    useRelaxed,
    { spawn, canBlock: true, defaultThreads, cores },
    options,
  ).withReferenceFallback();
}
