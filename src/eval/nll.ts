import { fromArray } from '../ops/create.js';
import { crossEntropy } from '../ops/softmax.js';
import { slice } from '../ops/view.js';
import { noGrad } from '../tensor/autograd.js';
import { scope } from '../tensor/scope.js';
import { disposeState, type LanguageModel, type LMState } from '../models/language-model.js';
import { MambaError } from '../util/errors.js';

export interface NllResult {
  /** Mean negative log-likelihood in nats per predicted token. */
  meanNll: number;
  perplexity: number;
  /** Number of predicted tokens (all but the first). */
  tokens: number;
  totalNats: number;
  seconds: number;
}

/**
 * Exact NLL of a token sequence of any length: the sequence is fed in chunks that continue
 * from the recurrent state, so memory stays bounded and every prediction sees all of its
 * history. The last logit of a chunk predicts the first token of the next.
 */
export function sequenceNll<S extends LMState>(
  model: LanguageModel<S>,
  ids: readonly number[],
  chunk = 512,
  onProgress?: (done: number, total: number) => void,
): NllResult {
  if (ids.length < 2)
    throw new MambaError('evaluation needs at least two tokens (one to predict from, one to predict)');
  const outside = ids.find((id) => !Number.isInteger(id) || id < 0 || id >= model.vocabLimit);
  if (outside !== undefined)
    throw new MambaError(`token id ${outside} is not in the model's vocabulary [0, ${model.vocabLimit})`);
  const start = performance.now();
  return noGrad(() => {
    const state = model.initialState(1);
    let total = 0;
    try {
      for (let at = 0; at < ids.length - 1; at += chunk) {
        const input = ids.slice(at, Math.min(at + chunk, ids.length - 1));
        const target = ids.slice(at + 1, at + 1 + input.length);
        total += scope(() => {
          const logits = model.forward(fromArray(new Int32Array(input), [1, input.length], { dtype: 'int32' }), {
            state,
            lastOnly: false,
          });
          const targets = fromArray(new Int32Array(target), [1, target.length], { dtype: 'int32' });
          // The softmax runs over the tokens alone: padding rows of the vocabulary are not outcomes.
          const scored = slice(slice(logits, 1, 0, target.length), 2, 0, model.vocabLimit);
          return crossEntropy(scored, targets, { reduction: 'sum' }).item();
        });
        onProgress?.(at + input.length, ids.length - 1);
      }
    } finally {
      disposeState(state);
    }
    const tokens = ids.length - 1;
    return {
      meanNll: total / tokens,
      perplexity: Math.exp(total / tokens),
      tokens,
      totalNats: total,
      seconds: (performance.now() - start) / 1000,
    };
  });
}
