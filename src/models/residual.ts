import type { RMSNorm } from '../nn/norm.js';
import { addRmsNorm } from '../ops/fused.js';
import type { Tensor } from '../tensor/tensor.js';

/**
 * The residual stream of Mamba's blocks (Add -> RMSNorm -> layer, docs/mamba-spec.md §1.6): each
 * block's layer sees the normalised running sum, and the final norm closes the stack.
 */
export function preNormStack<B extends { norm: RMSNorm }>(
  hidden: Tensor,
  blocks: readonly B[],
  layer: (block: B, normed: Tensor, index: number) => Tensor,
  normF: RMSNorm,
): Tensor {
  let residual: Tensor | null = null;
  let h = hidden;
  blocks.forEach((block, i) => {
    const { out, sum } = addRmsNorm(h, residual, block.norm.weight, block.norm.eps);
    residual = sum;
    h = layer(block, out, i);
  });
  return addRmsNorm(h, residual, normF.weight, normF.eps).out;
}
