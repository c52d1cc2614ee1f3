import { Module, ModuleList } from '../nn/module.js';
import { constant, normal, type InitOptions } from '../nn/init.js';
import { fromArray, zeros } from '../ops/create.js';
import { dropout } from '../ops/dropout.js';
import { add, affine, gelu } from '../ops/elementwise.js';
import { embedding } from '../ops/indexing.js';
import { linear, matmul } from '../ops/matmul.js';
import { layerNorm } from '../ops/norm.js';
import { concat, split } from '../ops/shape-ops.js';
import { softmax } from '../ops/softmax.js';
import { permute, reshape, slice, transpose } from '../ops/view.js';
import { defaultGenerator, type Generator } from '../tensor/random.js';
import { keep, scope } from '../tensor/scope.js';
import type { Tensor } from '../tensor/tensor.js';
import { MambaError } from '../util/errors.js';
import { Fields } from '../util/schema.js';
import { CONTEXT, DEPTH, HEADS, MULTIPLIER, RATE, VOCAB, WIDTH } from './config-limits.js';
import { advanceLengths, type LanguageModel, type LMForwardOptions } from './language-model.js';

export const TRANSFORMER_TYPE = 'transformer';

/** The hyper-parameters of a GPT-style decoder-only Transformer language model. */
export interface TransformerConfig {
  vocabSize: number;
  dModel: number;
  nLayer: number;
  /** Attention heads; each has dModel / nHead channels. */
  nHead: number;
  /** The longest sequence the model reads, prompt and generated tokens together: rows of the position embedding. */
  maxLength: number;
  /** Width of the MLP's hidden layer as a multiple of dModel (4 in GPT-2). */
  mlpRatio: number;
  /** Dropout on the embeddings, the attention probabilities and both residual branches, in training mode. */
  dropout: number;
}

export type TransformerConfigOptions = Partial<TransformerConfig> &
  Pick<TransformerConfig, 'vocabSize' | 'dModel' | 'nLayer' | 'nHead' | 'maxLength'>;

/**
 * Fills in the defaults (mlpRatio 4, dropout 0) and rejects values no model can have, through the
 * same reader as a config.json; `source` names the file (or the call) in errors.
 */
export function transformerConfig(options: TransformerConfigOptions, source = 'Transformer config'): TransformerConfig {
  const f = Fields.of(options, source, 'a transformer config');
  const config: TransformerConfig = {
    vocabSize: f.int('vocabSize', VOCAB),
    dModel: f.int('dModel', WIDTH),
    nLayer: f.int('nLayer', DEPTH),
    nHead: f.int('nHead', HEADS),
    maxLength: f.int('maxLength', CONTEXT),
    mlpRatio: f.number('mlpRatio', MULTIPLIER, 4),
    dropout: f.number('dropout', RATE, 0),
  };
  if (config.dModel % config.nHead !== 0) {
    throw new MambaError(`${source}: dModel (${config.dModel}) must be divisible by nHead (${config.nHead})`);
  }
  if (!Number.isInteger(config.mlpRatio * config.dModel)) {
    throw new MambaError(
      `${source}: mlpRatio * dModel is the MLP's width and must be an integer, got ${config.mlpRatio} * ${config.dModel}`,
    );
  }
  if (config.dropout === 1) throw new MambaError(`${source}: dropout must be in [0, 1), got 1`);
  return config;
}

/** A Transformer config from its config.json (written by TransformerLM.configJson); `source` names the file in errors. */
export function transformerConfigFromJson(json: unknown, source: string): TransformerConfig {
  return transformerConfig(json as TransformerConfigOptions, source);
}

/**
 * The parameter count of a model with this config, without building it: token embedding (the
 * head is tied to it), position embedding, per block two LayerNorms, qkv, output projection and
 * MLP with their biases, and the final LayerNorm. With mlpRatio 4 that is
 * nLayer (12 d^2 + 13 d) + (vocabSize + maxLength + 2) d for d = dModel.
 */
export function transformerParameterCount(options: TransformerConfigOptions): number {
  const { dModel: d, mlpRatio, nLayer, vocabSize, maxLength } = transformerConfig(options);
  const h = mlpRatio * d;
  const block = 2 * d + (3 * d * d + 3 * d) + (d * d + d) + 2 * d + (d * h + h) + (h * d + d);
  return (vocabSize + maxLength) * d + nLayer * block + 2 * d;
}

