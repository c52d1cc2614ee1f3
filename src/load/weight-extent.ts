import { MambaError } from '../util/errors.js';
import type { Checkpoint } from './checkpoint.js';

/** A repeated part of a network (layers, experts, stages, blocks): the i-th copy's tensors start with `prefix(i)`. */
export interface RepeatedPart {
  readonly what: string;
  readonly count: number;
  readonly prefix: (i: number) => string;
}

/**
 * What a config says the weights hold, stated once per model type: a few tensors whose shapes
 * carry the config's widths, and the repeated parts with their counts. Checked against the
 * checkpoint's names and shapes (headers only) before the network is built, so a config asking
 * for more layers, experts or width than the weights hold is refused without building anything.
 */
export interface WeightExtent {
  readonly shapes: ReadonlyArray<readonly [name: string, shape: readonly number[]]>;
  readonly parts: readonly RepeatedPart[];
}

const showShape = (shape: readonly number[]) => `[${shape.join(', ')}]`;

/** Throws one MambaError listing every way the checkpoint disagrees with the extent the config (`configSource`) implies. */
export function checkWeightExtent(extent: WeightExtent, checkpoint: Checkpoint, configSource: string): void {
  const names = [...checkpoint.tensors.keys()];
  const holds = (prefix: string) => names.some((name) => name.startsWith(prefix));
  const problems: string[] = [];
  for (const [name, shape] of extent.shapes) {
    const entry = checkpoint.tensors.get(name);
    if (!entry) problems.push(`missing ${name} ${showShape(shape)}`);
    else if (entry.shape.length !== shape.length || entry.shape.some((d, i) => d !== shape[i]))
      problems.push(`${name} has shape ${showShape(entry.shape)} but the config implies ${showShape(shape)}`);
  }
  for (const { what, count, prefix } of extent.parts) {
    const held = holds(prefix(count - 1)) && !holds(prefix(count));
    if (!held)
      problems.push(
        `the config asks for ${count} ${what} (${prefix(0)}...), the weights hold ${holds(prefix(count)) ? 'more' : 'fewer'}`,
      );
  }
  if (problems.length > 0)
    throw new MambaError(
      `${configSource} does not match the weights in ${checkpoint.source}; is the config from another model, or the download incomplete?\n  - ${problems.join('\n  - ')}`,
    );
}
