import * as mt from '../../src/index.js';

/** A backend the kernel tests hold to the reference backend. */
export interface FastBackend {
  label: string;
  /** The implementation: backends of one family must give the same bits (one thread or several). */
  family: string;
  backend: mt.Backend;
}

/**
 * The fast backends under test: the wasm backend with one thread, and with two that dispatch
 * even the smallest kernel to both. Another backend (WebGPU) joins the tests as one more line.
 */
export const fastBackends: FastBackend[] = [
  { label: 'wasm, 1 thread', family: 'wasm', backend: mt.createNodeWasmBackend({ threads: 1 }) },
  { label: 'wasm, 2 threads', family: 'wasm', backend: mt.createNodeWasmBackend({ threads: 2, parallelThreshold: 1 }) },
];

/** The fast backends grouped by family. */
export function families(): FastBackend[][] {
  const groups = new Map<string, FastBackend[]>();
  for (const b of fastBackends) groups.set(b.family, [...(groups.get(b.family) ?? []), b]);
  return [...groups.values()];
}
