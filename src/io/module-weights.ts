import type { Module } from '../nn/module.js';
import { fillModuleWeights } from '../load/module-weights.js';
import type { Tensor } from '../tensor/tensor.js';
import { openCheckpoint, saveSafetensors, type SaveOptions } from './checkpoint.js';

/**
 * A module's tensors for saving: each tensor once, under the first name it has (a head tied to
 * the embedding is stored as the embedding, as transformers stores it).
 */
export function uniqueTensors(module: Module): [string, Tensor][] {
  const seen = new Set<Tensor>();
  return [...module.stateDict()].filter(([, t]) => !seen.has(t) && seen.add(t));
}

/** Writes a module's parameters and buffers as safetensors (atomically; sharded on request). */
export async function saveModuleWeights(module: Module, path: string, options: SaveOptions = {}): Promise<string[]> {
  const tensors = uniqueTensors(module).map(([name, t]) => ({
    name,
    shape: t.shape,
    data: t.toArray() as Float32Array | Int32Array,
  }));
  return saveSafetensors(path, tensors, options);
}

/**
 * Fills a module's tensors from a weights file or folder written by saveModuleWeights (or any
 * checkpoint with the module's names). `rename` maps a module name to the stored one.
 */
export async function loadModuleWeights(
  module: Module,
  path: string,
  rename: (name: string) => string = (n) => n,
): Promise<void> {
  await fillModuleWeights(module, await openCheckpoint(path), rename);
}
