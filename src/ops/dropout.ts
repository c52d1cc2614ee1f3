import { defaultGenerator, type Generator } from '../tensor/random.js';
import { scope } from '../tensor/scope.js';
import type { Tensor } from '../tensor/tensor.js';
import { MambaError } from '../util/errors.js';
import { fromArray } from './create.js';
import { mul } from './elementwise.js';

/**
 * Inverted dropout: in training, zeroes each element with probability p and scales the rest by
 * 1/(1-p); otherwise returns x unchanged.
 */
export function dropout(x: Tensor, p: number, training: boolean, generator: Generator = defaultGenerator): Tensor {
  if (!(p >= 0 && p <= 1)) throw new MambaError(`dropout: p must be in [0, 1], got ${p}`);
  if (!training || p === 0) return x;
  const keepScale = p === 1 ? 0 : 1 / (1 - p);
  const mask = new Float64Array(x.size);
  for (let i = 0; i < mask.length; i++) mask[i] = generator.uniform() >= p ? keepScale : 0;
  return scope(() => mul(x, fromArray(mask, x.shape, { dtype: x.dtype, backend: x.backend })));
}
