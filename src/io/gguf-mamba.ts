import type { ByteSink } from '../formats/byte-source.js';
import { writeGguf, type GgufTensorInput, type GgufValue } from '../formats/gguf.js';
import type { MambaLM } from '../models/mamba-lm.js';
import { MambaError } from '../util/errors.js';
import { Fields, isJsonObject, range } from '../util/schema.js';
import { writeFileAtomicStreaming } from './files.js';

// llama.cpp's `mamba` architecture (src/models/mamba.cpp, conversion/mamba.py of the llama.cpp
// that node-llama-cpp 3.21.1 bundles): the tensor names, the metadata keys its loader asks for,
// and the conversions its converter makes from the transformers layout. GGUF lists dimensions
// innermost first, which is the transformers shape reversed, so weights are written as they are.

const ARCH = 'mamba';

/** The model's vocabulary as tokenizer.json has it, for a GGUF that llama.cpp can also tokenize with. */
export interface GgufMambaOptions {
  /**
   * The parsed tokenizer.json of a byte-level BPE tokenizer (GPT-NeoX's for the published Mamba
   * models). Without one the file has no vocabulary (`tokenizer.ggml.model` "no_vocab" with
   * `mamba.vocab_size`), which llama.cpp evaluates token ids with but cannot tokenize text for.
   */
  readonly tokenizer?: unknown;
  /** `general.name`; default "mamba-ts". */
  readonly name?: string;
}

/** llama_token_type: how llama.cpp treats a token. */
const TOKEN_TYPE = { normal: 1, control: 3, userDefined: 4, unused: 5 } as const;

/**
 * The `tokenizer.ggml.*` keys for a tokenizer.json BPE vocabulary, as llama.cpp's converter
 * writes them: one entry per embedding row (rows past the vocabulary are `[PAD<id>]`, unused), the
 * merges as "left right" strings, and the pre-tokenizer llama.cpp uses for GPT-NeoX's vocabulary
 * ("mpt", whose tokenizer is GPT-NeoX-20B's).
 */
function vocabularyMetadata(spec: unknown, rows: number, model: MambaLM): [string, GgufValue][] {
  const f = Fields.of(spec, 'tokenizer', 'a tokenizer.json');
  const bpe = f.object('model');
  if (bpe.string('type') !== 'BPE')
    throw new MambaError(
      `tokenizer: model.type is ${JSON.stringify(bpe.raw('type'))}; a GGUF vocabulary is written for BPE tokenizers only (pass no tokenizer for a file without one)`,
    );
  const tokens = new Array<string | undefined>(rows);
  const types = new Array<number>(rows).fill(TOKEN_TYPE.normal);
  const place = (token: string, id: number, type: number) => {
    if (!(Number.isSafeInteger(id) && id >= 0))
      throw new MambaError(`tokenizer: the id of ${JSON.stringify(token)} is ${id}, not a token id`);
    if (id >= rows)
      throw new MambaError(
        `tokenizer: token ${JSON.stringify(token)} has id ${id}, past the ${rows} embedding rows of the model; pass the model's own tokenizer`,
      );
    tokens[id] = token;
    types[id] = type;
  };
  for (const [token, id] of Object.entries(bpe.object('vocab').json)) place(token, id as number, TOKEN_TYPE.normal);
  for (const added of f.objects('added_tokens', range(0, rows), true))
    place(
      added.string('content'),
      added.int('id', range(0, rows - 1)),
      added.bool('special', false) ? TOKEN_TYPE.control : TOKEN_TYPE.userDefined,
    );
  for (let id = 0; id < rows; id++) {
    if (tokens[id] === undefined) {
      tokens[id] = `[PAD${id}]`;
      types[id] = TOKEN_TYPE.unused;
    }
  }
  const listed = bpe.raw('merges');
  const rawMerges: unknown[] = Array.isArray(listed) ? listed : bpe.fail('merges', 'a list of merges');
  // tokenizers writes a merge as "left right" or, since 0.20, as ["left", "right"].
  const merges = rawMerges.map((m, i) => {
    if (typeof m === 'string') return m;
    if (Array.isArray(m) && m.length === 2 && m.every((s) => typeof s === 'string')) return `${m[0]} ${m[1]}`;
    return bpe.fail(`merges[${i}]`, 'a "left right" string or a pair of strings', m);
  });
  const entries: [string, GgufValue][] = [
    ['tokenizer.ggml.model', { type: 'string', value: 'gpt2' }],
    ['tokenizer.ggml.pre', { type: 'string', value: 'mpt' }],
    ['tokenizer.ggml.tokens', { type: 'array', itemType: 'string', value: tokens as string[] }],
    ['tokenizer.ggml.token_type', { type: 'array', itemType: 'int32', value: types }],
    ['tokenizer.ggml.merges', { type: 'array', itemType: 'string', value: merges }],
  ];
  const { bosTokenId, eosTokenId, padTokenId } = model.config;
  for (const [key, id] of [
    ['bos', bosTokenId],
    ['eos', eosTokenId],
    ['padding', padTokenId],
  ] as const) {
    if (id !== undefined) entries.push([`tokenizer.ggml.${key}_token_id`, { type: 'uint32', value: id }]);
  }
  return entries;
}

/** The settings llama.cpp's mamba graph has no place for: a model with them would compute something else there. */
function checkSupported(model: MambaLM): void {
  const { config } = model;
  const refuse = (what: string) =>
    new MambaError(`llama.cpp's mamba architecture has no ${what}; this model cannot be written as a mamba GGUF`);
  if (config.dInner !== 2 * config.dModel)
    throw refuse(`expansion other than 2 (this model's d_inner is ${config.dInner}, d_model ${config.dModel})`);
  if (config.bias) throw refuse('in_proj/out_proj bias (the model sets use_bias)');
  if (!config.convBias) throw refuse('conv1d without bias (the model sets use_conv_bias false)');
}

