import { fromArray } from '../ops/create.js';
import { crossEntropy } from '../ops/softmax.js';
import { slice } from '../ops/view.js';
import { noGrad } from '../tensor/autograd.js';
import { scope } from '../tensor/scope.js';
import type { Tensor } from '../tensor/tensor.js';
import { MambaError } from '../util/errors.js';
import type { CountCallback } from '../util/progress.js';

/**
 * Mean NLL (nats per predicted token) for a model with a bounded context: windows of `window`
 * tokens, each starting `stride` after the last, every token scored once with at least
 * window - stride tokens of context (all of its context near the start). `onProgress` hears the
 * tokens scored so far after each window.
 */
export function windowedNll(
  model: { forward(ids: Tensor): Tensor },
  ids: readonly number[],
  window: number,
  stride = Math.max(1, window >> 1),
  onProgress?: CountCallback,
): number {
  if (ids.length < 2) throw new MambaError('evaluation needs at least two tokens');
  if (!(stride >= 1 && stride <= window - 1))
    throw new MambaError(`the stride must be in [1, window - 1], got ${stride} for a window of ${window}`);
  return noGrad(() => {
    let total = 0;
    let scored = 0;
    for (let start = 0; scored < ids.length - 1; start += stride) {
      const end = Math.min(start + window, ids.length);
      const input = ids.slice(start, end - 1);
      const target = ids.slice(start + 1, end);
      // Tokens up to the last scored position were scored by an earlier window.
      const skip = scored - start;
      total += scope(() => {
        const logits = model.forward(fromArray(new Int32Array(input), [1, input.length], { dtype: 'int32' }));
        const t = fromArray(new Int32Array(target.slice(skip)), [1, target.length - skip], { dtype: 'int32' });
        return crossEntropy(slice(logits, 1, skip), t, { reduction: 'sum' }).item();
      });
      scored = end - 1;
      onProgress?.(scored, ids.length - 1);
    }
    return total / (ids.length - 1);
  });
}
