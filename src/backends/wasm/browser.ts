import { MambaError } from '../../util/errors.js';
import { WasmBackend, type ComposedWasmBackend, type WasmBackendOptions } from './backend.js';
import { READY, type WorkerInit } from './protocol.js';

/** The browser lacks what the wasm backend needs (WebAssembly SIMD, or shared memory). */
export class WasmUnsupportedError extends MambaError {
  constructor(message: string) {
    super(message);
    this.name = 'WasmUnsupportedError';
  }
}

const READY_TIMEOUT_MS = 60_000;
const READY_POLL_MS = 2;

async function kernelBytes(name: string): Promise<ArrayBuffer> {
  const url = new URL(`./${name}`, import.meta.url);
  let response: Response;
  try {
    response = await fetch(url);
  } catch (error) {
    throw new MambaError(`could not fetch the wasm kernels from ${url}: ${String(error)}`);
  }
  if (!response.ok) throw new MambaError(`could not fetch the wasm kernels from ${url}: HTTP ${response.status}`);
  return response.arrayBuffer();
}

/** The relaxed-SIMD kernels where the engine validates them, else the plain SIMD ones. */
async function compileKernels(): Promise<{ module: WebAssembly.Module; relaxed: boolean }> {
  if (typeof WebAssembly !== 'object') throw new WasmUnsupportedError('this browser has no WebAssembly');
  const relaxed = await kernelBytes('kernels-relaxed.wasm');
  if (WebAssembly.validate(relaxed)) return { module: await WebAssembly.compile(relaxed), relaxed: true };
  const simd = await kernelBytes('kernels-simd.wasm');
  if (!WebAssembly.validate(simd))
    throw new WasmUnsupportedError('this browser has no WebAssembly SIMD (or no WebAssembly threads)');
  return { module: await WebAssembly.compile(simd), relaxed: false };
}

function sharedMemory(): WebAssembly.Memory {
  try {
    return new WebAssembly.Memory({ initial: 32, maximum: 65536, shared: true });
  } catch (error) {
    throw new WasmUnsupportedError(
      `this browser cannot create shared WebAssembly memory here (${String(error)}); serve the page with the headers ` +
        `'Cross-Origin-Opener-Policy: same-origin' and 'Cross-Origin-Embedder-Policy: require-corp'`,
    );
  }
}

/** A page's main thread may not block in Atomics.wait; workers may. */
function mayBlock(memory: WebAssembly.Memory): boolean {
  try {
    Atomics.wait(new Int32Array(memory.buffer, 0, 1), 0, 0, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Resolves once every worker has instantiated the kernels (the READY counter), without blocking:
 * until then a kernel dispatched from a page's main thread would spin.
 */
function workersReady(control: Int32Array, workers: Worker[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const deadline = Date.now() + READY_TIMEOUT_MS;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const settle = (error: Error | null): void => {
      clearTimeout(timer);
      for (const w of workers) w.removeEventListener('error', failed);
      if (error) reject(error);
      else resolve();
    };
    // A worker script that fails to load or throws fires a bare Event, an ErrorEvent at best.
    function failed(event: Event): void {
      const detail =
        event instanceof ErrorEvent && event.message ? `: ${event.message}` : ' (could it load worker-browser.js?)';
      settle(new MambaError(`a wasm worker failed to start${detail}`));
    }
    const poll = (): void => {
      if (Atomics.load(control, READY) >= workers.length) settle(null);
      else if (Date.now() > deadline)
        settle(
          new MambaError(
            `the wasm worker threads did not start within ${READY_TIMEOUT_MS / 1000} s; run with one thread (threads: 1)`,
          ),
        );
      else timer = setTimeout(poll, READY_POLL_MS);
    };
    for (const w of workers) w.addEventListener('error', failed);
    poll();
  });
}

/**
 * The wasm backend in a browser page or worker: relaxed SIMD where the engine has it, Web Workers
 * for the other cores when the page is cross-origin isolated (COOP/COEP headers), one thread
 * otherwise. Throws WasmUnsupportedError where the browser cannot run it.
 */
export async function createBrowserWasmBackend(options: WasmBackendOptions = {}): Promise<ComposedWasmBackend> {
  const { module, relaxed } = await compileKernels();
  const memory = sharedMemory();
  const isolated = globalThis.crossOriginIsolated === true;
  let threads = options.threads ?? (isolated ? navigator.hardwareConcurrency || 1 : 1);
  if (!isolated && threads > 1) {
    console.warn(
      `mamba-ts: threads: ${threads} needs a cross-origin isolated page (headers 'Cross-Origin-Opener-Policy: same-origin' ` +
        `and 'Cross-Origin-Embedder-Policy: require-corp'); the wasm backend runs on one thread`,
    );
    threads = 1;
  }
  const started: { worker: Worker; control: SharedArrayBuffer }[] = [];
  const spawn = (init: WorkerInit): Worker => {
    const worker = new Worker(new URL('./worker-browser.js', import.meta.url), { type: 'module' });
    worker.postMessage(init);
    started.push({ worker, control: init.control });
    return worker;
  };
  const backend = new WasmBackend(
    memory,
    module,
    relaxed,
    {
      spawn: isolated ? spawn : null,
      canBlock: mayBlock(memory),
      defaultThreads: threads,
      cores: navigator.hardwareConcurrency || 1,
    },
    { ...options, threads },
  );
  if (started.length > 0) {
    try {
      await workersReady(
        new Int32Array(started[0]!.control),
        started.map((s) => s.worker),
      );
    } catch (error) {
      backend.dispose();
      throw error;
    }
  }
  return backend.withReferenceFallback();
}
