import { disposeState, joinStates, type LanguageModel, type LMState } from '../models/language-model.js';
import { fromArray } from '../ops/create.js';
import { noGrad } from '../tensor/autograd.js';
import { Generator as RandomGenerator } from '../tensor/random.js';
import { scope } from '../tensor/scope.js';
import type { Tensor } from '../tensor/tensor.js';
import { MambaError } from '../util/errors.js';
import { checkSamplingOptions, sampleToken, type SamplingOptions } from './sample.js';

export interface GenerateOptions<S extends LMState = LMState> extends SamplingOptions {
  maxNewTokens?: number;
  /** Seed of the sampler (generation is deterministic for a seed). */
  seed?: number;
  /** Generation of a sequence stops after it emits one of these. */
  stopTokens?: readonly number[];
  /** Called with each new token as soon as it is chosen. */
  onToken?: (sequence: number, token: number) => void;
  /**
   * Continue from this state (one prompt only): the prompt is read after what the state has seen,
   * and the state is updated in place and left to the caller. The last new token is not in it yet:
   * it is the first token the next call must feed.
   */
  state?: S;
}

export interface GenerateResult {
  /** New tokens of each prompt (stop token included when one was hit). */
  tokens: number[][];
  prefillTokens: number;
  prefillSeconds: number;
  decodeTokens: number;
  decodeSeconds: number;
}

/** A token one sequence of the batch chose in a step of generation. */
export interface GeneratedToken {
  sequence: number;
  token: number;
}

/**
 * Generates continuations of a batch of prompts with constant memory per token: each prompt is
 * prefilled on its own (the model runs in parallel over its tokens and keeps only its recurrent
 * state), then all sequences advance one token per step from their states.
 */
export function generate<S extends LMState>(
  model: LanguageModel<S>,
  prompts: readonly (readonly number[])[],
  options: GenerateOptions<S> = {},
): GenerateResult {
  const steps = generateSteps(model, prompts, options);
  for (;;) {
    const next = steps.next();
    if (next.done) return next.value;
  }
}

/**
 * generate() one step at a time: each `next()` prefills or decodes once and yields the tokens
 * chosen in that step, so an async caller can yield to the event loop between tokens or stop
 * early (`return()` frees the state). The result comes when every sequence has finished.
 */
export function* generateSteps<S extends LMState>(
  model: LanguageModel<S>,
  prompts: readonly (readonly number[])[],
  options: GenerateOptions<S> = {},
): Generator<GeneratedToken[], GenerateResult, void> {
  const maxNewTokens = options.maxNewTokens ?? 64;
  if (!Number.isInteger(maxNewTokens) || maxNewTokens < 0)
    throw new MambaError(`max new tokens must be a non-negative integer, got ${maxNewTokens}`);
  if (prompts.length === 0 || prompts.some((p) => p.length === 0))
    throw new MambaError('every prompt needs at least one token');
  if (options.state && prompts.length !== 1)
    throw new MambaError(`a state continues one sequence; got ${prompts.length} prompts`);
  checkSamplingOptions(options);
  for (const prompt of prompts) checkIds(prompt, model.vocabLimit);
  const sampling = { ...options, vocabLimit: Math.min(options.vocabLimit ?? Infinity, model.vocabLimit) };
  const generator = new RandomGenerator(options.seed ?? 0);
  const stops = new Set(options.stopTokens ?? []);
  const tokens: number[][] = prompts.map(() => []);
  const done = prompts.map(() => maxNewTokens === 0);
  // One read of a step's logits; each sequence samples from its own row of that fresh copy.
  const logitRows = (logits: Tensor): Float32Array[] => {
    const all = logits.toArray() as Float32Array;
    const width = logits.shape[2]!;
    return Array.from({ length: logits.shape[0]! }, (_, b) => all.subarray(b * width, (b + 1) * width));
  };
  const choose = (b: number, logits: Float32Array): GeneratedToken => {
    const token = sampleToken(logits, [...prompts[b]!, ...tokens[b]!], sampling, generator);
    tokens[b]!.push(token);
    options.onToken?.(b, token);
    if (stops.has(token) || tokens[b]!.length >= maxNewTokens) done[b] = true;
    return { sequence: b, token };
  };
  const forward = (state: S, ids: readonly number[][]): Tensor =>
    noGrad(() =>
      model.forward(fromArray(new Int32Array(ids.flat()), [ids.length, ids[0]!.length], { dtype: 'int32' }), {
        state,
        lastOnly: true,
      }),
    );

  const start = performance.now();
  const states: S[] = [];
  const firstLogits: Float32Array[] = [];
  try {
    for (const prompt of prompts) {
      const state = options.state ?? model.initialState(1);
      states.push(state);
      firstLogits.push(scope(() => logitRows(forward(state, [[...prompt]]))[0]!));
    }
  } catch (error) {
    if (!options.state) states.forEach(disposeState);
    throw error;
  }
  const prefillSeconds = (performance.now() - start) / 1000;
  const state = states.length === 1 ? states[0]! : joinStates(states);
  if (states.length > 1) states.forEach(disposeState);
  const decodeStart = performance.now();
  let decodeTokens = 0;
  try {
    const first = firstLogits.flatMap((logits, b) => (done[b] ? [] : [choose(b, logits)]));
    if (first.length > 0) yield first;
    while (done.some((d) => !d)) {
      const last = tokens.map((t, b) => [t[t.length - 1] ?? prompts[b]![prompts[b]!.length - 1]!]);
      const chosen = scope(() => {
        const logits = forward(state, last);
        decodeTokens += done.filter((d) => !d).length;
        const rows = logitRows(logits);
        return last.flatMap((_, b) => (done[b] ? [] : [choose(b, rows[b]!)]));
      });
      yield chosen;
    }
  } finally {
    if (!options.state) disposeState(state);
  }
  return {
    tokens,
    prefillTokens: prompts.reduce((n, p) => n + p.length, 0),
    prefillSeconds,
    decodeTokens,
    decodeSeconds: (performance.now() - decodeStart) / 1000,
  };
}

/** Prompt ids must be rows of the embedding that are tokens; a padding row or an id past the table is refused here, not deep in a kernel. */
function checkIds(ids: readonly number[], vocabLimit: number): void {
  const bad = ids.find((id) => !Number.isInteger(id) || id < 0 || id >= vocabLimit);
  if (bad !== undefined)
    throw new MambaError(`token id ${bad} is not in the model's vocabulary [0, ${vocabLimit}); check the prompt ids`);
}