export type TransformerSizeOptions = Omit<TransformerConfigOptions, 'dModel' | 'nLayer' | 'nHead'> & {
  nLayer?: number;
  nHead?: number;
};

/**
 * The config whose parameter count is nearest to `target`, for a baseline of the same size as
 * another model (MambaByte): nLayer and nHead stay as given (default 4 each) and dModel moves in
 * steps of nHead, which must divide it. The count grows by about 24 nLayer dModel nHead per step,
 * so the match is within half a step: under 3% at a million parameters with the defaults, closer
 * for larger models. Pass nLayer (and nHead) for another depth; the count of the result is
 * transformerParameterCount(config).
 */
export function transformerConfigForParameters(target: number, options: TransformerSizeOptions): TransformerConfig {
  if (!(Number.isFinite(target) && target > 0))
    throw new MambaError(
      `transformerConfigForParameters: the target must be a positive number of parameters, got ${target}`,
    );
  const nLayer = options.nLayer ?? 4;
  const nHead = options.nHead ?? 4;
  const at = (dModel: number) => transformerConfig({ ...options, nLayer, nHead, dModel });
  // The count is a d^2 + b d; solve for d, then compare the two multiples of nHead around it.
  const base = at(nHead);
  const a = nLayer * (4 + 2 * base.mlpRatio);
  const b = base.vocabSize + base.maxLength + 2 + nLayer * (9 + base.mlpRatio);
  const exact = (-b + Math.sqrt(b * b + 4 * a * target)) / (2 * a);
  const below = at(Math.max(nHead, Math.floor(exact / nHead) * nHead));
  const above = at(below.dModel + nHead);
  const miss = (c: TransformerConfig) => Math.abs(transformerParameterCount(c) - target);
  return miss(above) < miss(below) ? above : below;
}

/**
 * y = x W^T + b drawn as GPT-2 draws it (W ~ N(0, std), b = 0). Not nn.Linear: GPT training
 * exempts biases from weight decay, and only the registration of a parameter can say so.
 */
class Dense extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor;

  constructor(inFeatures: number, outFeatures: number, std: number, generator: Generator) {
    super();
    this.weight = this.param('weight', normal([outFeatures, inFeatures], std, generator));
    this.bias = this.param('bias', constant([outFeatures], 0), { noWeightDecay: true });
  }

  forward(x: Tensor): Tensor {
    return linear(x, this.weight, this.bias);
  }
}

/** LayerNorm whose weight and bias are exempt from weight decay (nn.LayerNorm's are not). */
class Norm extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor;

  constructor(dim: number) {
    super();
    this.weight = this.param('weight', constant([dim], 1), { noWeightDecay: true });
    this.bias = this.param('bias', constant([dim], 0), { noWeightDecay: true });
  }

  forward(x: Tensor): Tensor {
    return layerNorm(x, this.weight, this.bias, 1e-5);
  }
}

/** A lookup table drawn N(0, 0.02) as GPT-2's token and position embeddings are. */
class Table extends Module {
  readonly weight: Tensor;

  constructor(rows: number, dim: number, generator: Generator) {
    super();
    this.weight = this.param('weight', normal([rows, dim], 0.02, generator));
  }
}

/**
 * The additive causal mask (0 where a query may look, -inf after it), built on first use for the
 * longest sequence seen so far and sliced for every shorter one, so that training at a fixed
 * length builds it once. Its owner disposes it.
 */
export class CausalMask {
  private table: Tensor | null = null;

  /** `like` has the dtype and backend of the scores the mask is added to. */
  constructor(
    private readonly like: Tensor,
    private readonly maxLength: number,
  ) {}

  /**
   * What `length` new queries may see after `offset` earlier tokens: rows offset..offset+length
   * and columns 0..offset+length of the full mask (a view). Null for a single query, which sees
   * every key.
   */
  rows(offset: number, length: number): Tensor | null {
    if (length === 1) return null;
    const total = offset + length;
    if (!this.table || this.table.shape[0]! < total)
      this.build(Math.min(this.maxLength, Math.max(total, 2 * (this.table?.shape[0] ?? 0))));
    return slice(slice(this.table!, 0, offset, total), 1, 0, total);
  }

