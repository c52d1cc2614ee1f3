import type { TextTokenizer } from '../load/tokenizer.js';
import type { LanguageModel, LMState } from '../models/language-model.js';
import { MambaError } from '../util/errors.js';
import { Session, type TextGenerationOptions, type TextGenerationResult } from './session.js';
import { sessionFromBytes } from './state-bytes.js';

/** Where a TextModel came from, for messages and for `info`-like displays. */
export interface TextModelSource {
  /** The folder, URL or name it was loaded from. */
  name: string;
  /** How its weights were named: Mamba's 'original' or 'transformers' layout, else the model type. */
  layout: string;
}

/**
 * A language model with its tokenizer: text in, text out. `generate` and `stream` start from an
 * empty text each time; a Session continues one text across calls and saves it as bytes.
 */
export class TextModel<S extends LMState = LMState> {
  constructor(
    readonly model: LanguageModel<S>,
    /** The tokenizer, or null for a model that only takes ids. */
    readonly tokenizer: TextTokenizer | null,
    readonly source: TextModelSource,
  ) {}

  /** The ids of a text. */
  encode(text: string): number[] {
    return this.requireTokenizer().encode(text);
  }

  /** The text of ids. */
  decode(ids: readonly number[]): string {
    return this.requireTokenizer().decode(ids);
  }

  /** Generates after a prompt (text, or ids); resolves with the new text and ids. Yields to the event loop between tokens. */
  async generate(
    prompt: string | readonly number[],
    options: TextGenerationOptions = {},
  ): Promise<TextGenerationResult> {
    const session = this.startSession();
    try {
      return await session.generate(prompt, options);
    } finally {
      session.dispose();
    }
  }

  /** The new text after a prompt as an async iterator of pieces, each as soon as it is generated; `options.signal` stops it. */
  async *stream(prompt: string | readonly number[], options: TextGenerationOptions = {}): AsyncGenerator<string, void> {
    const session = this.startSession();
    try {
      yield* session.stream(prompt, options);
    } finally {
      session.dispose();
    }
  }

  /** A text to continue across calls (see Session); dispose it when done. */
  startSession(): Session<S> {
    return new Session(this.model, this.tokenizer);
  }

  /** A session from the bytes Session.save() returned, continuing where it stopped. */
  async restoreSession(bytes: Uint8Array): Promise<Session<S>> {
    return new Session(this.model, this.tokenizer, await sessionFromBytes(this.model, bytes));
  }

  /** Frees the model's weights and buffers. */
  dispose(): void {
    this.model.dispose();
  }

  private requireTokenizer(): TextTokenizer {
    if (!this.tokenizer) throw new MambaError(`${this.source.name} has no tokenizer: use token ids`);
    return this.tokenizer;
  }
}
