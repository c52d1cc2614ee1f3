import type { Backend } from './backend.js';
import { getBackend, setBackend } from './registry.js';
import { MambaError } from '../util/errors.js';
import { checkThreadCount } from './threads.js';

/** What `init()` takes, in Node and in the browser. */
export interface InitOptions {
  /** 'wasm' (the default) or 'reference'. */
  backend?: 'wasm' | 'reference';
  /**
   * Threads for the wasm backend. Default: in Node, MAMBA_TS_THREADS or every core; in a browser,
   * navigator.hardwareConcurrency where the page is cross-origin isolated, else 1. At most 4 per
   * core (a MambaError beyond): more only cost memory and start-up time.
   */
  threads?: number;
}

/** Loads the platform's wasm backend (or, where the platform cannot run it, another backend). */
export type WasmLoader = (threads: number | undefined) => Promise<Backend>;

let wasm: Promise<Backend> | null = null;

/**
 * The `init()` of both entries: checks the options, then makes the reference backend or the
 * platform's wasm backend the default for new tensors. The wasm backend is loaded once per
 * process or page: its threads share one memory, so a second one would be a second pool.
 */
export async function initBackend(options: InitOptions, loadWasm: WasmLoader): Promise<Backend> {
  const name = options.backend ?? 'wasm';
  if (name !== 'wasm' && name !== 'reference')
    throw new MambaError(`init: unknown backend '${String(name)}'; use 'wasm' or 'reference'`);
  const threads = options.threads;
  if (threads !== undefined) {
    if (name === 'reference')
      throw new MambaError("init: threads applies to the wasm backend only; leave it out with backend: 'reference'");
    checkThreadCount(threads, 'init: threads');
  }
  if (name === 'reference') return setBackend(getBackend('reference'));
  wasm ??= loadWasm(threads).catch((error: unknown) => {
    wasm = null;
    throw error;
  });
  return setBackend(await wasm);
}
