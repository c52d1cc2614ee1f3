import { disposeState, joinStates, type LanguageModel, type LMState } from '../models/language-model.js';
import { fromArray } from '../ops/create.js';
import { noGrad } from '../tensor/autograd.js';
import { Generator } from '../tensor/random.js';
import { scope } from '../tensor/scope.js';
import type { Tensor } from '../tensor/tensor.js';
import { MambaError } from '../util/errors.js';
import { checkSamplingOptions, sampleToken, type SamplingOptions } from './sample.js';

export interface GenerateOptions extends SamplingOptions {
  maxNewTokens?: number;
  /** Seed of the sampler (generation is deterministic for a seed). */
  seed?: number;
  /** Generation of a sequence stops after it emits one of these. */
  stopTokens?: readonly number[];
  /** Called with each new token as soon as it is chosen. */
  onToken?: (sequence: number, token: number) => void;
}

export interface GenerateResult {
  /** New tokens of each prompt (stop token included when one was hit). */
  tokens: number[][];
  prefillTokens: number;
  prefillSeconds: number;
  decodeTokens: number;
  decodeSeconds: number;
}

/**
 * Generates continuations of a batch of prompts with constant memory per token: each prompt is
 * prefilled on its own (the model runs in parallel over its tokens and keeps only its recurrent
 * state), then all sequences advance one token per step from their states.
 */
export function generate<S extends LMState>(
  model: LanguageModel<S>,
  prompts: readonly (readonly number[])[],
  options: GenerateOptions = {},
): GenerateResult {
  const maxNewTokens = options.maxNewTokens ?? 64;
  if (!Number.isInteger(maxNewTokens) || maxNewTokens < 0)
    throw new MambaError(`max new tokens must be a non-negative integer, got ${maxNewTokens}`);
  if (prompts.length === 0 || prompts.some((p) => p.length === 0))
    throw new MambaError('every prompt needs at least one token');
  checkSamplingOptions(options);
  const generator = new Generator(options.seed ?? 0);
  const stops = new Set(options.stopTokens ?? []);
  const tokens: number[][] = prompts.map(() => []);
  const done = prompts.map(() => maxNewTokens === 0);
  const rowLogits = (logits: Tensor, b: number): Float32Array =>
    Float32Array.from(logits.toArray().subarray(b * logits.shape[2]!, (b + 1) * logits.shape[2]!));
  const choose = (b: number, logits: Float32Array) => {
    const token = sampleToken(logits, [...prompts[b]!, ...tokens[b]!], options, generator);
    tokens[b]!.push(token);
    options.onToken?.(b, token);
    if (stops.has(token) || tokens[b]!.length >= maxNewTokens) done[b] = true;
  };
  return noGrad(() => {
    const start = performance.now();
    const states: S[] = [];
    const firstLogits: Float32Array[] = [];
    for (const prompt of prompts) {
      const state = model.initialState(1);
      scope(() => {
        const logits = model.forward(fromArray(new Int32Array(prompt), [1, prompt.length], { dtype: 'int32' }), {
          state,
          lastOnly: true,
        });
        firstLogits.push(rowLogits(logits, 0));
      });
      states.push(state);
    }
    const prefillSeconds = (performance.now() - start) / 1000;
    const state = states.length === 1 ? states[0]! : joinStates(states);
    if (states.length > 1) states.forEach(disposeState);
    firstLogits.forEach((l, b) => {
      if (!done[b]) choose(b, l);
    });
    const decodeStart = performance.now();
    let decodeTokens = 0;
    try {
      while (done.some((d) => !d)) {
        const last = tokens.map((t, b) => t[t.length - 1] ?? prompts[b]![prompts[b]!.length - 1]!);
        scope(() => {
          const logits = model.forward(fromArray(new Int32Array(last), [last.length, 1], { dtype: 'int32' }), {
            state,
            lastOnly: true,
          });
          decodeTokens += done.filter((d) => !d).length;
          for (let b = 0; b < last.length; b++) if (!done[b]) choose(b, rowLogits(logits, b));
        });
      }
    } finally {
      disposeState(state);
    }
    return {
      tokens,
      prefillTokens: prompts.reduce((n, p) => n + p.length, 0),
      prefillSeconds,
      decodeTokens,
      decodeSeconds: (performance.now() - decodeStart) / 1000,
    };
  });
}
