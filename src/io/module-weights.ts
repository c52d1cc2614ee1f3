import type { Module } from '../nn/module.js';
import { formatShape, shapesEqual } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { MambaError } from '../util/errors.js';
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
  const checkpoint = await openCheckpoint(path);
  const filled = new Set<Tensor>();
  for (const [name, t] of module.stateDict()) {
    if (filled.has(t)) continue;
    const entry = checkpoint.tensors.get(rename(name));
    if (!entry) continue;
    if (!shapesEqual(entry.shape, t.shape)) {
      throw new MambaError(
        `${checkpoint.source}: ${entry.name} has shape ${formatShape(entry.shape)}, the model expects ${formatShape(t.shape)}`,
      );
    }
    t.write(await entry.read());
    filled.add(t);
  }
  const missing = [...module.stateDict()].filter(([, t]) => !filled.has(t)).map(([n]) => n);
  if (missing.length > 0)
    throw new MambaError(
      `${checkpoint.source}: no stored values for ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', ...' : ''}`,
    );
}