  private build(n: number): void {
    const values = new Float64Array(n * n);
    for (let i = 0; i < n; i++) values.fill(-Infinity, i * n + i + 1, (i + 1) * n);
    this.table?.dispose();
    this.table = keep(fromArray(values, [n, n], { dtype: this.like.dtype, backend: this.like.backend }));
  }

  dispose(): void {
    this.table?.dispose();
    this.table = null;
  }
}

/**
 * The KV cache of one layer. The keys and values of every token seen so far (they grow with
 * the sequence), [total tokens, nHead, headDim], are packed sequence after sequence: sequence b
 * holds lengths[b] rows (TransformerState.lengths) after those of the sequences before it.
 * Packing lets the states of prompts of different lengths join along axis 0 as generation joins
 * them.
 */
export type TransformerLayerState = {
  keys: Tensor;
  values: Tensor;
};

/** Per-layer KV caches of a batch of sequences and their lengths (see TransformerLM.initialState). */
export type TransformerState = {
  layers: TransformerLayerState[];
  lengths: number[];
};

/** A layer's cache with the lengths of its sequences before the current call. */
interface LayerCache {
  layer: TransformerLayerState;
  lengths: readonly number[];
}

function replace(state: TransformerLayerState, key: keyof TransformerLayerState, next: Tensor): void {
  const old = state[key];
  state[key] = keep(next);
  old.dispose();
}

/** Multi-head causal self-attention with a fused qkv projection (`attn` in GPT-2). */
export class CausalSelfAttention extends Module {
  readonly qkv: Dense;
  readonly outProj: Dense;

  constructor(
    readonly config: TransformerConfig,
    private readonly generator: Generator,
  ) {
    super();
    const d = config.dModel;
    this.qkv = this.module('qkv', new Dense(d, 3 * d, 0.02, generator));
    this.outProj = this.module('out_proj', new Dense(d, d, residualStd(config), generator));
  }

  /**
   * [B, L, dModel] to [B, L, dModel]. With a cache, the L tokens continue each sequence after its
   * cached ones, and their keys and values join the cache.
   */
  forward(x: Tensor, mask: CausalMask, cache?: LayerCache): Tensor {
    return scope(() => {
      const [batch, length] = x.shape as [number, number];
      const { nHead, dModel } = this.config;
      const headDim = dModel / nHead;
      const fused = this.qkv.forward(x);
      // [B, L, 3H, hd] is a view of the projection; its three thirds permuted to [B, H, L, hd]
      // are views too, which matmul reads through their strides.
      const [q, k, v] = split(reshape(fused, [batch, length, 3 * nHead, headDim]), nHead, 2).map((t) =>
        permute(t, [0, 2, 1, 3]),
      ) as [Tensor, Tensor, Tensor];
      const scaled = affine(q, 1 / Math.sqrt(headDim));
      const heads = cache
        ? this.attendCached(scaled, fused, mask, cache)
        : this.attend(scaled, k, v, mask.rows(0, length));
      const merged = reshape(permute(heads, [0, 2, 1, 3]), [batch, length, dModel]);
      return dropout(this.outProj.forward(merged), this.config.dropout, this.training, this.generator);
    });
  }

  private attend(q: Tensor, k: Tensor, v: Tensor, mask: Tensor | null): Tensor {
    const scores = matmul(q, transpose(k));
    const probs = softmax(mask ? add(scores, mask) : scores, -1);
    return matmul(dropout(probs, this.config.dropout, this.training, this.generator), v);
  }

