import { Conv2d } from '../nn/conv.js';
import { Linear } from '../nn/layers.js';
import { Module, ModuleList } from '../nn/module.js';
import { RMSNorm } from '../nn/norm.js';
import { defaultBound, isInitialising, normal, uniform, type InitOptions } from '../nn/init.js';
import { fromArray } from '../ops/create.js';
import { add, mul } from '../ops/elementwise.js';
import { addRmsNorm } from '../ops/fused.js';
import { linear } from '../ops/matmul.js';
import { concat } from '../ops/shape-ops.js';
import { expand, reshape, slice, transpose } from '../ops/view.js';
import { defaultGenerator, Generator } from '../tensor/random.js';
import { scope } from '../tensor/scope.js';
import type { Tensor } from '../tensor/tensor.js';
import { formatShape } from '../tensor/shape.js';
import { MambaError } from '../util/errors.js';
import { Fields } from '../util/schema.js';
import {
  CHANNELS,
  CLASSES,
  CONV_KERNEL,
  DEPTH,
  EPSILON,
  IMAGE_SIZE,
  MULTIPLIER,
  RATE,
  STATE_SIZE,
  WIDTH,
} from './config-limits.js';
import { BiMambaMixer } from '../ssm/bimamba.js';
import { mambaMixerConfig, type MambaMixerConfig } from '../ssm/mixer-config.js';

/** What the training recipe, the saved-model format and the CLI need of an image classifier (Vim or ViT). */
export interface ImageClassifier extends Module {
  /** config.json's model_type. */
  readonly modelType: 'vim' | 'vit';
  readonly config: { imageSize: number; channels: number; numClasses: number };
  /**
   * Logits [B, numClasses] for images [B, channels, imageSize, imageSize]. `generator` draws the
   * drop-path masks in training mode, so that a run can make them depend on its step alone.
   */
  forward(images: Tensor, options?: { generator?: Generator }): Tensor;
}

/** The hyper-parameters of a Vision Mamba (hustvl/Vim models_mamba.py, docs/mamba-spec.md §4). */
export interface VimConfig {
  imageSize: number;
  patchSize: number;
  /** Stride of the patch embedding: patchSize for disjoint patches, smaller for the "+" models' overlap. */
  stride: number;
  channels: number;
  numClasses: number;
  dModel: number;
  depth: number;
  dState: number;
  dConv: number;
  expand: number;
  dtRank: number;
  /** Largest stochastic-depth rate, reached by the last layer (rates rise linearly from 0). */
  dropPath: number;
  normEps: number;
}

export type VimConfigOptions = Partial<VimConfig> &
  Pick<VimConfig, 'imageSize' | 'patchSize' | 'dModel' | 'depth' | 'numClasses'>;

/** Patches per side for an image size, patch size and stride (PatchEmbed's grid_size). */
export function patchGrid(imageSize: number, patchSize: number, stride: number): number {
  return Math.floor((imageSize - patchSize) / stride) + 1;
}

/** What Vim and ViT share, read and checked once: the image, the patch grid, the classes, width, depth and stochastic depth. */
export function imageClassifierFields(f: Fields) {
  const c = {
    imageSize: f.int('imageSize', IMAGE_SIZE),
    patchSize: f.int('patchSize', IMAGE_SIZE),
    stride: 0,
    channels: f.int('channels', CHANNELS, 3),
    numClasses: f.int('numClasses', CLASSES),
    dModel: f.int('dModel', WIDTH),
    depth: f.int('depth', DEPTH),
    dropPath: f.number('dropPath', RATE, 0),
  };
  c.stride = f.int('stride', IMAGE_SIZE, c.patchSize);
  if (c.patchSize > c.imageSize)
    throw new MambaError(`${f.source}: patchSize ${c.patchSize} is larger than the ${c.imageSize}-pixel image`);
  if (c.stride > c.patchSize)
    throw new MambaError(
      `${f.source}: a stride of ${c.stride} skips pixels between ${c.patchSize}-pixel patches; use a stride <= patchSize`,
    );
  if (c.dropPath === 1) throw new MambaError(`${f.source}: dropPath must be in [0, 1), got 1`);
  return c;
}

