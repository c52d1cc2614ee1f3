import { Linear } from '../nn/layers.js';
import { Module, ModuleList } from '../nn/module.js';
import { LayerNorm } from '../nn/norm.js';
import { isInitialising, normal, type InitOptions } from '../nn/init.js';
import { add, affine, gelu } from '../ops/elementwise.js';
import { linear, matmul } from '../ops/matmul.js';
import { concat, split } from '../ops/shape-ops.js';
import { softmax } from '../ops/softmax.js';
import { expand, permute, reshape, slice, transpose } from '../ops/view.js';
import { defaultGenerator, Generator } from '../tensor/random.js';
import { scope } from '../tensor/scope.js';
import type { Tensor } from '../tensor/tensor.js';
import { MambaError } from '../util/errors.js';
import { Fields } from '../util/schema.js';
import { EPSILON, HEADS, MULTIPLIER } from './config-limits.js';
import {
  checkImages,
  checkWholeWidth,
  imageClassifierFields,
  dropPath,
  dropPathRates,
  PatchEmbed,
  patchGrid,
  type ImageClassifier,
} from './vim.js';

/** The hyper-parameters of a Vision Transformer (ViT / DeiT as timm builds it). */
export interface VitConfig {
  imageSize: number;
  patchSize: number;
  stride: number;
  channels: number;
  numClasses: number;
  dModel: number;
  depth: number;
  nHead: number;
  /** Width of the MLP's hidden layer as a multiple of dModel. */
  mlpRatio: number;
  /** Largest stochastic-depth rate, reached by the last block. */
  dropPath: number;
  normEps: number;
}

export type VitConfigOptions = Partial<VitConfig> &
  Pick<VitConfig, 'imageSize' | 'patchSize' | 'dModel' | 'depth' | 'nHead' | 'numClasses'>;

/**
 * Fills in timm's defaults (mlpRatio 4, LayerNorm eps 1e-6, 3 channels, disjoint patches) and
 * checks the rest, through the same reader as a config.json; `source` names the file (or the call).
 */
export function vitConfig(options: VitConfigOptions, source = 'ViT config'): VitConfig {
  const f = Fields.of(options, source, 'a ViT config');
  const config: VitConfig = {
    ...imageClassifierFields(f),
    nHead: f.int('nHead', HEADS),
    mlpRatio: f.number('mlpRatio', MULTIPLIER, 4),
    normEps: f.number('normEps', EPSILON, 1e-6),
  };
  if (config.dModel % config.nHead !== 0)
    throw new MambaError(`${source}: dModel (${config.dModel}) must be divisible by nHead (${config.nHead})`);
  checkWholeWidth(f, 'mlpRatio', config.mlpRatio, config.dModel, "the MLP's width");
  return config;
}

/** DeiT's sizes (the paper's baselines for Vim-Ti, -S and -B), at 224x224 with 16x16 patches and 1000 classes. */
export const VIT_PRESETS = {
  'deit-ti': {
    imageSize: 224,
    patchSize: 16,
    channels: 3,
    numClasses: 1000,
    dModel: 192,
    depth: 12,
    nHead: 3,
    dropPath: 0.1,
  },
  'deit-s': {
    imageSize: 224,
    patchSize: 16,
    channels: 3,
    numClasses: 1000,
    dModel: 384,
    depth: 12,
    nHead: 6,
    dropPath: 0.1,
  },
  'deit-b': {
    imageSize: 224,
    patchSize: 16,
    channels: 3,
    numClasses: 1000,
    dModel: 768,
    depth: 12,
    nHead: 12,
    dropPath: 0.1,
  },
} as const satisfies Record<string, VitConfigOptions>;

/**
 * The parameter count of a ViT with this config, without building it: patch embedding, class
 * token, positions, per block two LayerNorms, qkv, projection and MLP with biases, the final
 * LayerNorm and the head.
 */