  private attendCached(q: Tensor, fused: Tensor, mask: CausalMask, { layer: state, lengths }: LayerCache): Tensor {
    const [batch, , length] = q.shape as [number, number, number];
    const { nHead, dModel } = this.config;
    const headDim = dModel / nHead;
    const starts = lengths.map((_, b) => lengths.slice(0, b).reduce((s, n) => s + n, 0));
    const [, newKeys, newValues] = split(reshape(fused, [batch * length, 3 * nHead, headDim]), nHead, 1) as [
      Tensor,
      Tensor,
      Tensor,
    ];
    const append = (cache: Tensor, fresh: Tensor) =>
      concat(
        lengths.flatMap((n, b) => [
          slice(cache, 0, starts[b]!, starts[b]! + n),
          slice(fresh, 0, b * length, (b + 1) * length),
        ]),
        0,
      );
    const keys = append(state.keys, newKeys);
    const values = append(state.values, newValues);
    // Consecutive sequences of equal length attend in one batched product: all of them when the
    // batch started together, one at a time after prompts of different lengths.
    const groups: Tensor[] = [];
    for (let b0 = 0; b0 < batch;) {
      let b1 = b0 + 1;
      while (b1 < batch && lengths[b1] === lengths[b0]) b1++;
      const total = lengths[b0]! + length;
      const from = starts[b0]! + b0 * length;
      const rows = (t: Tensor) =>
        permute(reshape(slice(t, 0, from, from + (b1 - b0) * total), [b1 - b0, total, nHead, headDim]), [0, 2, 1, 3]);
      groups.push(this.attend(slice(q, 0, b0, b1), rows(keys), rows(values), mask.rows(lengths[b0]!, length)));
      b0 = b1;
    }
    replace(state, 'keys', keys);
    replace(state, 'values', values);
    return groups.length === 1 ? groups[0]! : concat(groups, 0);
  }
}

/** GPT-2 scales the init of the projections that write into the residual stream by 1/sqrt(2 nLayer). */
function residualStd(config: TransformerConfig): number {
  return 0.02 / Math.sqrt(2 * config.nLayer);
}

/** Linear to mlpRatio x wider, GELU (GPT-2's tanh approximation, also the cheaper kernel), Linear back. */
export class TransformerMLP extends Module {
  readonly fc1: Dense;
  readonly fc2: Dense;

  constructor(
    readonly config: TransformerConfig,
    private readonly generator: Generator,
  ) {
    super();
    const hidden = config.mlpRatio * config.dModel;
    this.fc1 = this.module('fc1', new Dense(config.dModel, hidden, 0.02, generator));
    this.fc2 = this.module('fc2', new Dense(hidden, config.dModel, residualStd(config), generator));
  }

  forward(x: Tensor): Tensor {
    return scope(() =>
      dropout(this.fc2.forward(gelu(this.fc1.forward(x), 'tanh')), this.config.dropout, this.training, this.generator),
    );
  }
}

/** Pre-norm block: x + attn(norm1(x)), then h + mlp(norm2(h)). */
export class TransformerBlock extends Module {
  readonly norm1: Norm;
  readonly attn: CausalSelfAttention;
  readonly norm2: Norm;
  readonly mlp: TransformerMLP;

  constructor(config: TransformerConfig, generator: Generator) {
    super();
    this.norm1 = this.module('norm1', new Norm(config.dModel));
    this.attn = this.module('attn', new CausalSelfAttention(config, generator));
    this.norm2 = this.module('norm2', new Norm(config.dModel));
    this.mlp = this.module('mlp', new TransformerMLP(config, generator));
  }

  forward(x: Tensor, mask: CausalMask, cache?: LayerCache): Tensor {
    return scope(() => {
      const h = add(x, this.attn.forward(this.norm1.forward(x), mask, cache));
      return add(h, this.mlp.forward(this.norm2.forward(h)));
    });
  }
}

/**
 * A GPT-style decoder-only language model: token and learned position embeddings, nLayer
 * pre-norm blocks, a final LayerNorm and a head tied to the token embedding. Parameter names
 * follow PyTorch (`embeddings.weight`, `position.weight`, `blocks.0.attn.qkv.weight`,
 * `blocks.0.mlp.fc1.weight`, `norm_f.weight`, ...); initialised as GPT-2; biases and LayerNorm
 * parameters are exempt from weight decay. Its interface is MambaLM's, so trainers, evaluation and
 * generate() take either: the state is a KV cache instead of a recurrent state.
 */
export class TransformerLM extends Module implements LanguageModel<TransformerState> {
  readonly modelType = TRANSFORMER_TYPE;
  readonly config: TransformerConfig;
  readonly embeddings: Table;
  readonly position: Table;
  readonly blocks: ModuleList<TransformerBlock>;
  readonly normF: Norm;
  private readonly generator: Generator;
  private readonly mask: CausalMask;