/** A width times a multiplier (Mamba's expand, an MLP ratio) is a layer's width: it must come out whole. */
export function checkWholeWidth(f: Fields, key: string, multiplier: number, dModel: number, what: string): void {
  if (!Number.isInteger(multiplier * dModel))
    throw new MambaError(
      `${f.source}: ${key} * dModel is ${what} and must be an integer, got ${multiplier} * ${dModel}; choose ${key} so that it is`,
    );
}

/**
 * Fills in the reference defaults (d_state 16, d_conv 4, expand 2, dt_rank ceil(d/16), RMSNorm eps
 * 1e-5, 3 channels) and checks the rest, through the same reader as a config.json; `source` names
 * the file (or the call) in errors.
 */
export function vimConfig(options: VimConfigOptions, source = 'Vim config'): VimConfig {
  const f = Fields.of(options, source, 'a Vim config');
  const image = imageClassifierFields(f);
  const config: VimConfig = {
    ...image,
    dState: f.int('dState', STATE_SIZE, 16),
    dConv: f.int('dConv', CONV_KERNEL, 4),
    expand: f.number('expand', MULTIPLIER, 2),
    dtRank: f.int('dtRank', WIDTH, Math.ceil(image.dModel / 16)),
    normEps: f.number('normEps', EPSILON, 1e-5),
  };
  checkWholeWidth(f, 'expand', config.expand, config.dModel, "the mixer's inner width");
  return config;
}

/**
 * The published sizes at 224x224 with 16x16 patches and 1000 classes (docs/mamba-spec.md §4), and the
 * small ones this project trains on two cores (their figures are in the README). Drop path: 0 for
 * Tiny and 0.05 for Small as in the reference scripts, 0.1 (main.py's default) for Base.
 */
export const VIM_PRESETS = {
  'vim-ti': {
    imageSize: 224,
    patchSize: 16,
    channels: 3,
    numClasses: 1000,
    dModel: 192,
    depth: 24,
    dState: 16,
    dropPath: 0,
  },
  'vim-s': {
    imageSize: 224,
    patchSize: 16,
    channels: 3,
    numClasses: 1000,
    dModel: 384,
    depth: 24,
    dState: 16,
    dropPath: 0.05,
  },
  'vim-b': {
    imageSize: 224,
    patchSize: 16,
    channels: 3,
    numClasses: 1000,
    dModel: 768,
    depth: 24,
    dState: 16,
    dropPath: 0.1,
  },
  /** MNIST in a quarter of an hour on two cores: 7x7 patches of 4x4 pixels. */
  'vim-mnist': {
    imageSize: 28,
    patchSize: 4,
    channels: 1,
    numClasses: 10,
    dModel: 64,
    depth: 4,
    dState: 8,
    dropPath: 0,
  },
  /** The sklearn 8x8 digits in seconds: 4x4 patches of 2x2 pixels. */
  'vim-digits': {
    imageSize: 8,
    patchSize: 2,
    channels: 1,
    numClasses: 10,
    dModel: 32,
    depth: 2,
    dState: 4,
    dropPath: 0,
  },
} as const satisfies Record<string, VimConfigOptions>;

export type VimPreset = keyof typeof VIM_PRESETS;

/** A preset's config, with any field overridden (e.g. the classes of another data set). */
export function vimPreset(name: string, overrides: Partial<VimConfig> = {}): VimConfig {
  const preset = (VIM_PRESETS as Record<string, VimConfigOptions>)[name];
  if (!preset) throw new MambaError(`unknown Vim preset '${name}'; available: ${Object.keys(VIM_PRESETS).join(', ')}`);
  return vimConfig({ ...preset, ...overrides });
}

/** The index of the class token in Vim's sequence: the middle of the patches (token_position = M // 2). */
export function vimClassTokenPosition(config: Pick<VimConfig, 'imageSize' | 'patchSize' | 'stride'>): number {
  return Math.floor(patchGrid(config.imageSize, config.patchSize, config.stride) ** 2 / 2);
}

/**
 * Stochastic depth (DropPath): in training, each sample's branch is zeroed with probability p and
 * the kept ones scaled by 1/(1-p); otherwise x itself.
 */
export function dropPath(x: Tensor, p: number, training: boolean, generator: Generator): Tensor {
  if (!training || p === 0) return x;
  const batch = x.shape[0]!;
  const mask = new Float32Array(batch);
  for (let b = 0; b < batch; b++) mask[b] = generator.uniform() >= p ? 1 / (1 - p) : 0;
  return mul(x, fromArray(mask, [batch, ...x.shape.slice(1).map(() => 1)], { dtype: x.dtype, backend: x.backend }));
}

