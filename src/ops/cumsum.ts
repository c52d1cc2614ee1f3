import { scope } from '../tensor/scope.js';
import { normalizeAxis } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { add } from './elementwise.js';
import { pad } from './shape-ops.js';
import { slice } from './view.js';

/**
 * Inclusive prefix sums along an axis. Built from shifted additions (Hillis-Steele: after the
 * step that adds the sums `shift` places back, each entry holds the sum of the 2*shift entries
 * ending at it), so it takes ceil(log2 n) passes of kernels every backend has, and its gradient
 * comes from theirs.
 */
export function cumsum(x: Tensor, axis = 0): Tensor {
  const a = normalizeAxis(axis, x.rank, 'cumsum');
  const n = x.shape[a]!;
  const pads = x.shape.slice(a).map((): [number, number] => [0, 0]);
  return scope(() => {
    let sums = x;
    for (let shift = 1; shift < n; shift *= 2) {
      pads[0] = [shift, 0];
      sums = add(sums, pad(slice(sums, a, 0, n - shift), pads));
    }
    return sums;
  });
}
