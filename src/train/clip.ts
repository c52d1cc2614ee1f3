import { copyInto } from '../nn/module.js';
import { mul, square } from '../ops/elementwise.js';
import { sum } from '../ops/reduce.js';
import { noGrad } from '../tensor/autograd.js';
import { scope } from '../tensor/scope.js';
import type { Tensor } from '../tensor/tensor.js';

/**
 * Scales every gradient so that their global L2 norm is at most maxNorm, and returns the norm
 * before clipping (NaN or Infinity when a gradient is not finite; the caller decides).
 */
export function clipGradNorm(params: readonly Tensor[], maxNorm: number): number {
  return noGrad(() =>
    scope(() => {
      const grads = params.map((p) => p.grad).filter((g): g is Tensor => g !== null);
      const total = Math.sqrt(grads.reduce((acc, g) => acc + sum(square(g)).item(), 0));
      if (Number.isFinite(total) && total > maxNorm) {
        const scale = maxNorm / (total + 1e-6);
        for (const g of grads) copyInto(g, mul(g, scale));
      }
      return total;
    }),
  );
}