  constructor(config: TransformerConfigOptions, options: InitOptions = {}) {
    super();
    this.config = transformerConfig(config);
    const { vocabSize, dModel, nLayer, maxLength } = this.config;
    this.generator = options.generator ?? defaultGenerator;
    this.embeddings = this.module('embeddings', new Table(vocabSize, dModel, this.generator));
    this.position = this.module('position', new Table(maxLength, dModel, this.generator));
    this.blocks = this.module(
      'blocks',
      new ModuleList(Array.from({ length: nLayer }, () => new TransformerBlock(this.config, this.generator))),
    );
    this.normF = this.module('norm_f', new Norm(dModel));
    this.mask = new CausalMask(this.embeddings.weight, maxLength);
  }

  get vocabSize(): number {
    return this.config.vocabSize;
  }

  /** The Transformer does not pad its vocabulary. */
  get vocabLimit(): number {
    return this.config.vocabSize;
  }

  /** The longest sequence it reads: the rows of the position embedding. */
  get maxLength(): number {
    return this.config.maxLength;
  }

  /** Logits [B, L, vocab] for int32 token ids [B, L]; with a state the tokens join its KV caches. */
  forward(ids: Tensor, options: LMForwardOptions<TransformerState> = {}): Tensor {
    if (ids.rank !== 2 || ids.dtype !== 'int32' || ids.size === 0) {
      throw new MambaError(
        `TransformerLM: token ids must be int32 [batch, length] with at least one token, got ${ids.dtype} ${JSON.stringify(ids.shape)}`,
      );
    }
    const [batch, length] = ids.shape as [number, number];
    const { state } = options;
    if (state && state.layers.length !== this.blocks.length) {
      throw new MambaError(
        `TransformerLM: the state has ${state.layers.length} layers, the model ${this.blocks.length}`,
      );
    }
    const offsets = state ? state.lengths.slice() : new Array<number>(batch).fill(0);
    const end = Math.max(...offsets) + length;
    if (end > this.config.maxLength) {
      throw new MambaError(
        `TransformerLM: a sequence of ${end} tokens is longer than the model's maxLength of ${this.config.maxLength}`,
      );
    }
    if (state) advanceLengths('TransformerLM', state, ids.shape);
    return scope(() => {
      const tokens = embedding(this.embeddings.weight, ids);
      let hidden = dropout(
        add(tokens, this.positions(offsets, length)),
        this.config.dropout,
        this.training,
        this.generator,
      );
      for (let i = 0; i < this.blocks.length; i++)
        hidden = this.blocks.at(i).forward(hidden, this.mask, state && { layer: state.layers[i]!, lengths: offsets });
      const last = options.lastOnly ? slice(hidden, 1, -1) : hidden;
      return linear(this.normF.forward(last), this.embeddings.weight);
    });
  }

  /** Position embeddings of `length` tokens after each sequence's `offsets[b]`. */
  private positions(offsets: number[], length: number): Tensor {
    const table = this.position.weight;
    // Sequences at the same offset (always so in training) share one slice, broadcast over the batch.
    if (offsets.every((o) => o === offsets[0])) return slice(table, 0, offsets[0]!, offsets[0]! + length);
    const ids = Int32Array.from(
      { length: offsets.length * length },
      (_, i) => offsets[Math.floor(i / length)]! + (i % length),
    );
    return embedding(table, fromArray(ids, [offsets.length, length], { dtype: 'int32', backend: table.backend }));
  }

  /** An empty KV cache for `batch` sequences; dispose it with disposeState. */
  initialState(batch: number): TransformerState {
    if (!Number.isInteger(batch) || batch < 1)
      throw new MambaError(`TransformerLM: the batch of a state must be a positive integer, got ${batch}`);
    const { nHead, dModel } = this.config;
    const { dtype, backend } = this.embeddings.weight;
    return {
      layers: [...this.blocks].map(() => ({
        keys: keep(zeros([0, nHead, dModel / nHead], { dtype, backend })),
        values: keep(zeros([0, nHead, dModel / nHead], { dtype, backend })),
      })),
      lengths: new Array<number>(batch).fill(0),
    };
  }

  /** model_type "transformer" with the config. */
  configJson(): string {
    return JSON.stringify({ model_type: TRANSFORMER_TYPE, ...this.config }, null, 2) + '\n';
  }

  /** Frees the parameters and the cached causal mask. */
  override dispose(): void {
    super.dispose();
    this.mask.dispose();
  }
}