/** The F32 tensors under llama.cpp's names, converted as its converter converts them. */
function ggufTensors(model: MambaLM): GgufTensorInput[] {
  const weights = new Map(model.namedParameters());
  const take = (name: string, ggufName: string, convert?: (v: Float32Array) => Float32Array): GgufTensorInput => {
    const tensor = weights.get(name);
    if (!tensor) throw new MambaError(`writing a mamba GGUF: the model has no parameter ${name}`);
    const data = tensor.toArray() as Float32Array;
    return { name: ggufName, shape: tensor.shape, data: convert ? convert(data) : data };
  };
  const tensors = [take('backbone.embeddings.weight', 'token_embd.weight')];
  for (let i = 0; i < model.config.nLayer; i++) {
    const from = `backbone.layers.${i}`;
    const to = `blk.${i}`;
    const conv = take(`${from}.mixer.conv1d.weight`, `${to}.ssm_conv1d.weight`);
    tensors.push(
      take(`${from}.norm.weight`, `${to}.attn_norm.weight`),
      take(`${from}.mixer.in_proj.weight`, `${to}.ssm_in.weight`),
      // [d_inner, 1, d_conv] squeezed to [d_inner, d_conv].
      { ...conv, shape: [conv.shape[0]!, conv.shape[2]!] },
      take(`${from}.mixer.conv1d.bias`, `${to}.ssm_conv1d.bias`),
      take(`${from}.mixer.x_proj.weight`, `${to}.ssm_x.weight`),
      take(`${from}.mixer.dt_proj.weight`, `${to}.ssm_dt.weight`),
      take(`${from}.mixer.dt_proj.bias`, `${to}.ssm_dt.bias`),
      // llama.cpp stores A itself, -exp(A_log), where transformers stores its log.
      take(`${from}.mixer.A_log`, `${to}.ssm_a`, (v) => v.map((x) => -Math.exp(x))),
      take(`${from}.mixer.D`, `${to}.ssm_d`),
      take(`${from}.mixer.out_proj.weight`, `${to}.ssm_out.weight`),
    );
  }
  tensors.push(take('backbone.norm_f.weight', 'output_norm.weight'));
  // A tied head is the embedding, which llama.cpp takes for output.weight when that is absent.
  if (!model.config.tieEmbeddings) tensors.push(take('lm_head.weight', 'output.weight'));
  return tensors;
}

/** The metadata llama.cpp's mamba loader reads, with the values its converter writes. */
function ggufMetadata(model: MambaLM, options: GgufMambaOptions): Map<string, GgufValue> {
  const c = model.config;
  const u32 = (value: number): GgufValue => ({ type: 'uint32', value });
  const metadata = new Map<string, GgufValue>([
    ['general.architecture', { type: 'string', value: ARCH }],
    ['general.name', { type: 'string', value: options.name ?? 'mamba-ts' }],
    ['general.file_type', u32(0)], // LLAMA_FTYPE_ALL_F32
    // The state is recurrent, so no context length applies; the converter writes 2^20 too.
    [`${ARCH}.context_length`, u32(2 ** 20)],
    [`${ARCH}.embedding_length`, u32(c.dModel)],
    [`${ARCH}.feed_forward_length`, u32(0)],
    [`${ARCH}.attention.head_count`, u32(0)],
    [`${ARCH}.block_count`, u32(c.nLayer)],
    [`${ARCH}.ssm.conv_kernel`, u32(c.dConv)],
    [`${ARCH}.ssm.inner_size`, u32(c.dInner)],
    [`${ARCH}.ssm.state_size`, u32(c.dState)],
    [`${ARCH}.ssm.time_step_rank`, u32(c.dtRank)],
    [`${ARCH}.attention.layer_norm_rms_epsilon`, { type: 'float32', value: c.layerNormEpsilon }],
    [`${ARCH}.ssm.dt_b_c_rms`, { type: 'bool', value: false }],
  ]);
  if (options.tokenizer === undefined) {
    metadata.set('tokenizer.ggml.model', { type: 'string', value: 'no_vocab' });
    metadata.set(`${ARCH}.vocab_size`, u32(c.vocabSize));
  } else {
    if (!isJsonObject(options.tokenizer))
      throw new MambaError('the tokenizer to write into a GGUF must be a parsed tokenizer.json (an object)');
    for (const [key, value] of vocabularyMetadata(options.tokenizer, c.vocabSize, model)) metadata.set(key, value);
  }
  return metadata;
}

/**
 * Writes a MambaLM as a GGUF file of llama.cpp's `mamba` architecture, all tensors F32, into
 * `sink`. llama.cpp (and so node-llama-cpp, ollama, LM Studio) loads the file and computes the
 * same model. Every parameter is read from the backend before the file is written: about 4 bytes
 * of host memory a parameter.
 */
export async function writeMambaGguf(sink: ByteSink, model: MambaLM, options: GgufMambaOptions = {}): Promise<void> {
  checkSupported(model);
  const metadata = ggufMetadata(model, options);
  await writeGguf(sink, metadata, ggufTensors(model));
}

/** writeMambaGguf into the file `path`, written atomically. */
export async function saveMambaGguf(path: string, model: MambaLM, options: GgufMambaOptions = {}): Promise<void> {
  await writeFileAtomicStreaming(path, (sink) => writeMambaGguf(sink, model, options));
}
