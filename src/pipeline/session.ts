import { generateSteps, type GeneratedToken } from '../generate/generate.js';
import type { SamplingOptions } from '../generate/sample.js';
import type { TextTokenizer } from '../load/tokenizer.js';
import { disposeState, type LanguageModel, type LMState } from '../models/language-model.js';
import { MambaError } from '../util/errors.js';
import { yieldToEventLoop } from '../util/yield.js';
import { sessionToBytes, type SavedSession } from './state-bytes.js';

export interface TextGenerationOptions extends SamplingOptions {
  /** Tokens to generate at most (default 64). */
  maxNewTokens?: number;
  /** Seed of the sampler: generation is deterministic for a seed (default 0). */
  seed?: number;
  /** Stop after one of these ids; default: the tokenizer's end-of-text token, where it has one. */
  stopTokens?: readonly number[];
  /** Stops generation after the current token: generate() resolves with what it has, a stream ends. */
  signal?: AbortSignal;
}

export interface TextGenerationResult {
  /** The new text (the prompt is not repeated); null for a model without a tokenizer. */
  text: string | null;
  /** The new ids, the stop token included when one was hit. */
  ids: number[];
  /** The prompt as ids. */
  promptIds: number[];
  stoppedBy: 'stop-token' | 'max-new-tokens' | 'abort';
  prefillSeconds: number;
  decodeSeconds: number;
}

/** A piece of a stream: the ids of one step and the text they complete (possibly ''). */
interface Piece {
  ids: number[];
  text: string;
}

/**
 * A text that goes on: a recurrent state of fixed size, continued by each call. `generate('...')`
 * reads the text after everything before it (prompts and generated text alike), so a long text
 * can be written in parts, saved as bytes (save()) and continued later, or elsewhere, from
 * TextModel.restoreSession. Not for concurrent calls: one generation at a time.
 */
export class Session<S extends LMState = LMState> {
  private state: S | null;
  private pending: number[];
  private busy = false;

  constructor(
    readonly model: LanguageModel<S>,
    readonly tokenizer: TextTokenizer | null,
    saved?: SavedSession<S>,
  ) {
    this.state = saved?.state ?? null;
    this.pending = saved?.pending ?? [];
  }

  /** Tokens the session has read (prompts and generated tokens), not counting the last generated one. */
  get length(): number {
    return this.state?.lengths[0] ?? 0;
  }

  /** Continues the text with `input` (text, or ids for a model without a tokenizer) and generates after it. */
  async generate(
    input: string | readonly number[],
    options: TextGenerationOptions = {},
  ): Promise<TextGenerationResult> {
    const steps = this.run(input, options);
    for (;;) {
      const next = await steps.next();
      if (next.done) return next.value;
    }
  }

  /**
   * generate() as an async iterator of text pieces, each as soon as its token is chosen; a
   * character whose bytes span tokens comes whole, in the piece of its last token.
   */
  async *stream(input: string | readonly number[], options: TextGenerationOptions = {}): AsyncGenerator<string, void> {
    if (!this.tokenizer)
      throw new MambaError('this model has no tokenizer, so there is no text to stream: call generate() with ids');
    for await (const piece of this.run(input, options)) if (piece.text !== '') yield piece.text;
  }

  /** The state as bytes (a few KiB to MiB, whatever the text's length) for TextModel.restoreSession. */
  async save(): Promise<Uint8Array> {
    const state = this.state ?? this.model.initialState(1);
    this.state = state;
    return sessionToBytes(this.model, { state, pending: this.pending });
  }

  /** Frees the state's tensors. */
  dispose(): void {
    if (this.state) disposeState(this.state);
    this.state = null;
    this.pending = [];
  }

  private async *run(
    input: string | readonly number[],
    options: TextGenerationOptions,
  ): AsyncGenerator<Piece, TextGenerationResult, void> {
    if (this.busy)
      throw new MambaError('the session is already generating; await that call first (or start another session)');
    const promptIds = this.encode(input);
    const feed = [...this.pending, ...promptIds];
    if (feed.length === 0) throw new MambaError('give a prompt: the session has no text yet to continue');
    const eos = this.tokenizer?.eosTokenId;
    const stopTokens = options.stopTokens ?? (eos === undefined ? [] : [eos]);
    this.busy = true;
    this.state ??= this.model.initialState(1);
    const steps: Generator<GeneratedToken[], unknown, void> = generateSteps(this.model, [feed], {
      ...options,
      stopTokens,
      state: this.state,
      ...(this.tokenizer && { vocabLimit: Math.min(options.vocabLimit ?? Infinity, this.tokenizer.vocabSize) }),
    });
    const decoder = this.tokenizer?.createStreamDecoder();
    const ids: number[] = [];
    let text = '';
    const start = performance.now();
    let prefillSeconds = 0;
    const result = (stoppedBy: TextGenerationResult['stoppedBy']): TextGenerationResult => ({
      text: decoder ? text : null,
      ids,
      promptIds,
      stoppedBy,
      prefillSeconds,
      decodeSeconds: ids.length > 0 ? (performance.now() - start) / 1000 - prefillSeconds : 0,
    });
    try {
      for (;;) {
        if (options.signal?.aborted) {
          text += decoder?.flush() ?? '';
          return result('abort');
        }
        const next = steps.next();
        if (ids.length === 0) prefillSeconds = (performance.now() - start) / 1000;
        if (next.done) {
          const rest = decoder?.flush() ?? '';
          text += rest;
          if (rest !== '') yield { ids: [], text: rest };
          return result(ids.length > 0 && stopTokens.includes(ids[ids.length - 1]!) ? 'stop-token' : 'max-new-tokens');
        }
        const chosen = next.value.map((t) => t.token);
        ids.push(...chosen);
        const piece = decoder ? chosen.map((id) => decoder.push(id)).join('') : '';
        text += piece;
        yield { ids: chosen, text: piece };
        await yieldToEventLoop();
      }
    } finally {
      steps.return(undefined);
      // The last id is chosen but not read: the next call feeds it first.
      this.pending = ids.length > 0 ? [ids[ids.length - 1]!] : [];
      this.busy = false;
    }
  }

  private encode(input: string | readonly number[]): number[] {
    if (typeof input !== 'string') return [...input];
    if (!this.tokenizer)
      throw new MambaError('this model has no tokenizer: give the prompt as token ids (an array of numbers)');
    return this.tokenizer.encode(input);
  }
}
