import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { MambaError } from '../util/errors.js';
import { Fields, isJsonObject, range } from '../util/schema.js';
import { locate, parseJsonObject, readTextFile, type ModelFiles } from './model-files.js';

export interface DecodeOptions {
  /** Leave out special tokens such as `<|endoftext|>`. Default false. */
  skipSpecialTokens?: boolean;
}

/**
 * Turns generated ids into text one id at a time. `push` returns only text that is complete:
 * bytes of a character that later ids finish are held back, so a multi-byte character is never
 * printed in pieces. Concatenating every `push` result and the final `flush` gives exactly
 * `decode(allIds)`.
 */
export interface StreamDecoder {
  push(id: number): string;
  /** Ends the stream: returns what was held back, incomplete bytes as U+FFFD. */
  flush(): string;
}

/** What the model and CLI need from a tokenizer; `Tokenizer` and `ByteTokenizer` both provide it. */
export interface TextTokenizer {
  /** One past the largest id the tokenizer can produce or decode. */
  readonly vocabSize: number;
  readonly eosTokenId: number | undefined;
  readonly bosTokenId: number | undefined;
  encode(text: string): number[];
  decode(ids: readonly number[], options?: DecodeOptions): string;
  createStreamDecoder(options?: DecodeOptions): StreamDecoder;
}

// Used when tokenizer_config.json does not name the tokens: the names the common byte-level BPE
// families (GPT-2, GPT-NeoX, Llama 3, sentencepiece models) give them.
const EOS_NAMES = ['<|endoftext|>', '<|end_of_text|>', '</s>', '<eos>'];
const BOS_NAMES = ['<|endoftext|>', '<|begin_of_text|>', '<s>', '<bos>'];

/** Token ids are u32 in Hugging Face tokenizers, which refuses any other id in a tokenizer.json. */
const TOKEN_ID = range(0, 2 ** 32 - 1);
const TOKENS = range(0, 2 ** 24);

/**
 * Refuses what Hugging Face tokenizers refuses and the JavaScript port would take: a vocabulary
 * id or an added token's id that is not a u32 (a string, a float, a negative number, past 2^32).
 */
function checkTokenIds(spec: Record<string, unknown>, source: string): void {
  const f = Fields.of(spec, source, 'a tokenizer');
  const model = f.object('model');
  // Unigram's vocabulary is a list of [token, score]: its ids are the positions.
  if (isJsonObject(model.raw('vocab'))) {
    const vocab = model.object('vocab');
    for (const token of Object.keys(vocab.json)) vocab.int(token, TOKEN_ID);
  }
  for (const token of f.objects('added_tokens', TOKENS, true)) token.int('id', TOKEN_ID);
}

/** A tokenizer.json tokenizer (BPE, Unigram, WordPiece), encoding like the Python `tokenizers` library. */
export class Tokenizer implements TextTokenizer {
  readonly vocabSize: number;
  readonly eosTokenId: number | undefined;
  readonly bosTokenId: number | undefined;
  private readonly hf: HfTokenizer;

  /**
   * `spec` is the parsed tokenizer.json, `config` the parsed tokenizer_config.json ({} when the
   * model has none). `source` names where they came from in error messages.
   */
  constructor(spec: unknown, config: unknown = {}, source = 'tokenizer.json') {
    if (!isJsonObject(spec) || !isJsonObject(spec['model'])) {
      throw new MambaError(
        `${source} is not a tokenizer: it has no "model" section; replace it with the model's tokenizer.json`,
      );
    }
    if (!isJsonObject(config)) throw new MambaError(`the tokenizer config for ${source} is not a JSON object`);
    checkTokenIds(spec, source);
    try {
      this.hf = new HfTokenizer(spec, config);
    } catch (error) {
      throw new MambaError(
        `${source} could not be loaded as a tokenizer (${(error as Error).message}); replace it with the model's tokenizer.json`,
      );
    }
    this.vocabSize = this.hf.model?.vocab.length ?? 0;
    this.eosTokenId = this.specialId(config['eos_token'], EOS_NAMES);
    this.bosTokenId = this.specialId(config['bos_token'], BOS_NAMES);
  }

  encode(text: string): number[] {
    return this.hf.encode(text).ids;
  }

  decode(ids: readonly number[], options: DecodeOptions = {}): string {
    checkIds(ids);
    // Ids without a token (the padding rows of a model's embedding) decode to nothing, as in the
    // Python library; the JS library would otherwise map them to an undefined unknown token.
    const known = ids.filter((id) => this.hf.id_to_token(id) !== undefined);
    if (known.length === 0) return '';
    // Spaces are never "cleaned up" (" ." -> "."): the text must round-trip, and the stream
    // decoder relies on decode being a pure function of the bytes.
    return this.hf.decode(known, {
      skip_special_tokens: options.skipSpecialTokens ?? false,
      clean_up_tokenization_spaces: false,
    });
  }