export function vitParameterCount(options: VitConfigOptions): number {
  const c = vitConfig(options);
  const d = c.dModel;
  const h = c.mlpRatio * d;
  const tokens = patchGrid(c.imageSize, c.patchSize, c.stride) ** 2 + 1;
  const block = 4 * d + (3 * d * d + 3 * d) + (d * d + d) + (d * h + h) + (h * d + d);
  return (
    c.channels * c.patchSize ** 2 * d + d + d + tokens * d + c.depth * block + 2 * d + d * c.numClasses + c.numClasses
  );
}

/**
 * The config whose parameter count is nearest to `target` (a baseline as large as a Vim): depth,
 * heads and everything else as given, dModel searched over the multiples of nHead.
 */
export function vitConfigForParameters(target: number, options: Omit<VitConfigOptions, 'dModel'>): VitConfig {
  if (!(Number.isFinite(target) && target > 0))
    throw new MambaError(`vitConfigForParameters: the target must be a positive number of parameters, got ${target}`);
  let best: VitConfig | null = null;
  let bestMiss = Infinity;
  for (let dModel = options.nHead; ; dModel += options.nHead) {
    const count = vitParameterCount({ ...options, dModel });
    const miss = Math.abs(count - target);
    if (miss < bestMiss) {
      best = vitConfig({ ...options, dModel });
      bestMiss = miss;
    }
    if (count > target) return best!;
  }
}

/** Multi-head self-attention over every token (no mask), with timm's names: a fused `qkv` and `proj`. */
export class Attention extends Module {
  readonly qkv: Linear;
  readonly proj: Linear;

  constructor(
    readonly dModel: number,
    readonly nHead: number,
    options: InitOptions,
  ) {
    super();
    this.qkv = this.module('qkv', new Linear(dModel, 3 * dModel, options));
    this.proj = this.module('proj', new Linear(dModel, dModel, options));
  }

  forward(x: Tensor): Tensor {
    return scope(() => {
      const [batch, length] = x.shape as [number, number];
      const headDim = this.dModel / this.nHead;
      const fused = this.qkv.forward(x);
      // [B, L, 3H, hd] is a view of the projection; its thirds permuted to [B, H, L, hd] are views too.
      const [q, k, v] = split(reshape(fused, [batch, length, 3 * this.nHead, headDim]), this.nHead, 2).map((t) =>
        permute(t, [0, 2, 1, 3]),
      ) as [Tensor, Tensor, Tensor];
      const probs = softmax(matmul(affine(q, 1 / Math.sqrt(headDim)), transpose(k)), -1);
      const heads = matmul(probs, v);
      return this.proj.forward(reshape(permute(heads, [0, 2, 1, 3]), [batch, length, this.dModel]));
    });
  }
}

/** Linear to mlpRatio x wider, exact GELU, Linear back (timm's `Mlp`). */
export class Mlp extends Module {
  readonly fc1: Linear;
  readonly fc2: Linear;

  constructor(dModel: number, hidden: number, options: InitOptions) {
    super();
    this.fc1 = this.module('fc1', new Linear(dModel, hidden, options));
    this.fc2 = this.module('fc2', new Linear(hidden, dModel, options));
  }

  forward(x: Tensor): Tensor {
    return scope(() => this.fc2.forward(gelu(this.fc1.forward(x))));
  }
}

/** Pre-norm encoder block: x + dropPath(attn(norm1(x))), then h + dropPath(mlp(norm2(h))). */
export class VitBlock extends Module {
  readonly norm1: LayerNorm;
  readonly attn: Attention;
  readonly norm2: LayerNorm;
  readonly mlp: Mlp;

  constructor(
    readonly config: VitConfig,
    options: InitOptions,
  ) {
    super();
    this.norm1 = this.module('norm1', new LayerNorm(config.dModel, { eps: config.normEps }));
    this.attn = this.module('attn', new Attention(config.dModel, config.nHead, options));
    this.norm2 = this.module('norm2', new LayerNorm(config.dModel, { eps: config.normEps }));
    this.mlp = this.module('mlp', new Mlp(config.dModel, config.mlpRatio * config.dModel, options));
  }