/** Rates rising linearly from 0 to `max` over `depth` layers (torch.linspace(0, max, depth)). */
export function dropPathRates(max: number, depth: number): number[] {
  return Array.from({ length: depth }, (_, i) => (depth === 1 ? 0 : (max * i) / (depth - 1)));
}

/** Images [B, C, H, W] to patch tokens [B, M, D] through a strided convolution (`patch_embed.proj`). */
export class PatchEmbed extends Module {
  readonly proj: Conv2d;

  constructor(channels: number, dModel: number, patchSize: number, stride: number, options: InitOptions) {
    super();
    this.proj = this.module('proj', new Conv2d(channels, dModel, patchSize, { stride, generator: options.generator }));
  }

  forward(images: Tensor): Tensor {
    const grid = this.proj.forward(images);
    const [batch, dim, h, w] = grid.shape as [number, number, number, number];
    return transpose(reshape(grid, [batch, dim, h * w]), 1, 2);
  }
}

/** The image input every classifier checks: float [B, channels, size, size]. */
export function checkImages(what: string, images: Tensor, config: { imageSize: number; channels: number }): void {
  const { imageSize: s, channels: c } = config;
  const ok =
    images.rank === 4 &&
    images.shape[1] === c &&
    images.shape[2] === s &&
    images.shape[3] === s &&
    images.dtype !== 'int32';
  if (!ok)
    throw new MambaError(
      `${what}: expected float images [batch, ${c}, ${s}, ${s}], got ${images.dtype} ${formatShape(images.shape)}`,
    );
}

/** Add -> RMSNorm -> mixer, returning the mixer's output; the residual stream is carried by the model (docs/mamba-spec.md §4). */
export class VimBlock extends Module {
  readonly mixer: BiMambaMixer;
  readonly norm: RMSNorm;

  constructor(mixer: MambaMixerConfig, eps: number, options: InitOptions) {
    super();
    this.mixer = this.module('mixer', new BiMambaMixer(mixer, options));
    this.norm = this.module('norm', new RMSNorm(mixer.dModel, eps));
  }
}

/** The settings of Vim's mixers. */
export function vimMixerConfig(config: VimConfig): MambaMixerConfig {
  return mambaMixerConfig({
    dModel: config.dModel,
    dState: config.dState,
    dConv: config.dConv,
    expand: config.expand,
    dtRank: config.dtRank,
    bias: false,
    convBias: true,
  });
}

/**
 * Vision Mamba (Zhu et al. 2024) as hustvl/Vim builds it (the "bimambav2 ... midclstok div2"
 * models): patch embedding, a class token inserted in the middle of the patch sequence, learned
 * absolute positions, `depth` blocks of bidirectional Mamba (Add -> RMSNorm -> BiMamba with
 * stochastic depth on each mixer's output), a final Add -> RMSNorm, and a linear head on the class
 * token. Parameter names are the reference's (`patch_embed.proj.weight`, `cls_token`,
 * `pos_embed`, `layers.0.mixer.x_proj_b.weight`, `norm_f.weight`, `head.weight`), and so is the
 * initialisation.
 */
export class Vim extends Module implements ImageClassifier {
  readonly modelType = 'vim';
  readonly config: VimConfig;
  readonly patchEmbed: PatchEmbed;
  readonly clsToken: Tensor;
  readonly posEmbed: Tensor;
  readonly layers: ModuleList<VimBlock>;
  readonly normF: RMSNorm;
  readonly head: Linear;
  /** Index of the class token in the sequence of numPatches + 1 tokens. */
  readonly tokenPosition: number;
  readonly numPatches: number;
  private readonly generator: Generator;

