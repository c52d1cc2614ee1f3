import type { Module } from '../nn/module.js';
import { formatShape, shapesEqual } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { MambaError } from '../util/errors.js';
import type { Checkpoint } from './checkpoint.js';

/**
 * Fills a module's tensors from a checkpoint with the module's names (as saveModuleWeights writes
 * them). `rename` maps a module name to the stored one. Every tensor must be found.
 */
export async function fillModuleWeights(
  module: Module,
  checkpoint: Checkpoint,
  rename: (name: string) => string = (n) => n,
): Promise<void> {
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