  forward(x: Tensor, rate: number, generator: Generator): Tensor {
    return scope(() => {
      const h = add(x, dropPath(this.attn.forward(this.norm1.forward(x)), rate, this.training, generator));
      return add(h, dropPath(this.mlp.forward(this.norm2.forward(h)), rate, this.training, generator));
    });
  }
}

/**
 * The Vision Transformer baseline (Dosovitskiy et al. 2021; DeiT's recipe): the same patch
 * embedding as Vim, a class token in front of the patches, learned positions, `depth` pre-norm
 * encoder blocks with non-causal multi-head attention, a final LayerNorm and a linear head on the
 * class token. Names and initialisation follow timm (`cls_token`, `pos_embed`,
 * `blocks.0.attn.qkv.weight`, `norm.weight`, `head.weight`; Linear weights N(0, 0.02) with zero
 * biases, the class token N(0, 1e-6)); biases, norms, the class token and positions are exempt from
 * weight decay.
 */
export class ViT extends Module implements ImageClassifier {
  readonly modelType = 'vit';
  readonly config: VitConfig;
  readonly patchEmbed: PatchEmbed;
  readonly clsToken: Tensor;
  readonly posEmbed: Tensor;
  readonly blocks: ModuleList<VitBlock>;
  readonly norm: LayerNorm;
  readonly head: Linear;
  readonly numPatches: number;
  private readonly generator: Generator;

  constructor(config: VitConfigOptions, options: InitOptions = {}) {
    super();
    this.config = vitConfig(config);
    const c = this.config;
    this.generator = options.generator ?? defaultGenerator;
    const g = { generator: this.generator };
    this.numPatches = patchGrid(c.imageSize, c.patchSize, c.stride) ** 2;
    this.patchEmbed = this.module('patch_embed', new PatchEmbed(c.channels, c.dModel, c.patchSize, c.stride, g));
    this.clsToken = this.param('cls_token', normal([1, 1, c.dModel], 1e-6, this.generator), { noWeightDecay: true });
    this.posEmbed = this.param('pos_embed', normal([1, this.numPatches + 1, c.dModel], 0.02, this.generator), {
      noWeightDecay: true,
    });
    this.blocks = this.module('blocks', new ModuleList(Array.from({ length: c.depth }, () => new VitBlock(c, g))));
    this.norm = this.module('norm', new LayerNorm(c.dModel, { eps: c.normEps }));
    this.head = this.module('head', new Linear(c.dModel, c.numClasses, g));
    if (isInitialising()) reinitialise(this, this.generator);
  }

  forward(images: Tensor, options: { generator?: Generator } = {}): Tensor {
    checkImages('ViT', images, this.config);
    const generator = options.generator ?? this.generator;
    const rates = dropPathRates(this.config.dropPath, this.config.depth);
    return scope(() => {
      const patches = this.patchEmbed.forward(images);
      const [batch, , dim] = patches.shape as [number, number, number];
      let hidden = add(concat([expand(this.clsToken, [batch, 1, dim]), patches], 1), this.posEmbed);
      for (let i = 0; i < this.blocks.length; i++) hidden = this.blocks.at(i).forward(hidden, rates[i]!, generator);
      // LayerNorm is per token and the head reads only the class token.
      const cls = reshape(slice(hidden, 1, 0, 1), [batch, dim]);
      return linear(this.norm.forward(cls), this.head.weight, this.head.bias);
    });
  }
}

/** timm's init_weights_vit_timm: every Linear N(0, 0.02) (trunc_normal_ at +-2 absolute never cuts) with zero bias. */
function reinitialise(model: ViT, g: Generator): void {
  scope(() => {
    for (const [, m] of model.namedModules()) {
      if (!(m instanceof Linear)) continue;
      m.weight.write(normal(m.weight.shape, 0.02, g).toArray());
      m.bias?.write(new Float32Array(m.bias.size));
    }
  });
}