  constructor(config: VimConfigOptions, options: InitOptions = {}) {
    super();
    this.config = vimConfig(config);
    const c = this.config;
    this.generator = options.generator ?? defaultGenerator;
    const g = { generator: this.generator };
    this.numPatches = patchGrid(c.imageSize, c.patchSize, c.stride) ** 2;
    this.tokenPosition = vimClassTokenPosition(c);
    this.patchEmbed = this.module('patch_embed', new PatchEmbed(c.channels, c.dModel, c.patchSize, c.stride, g));
    this.clsToken = this.param('cls_token', normal([1, 1, c.dModel], 0.02, this.generator), { noWeightDecay: true });
    this.posEmbed = this.param('pos_embed', normal([1, this.numPatches + 1, c.dModel], 0.02, this.generator), {
      noWeightDecay: true,
    });
    const mixer = vimMixerConfig(c);
    this.layers = this.module(
      'layers',
      new ModuleList(Array.from({ length: c.depth }, () => new VimBlock(mixer, c.normEps, g))),
    );
    this.normF = this.module('norm_f', new RMSNorm(c.dModel, c.normEps));
    this.head = this.module('head', new Linear(c.dModel, c.numClasses, g));
    if (isInitialising()) reinitialise(this, this.generator);
  }

  forward(images: Tensor, options: { generator?: Generator } = {}): Tensor {
    return linear(this.features(images, options), this.head.weight, this.head.bias);
  }

  /** The class token's hidden state after the final norm [B, dModel]: what the head reads. */
  features(images: Tensor, options: { generator?: Generator } = {}): Tensor {
    checkImages('Vim', images, this.config);
    const generator = options.generator ?? this.generator;
    const rates = dropPathRates(this.config.dropPath, this.config.depth);
    return scope(() => {
      const patches = this.patchEmbed.forward(images);
      const [batch, , dim] = patches.shape as [number, number, number];
      const pos = this.tokenPosition;
      const cls = expand(this.clsToken, [batch, 1, dim]);
      let hidden = add(concat([slice(patches, 1, 0, pos), cls, slice(patches, 1, pos)], 1), this.posEmbed);
      let residual: Tensor | null = null;
      // Block i adds the previous mixer's output to the residual stream, so mixer i's output is
      // dropped with rate i of the linear schedule (the reference's inter_dpr = [0] + dpr).
      for (let i = 0; i < this.layers.length; i++) {
        const block = this.layers.at(i);
        const { out, sum } = addRmsNorm(
          residual ? dropPath(hidden, rates[i - 1]!, this.training, generator) : hidden,
          residual,
          block.norm.weight,
          block.norm.eps,
        );
        residual = sum;
        hidden = block.mixer.forward(out);
      }
      // The norm is per token and only the class token is read, so only its row is normed.
      const row = (t: Tensor) => slice(t, 1, pos, pos + 1);
      const last = dropPath(row(hidden), rates[rates.length - 1]!, this.training, generator);
      return reshape(addRmsNorm(last, row(residual!), this.normF.weight, this.normF.eps).out, [batch, dim]);
    });
  }
}

/**
 * N(0, std) cut at +-2 std: timm's lecun_normal_ (truncated normal with variance 1/fan_in, its std
 * divided by 0.8796 to make up for the cut).
 */
function truncatedNormal(shape: readonly number[], std: number, g: Generator): Float32Array {
  const out = new Float32Array(shape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < out.length; i++) {
    let v: number;
    do v = g.normal();
    while (Math.abs(v) > 2);
    out[i] = v * std;
  }
  return out;
}

/**
 * The reference's initialisation after construction: segm_init_weights on the patch embedding
 * (lecun_normal weight, zero bias) and the head (N(0, 0.02) weight, zero bias; timm's trunc_normal_
 * cuts at +-2 absolute, 100 std out, so it never cuts), then Mamba's _init_weights: each out_proj
 * re-drawn from PyTorch's default and divided by sqrt(depth). cls_token and pos_embed are N(0, 0.02)
 * from construction.
 */
function reinitialise(model: Vim, g: Generator): void {
  scope(() => {
    const proj = model.patchEmbed.proj;
    const fanIn = proj.weight.shape.slice(1).reduce((a, b) => a * b, 1);
    proj.weight.write(truncatedNormal(proj.weight.shape, Math.sqrt(1 / fanIn) / 0.87962566103423978, g));
    proj.bias!.write(new Float32Array(proj.bias!.size));
    model.head.weight.write(normal(model.head.weight.shape, 0.02, g).toArray());
    model.head.bias!.write(new Float32Array(model.head.bias!.size));
    const depth = model.config.depth;
    for (const block of model.layers) {
      const w = block.mixer.outProj.weight;
      w.write(uniform(w.shape, defaultBound(w.shape[1]!) / Math.sqrt(depth), g).toArray());
    }
  });
}