  createStreamDecoder(options: DecodeOptions = {}): StreamDecoder {
    return new WindowStreamDecoder((ids) => this.decode(ids, options));
  }

  private specialId(configured: unknown, fallbacks: string[]): number | undefined {
    const name = tokenContent(configured);
    if (name !== undefined) return this.hf.token_to_id(name);
    for (const candidate of fallbacks) {
      const id = this.hf.token_to_id(candidate);
      if (id !== undefined) return id;
    }
    return undefined;
  }
}

/**
 * Ids are bytes: for byte-level models with a 256-entry vocabulary. Text is encoded as UTF-8;
 * decoding replaces invalid UTF-8 with U+FFFD. There are no special tokens.
 */
export class ByteTokenizer implements TextTokenizer {
  readonly vocabSize = 256;
  readonly eosTokenId = undefined;
  readonly bosTokenId = undefined;

  encode(text: string): number[] {
    return Array.from(new TextEncoder().encode(text));
  }

  decode(ids: readonly number[]): string {
    return new TextDecoder('utf-8', { ignoreBOM: true }).decode(toBytes(ids));
  }

  createStreamDecoder(): StreamDecoder {
    // TextDecoder in stream mode already holds back an unfinished UTF-8 sequence.
    const decoder = new TextDecoder('utf-8', { ignoreBOM: true });
    return {
      push: (id) => decoder.decode(toBytes([id]), { stream: true }),
      flush: () => decoder.decode(),
    };
  }
}

/**
 * The tokenizer of a model folder: tokenizer.json and, when present, tokenizer_config.json (for the
 * bos/eos names and options such as added special tokens); null when the folder has no
 * tokenizer.json.
 */
export async function readTokenizer(files: ModelFiles): Promise<Tokenizer | null> {
  const spec = await readTextFile(files, 'tokenizer.json');
  if (spec === null) return null;
  const config = await readTextFile(files, 'tokenizer_config.json');
  return tokenizerFromJson(spec, config, locate(files, 'tokenizer.json'));
}

/** A tokenizer from the text of tokenizer.json and of tokenizer_config.json (or null); `source` names the first. */
export function tokenizerFromJson(spec: string, config: string | null, source: string): Tokenizer {
  const fix = "replace it with the model's file";
  const configSource = source.replace(/tokenizer\.json$/, 'tokenizer_config.json');
  return new Tokenizer(
    parseJsonObject(spec, source, fix),
    config === null ? {} : parseJsonObject(config, configSource, fix),
    source,
  );
}

/**
 * Decodes a window that starts at the text emitted last and runs to the newest id. Decoding the
 * window rather than single ids keeps the decoder's context (byte runs, leading-space rules), and
 * comparing with the already emitted part yields just the new text. A window whose text ends in
 * U+FFFD ends inside a character, so it is held until a later id completes it.
 */
class WindowStreamDecoder implements StreamDecoder {
  /** The window: the ids of the text emitted last (context), then the ids not yet emitted. */
  private ids: number[] = [];
  /** How many ids of the window are context. */
  private read = 0;

  constructor(private readonly decode: (ids: number[]) => string) {}

  push(id: number): string {
    checkIds([id]);
    this.ids.push(id);
    const emitted = this.decode(this.ids.slice(0, this.read));
    const text = this.decode(this.ids);
    if (text.length <= emitted.length || text.endsWith('\uFFFD')) return '';
    // What is emitted now becomes the context of the next window.
    this.ids = this.ids.slice(this.read);
    this.read = this.ids.length;
    return text.slice(emitted.length);
  }

  flush(): string {
    const emitted = this.decode(this.ids.slice(0, this.read));
    const text = this.decode(this.ids);
    this.ids = [];
    this.read = 0;
    return text.slice(emitted.length);
  }
}

/** tokenizer_config.json names a token either as a string or as an AddedToken object. */
function tokenContent(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (isJsonObject(value) && typeof value['content'] === 'string') return value['content'];
  return undefined;
}

function checkIds(ids: readonly number[]): void {
  for (const id of ids) {
    if (!Number.isInteger(id) || id < 0) throw new MambaError(`token id ${id} is not a non-negative integer`);
  }
}

function toBytes(ids: readonly number[]): Uint8Array {
  for (const id of ids) {
    if (!Number.isInteger(id) || id < 0 || id > 255) throw new MambaError(`byte token id ${id} is outside 0..255`);
  }
  return Uint8Array.from(ids);
}
