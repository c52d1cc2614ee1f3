import { Conv2d } from '../nn/conv.js';
import type { InitOptions } from '../nn/init.js';
import { Module, ModuleList } from '../nn/module.js';
import { InstanceNorm, LayerNorm } from '../nn/norm.js';
import { add, leakyRelu } from '../ops/elementwise.js';
import { concat } from '../ops/shape-ops.js';
import { reshape, transpose } from '../ops/view.js';
import { MambaMixer } from '../ssm/mamba-mixer.js';
import type { Tensor } from '../tensor/tensor.js';
import { MambaError } from '../util/errors.js';
import { mambaMixerConfig } from '../ssm/mixer-config.js';
import { LEAKY_SLOPE, segmentationHeads, stageFields, upsampleNearest2x, UShapedNetwork } from './unet.js';
import { Fields, range } from '../util/schema.js';
import { BLOCKS, CONV_KERNEL, MULTIPLIER, STATE_SIZE } from './config-limits.js';

/**
 * U-Mamba (Ma, Li, Wang 2024; bowang-lab/U-Mamba, UMambaBot_2d.py and UMambaEnc_2d.py), 2D.
 *
 * Kept from the reference: residual blocks conv3x3-IN-LeakyReLU-conv3x3-IN + skip (a strided 1x1
 * conv in the first block of each stage, identity after), LeakyReLU; the deeper half of encoder
 * stages and the finer half of decoder stages reduced to one block; the Mamba layer as LayerNorm
 * then Mamba over the H*W positions flattened row by row (x.reshape(B, C, H*W).transpose), with
 * no residual around it; decoder upsampling by nearest neighbour plus a 1x1 conv; affine instance
 * norm with eps 1e-5; 1x1 segmentation heads with nnU-Net's deep supervision.
 *
 * Changed, and why: the separate full-resolution stem is left out (the first stage already maps
 * the input channels with its 1x1 projection, and two more convs at full resolution, the costliest
 * layers, would buy little); every decoder stage concatenates its skip, the full-resolution one
 * included (nnU-Net's own decoders do; the U-Mamba 2D code drops the last skip); the 1x1 conv of
 * the upsampling runs before the nearest-neighbour copy, which gives the same values for a
 * quarter of the work; U-Mamba_Enc puts a Mamba layer after every encoder stage as the paper
 * describes (the 2D code alternates stages), and always uses spatial tokens (the code switches to
 * channel tokens when a feature map has fewer positions than channels, which ties a model to one
 * input size).
 */

export type UMambaVariant = 'bot' | 'enc';

export interface UMambaConfig {
  inChannels: number;
  classes: number;
  /** Channels of each resolution stage, finest first. */
  features: number[];
  /** Residual blocks in each encoder stage, finest first. */
  encoderBlocks: number[];
  /** Residual blocks in each decoder stage, coarsest first (one fewer stage than the encoder). */
  decoderBlocks: number[];
  variant: UMambaVariant;
  /** Encoder stages whose output goes through a Mamba layer: the last for Bot, all for Enc. */
  mambaStages: number[];
  dState: number;
  dConv: number;
  expand: number;
  deepSupervision: boolean;
}

export interface UMambaOptions {
  inChannels?: number;
  classes: number;
  features: number[];
  variant: UMambaVariant;
  /** Residual blocks in the finer half of the stages (the reference: 2). */
  blocks?: number;
  dState?: number;
  dConv?: number;
  expand?: number;
  deepSupervision?: boolean;
}

/** The reference's layout for a given depth: `blocks` residual blocks in the finer half of the encoder and the coarser half of the decoder, one elsewhere. */
export function umambaConfig(o: UMambaOptions): UMambaConfig {
  const n = o.features.length;
  const blocks = o.blocks ?? 2;
  return {
    inChannels: o.inChannels ?? 1,
    classes: o.classes,
    features: [...o.features],
    encoderBlocks: o.features.map((_, s) => (s < Math.ceil(n / 2) ? blocks : 1)),
    decoderBlocks: Array.from({ length: n - 1 }, (_, j) => (j < Math.ceil((n - 1) / 2 + 0.5) ? blocks : 1)),
    variant: o.variant,
    mambaStages: o.variant === 'bot' ? [n - 1] : o.features.map((_, s) => s),
    dState: o.dState ?? 16,
    dConv: o.dConv ?? 4,
    expand: o.expand ?? 2,
    deepSupervision: o.deepSupervision ?? true,
  };
}

const VARIANTS: readonly UMambaVariant[] = ['bot', 'enc'];

/** A U-Mamba config read and checked, from code or from config.json's "network" (`f` names the source): block counts per stage, Mamba stages among them. */
export function umambaConfigFrom(f: Fields): UMambaConfig {
  const shared = stageFields(f);
  const n = shared.features.length;
  return {
    ...shared,
    encoderBlocks: f.ints('encoderBlocks', range(n, n), BLOCKS),
    decoderBlocks: f.ints('decoderBlocks', range(n - 1, n - 1), BLOCKS),
    variant: f.choice('variant', VARIANTS),
    mambaStages: f.ints('mambaStages', range(1, n), range(0, n - 1)),
    dState: f.int('dState', STATE_SIZE),
    dConv: f.int('dConv', CONV_KERNEL),
    expand: f.number('expand', MULTIPLIER),
  };
}

/** Two 3x3 conv-instance-norm layers with a residual connection: BasicResBlock / BasicBlockD of the reference. */
export class ResidualBlock extends Module {
  readonly conv1: Conv2d;
  readonly norm1: InstanceNorm;
  readonly conv2: Conv2d;
  readonly norm2: InstanceNorm;
  /** The 1x1 (strided) projection of the skip path, when the block changes width or resolution. */
  readonly conv3: Conv2d | null;

  constructor(inChannels: number, outChannels: number, stride: number, project: boolean, options: InitOptions = {}) {
    super();
    if (!project && (inChannels !== outChannels || stride !== 1))
      throw new MambaError('ResidualBlock: a block that changes channels or resolution needs the 1x1 projection');
    const g = options.generator;
    this.conv1 = this.module('conv1', new Conv2d(inChannels, outChannels, 3, { stride, padding: 1, generator: g }));
    this.norm1 = this.module('norm1', new InstanceNorm(outChannels, { affine: true }));
    this.conv2 = this.module('conv2', new Conv2d(outChannels, outChannels, 3, { padding: 1, generator: g }));
    this.norm2 = this.module('norm2', new InstanceNorm(outChannels, { affine: true }));
    this.conv3 = project
      ? this.module('conv3', new Conv2d(inChannels, outChannels, 1, { stride, generator: g }))
      : null;
  }

  forward(x: Tensor): Tensor {
    const y = leakyRelu(this.norm1.forward(this.conv1.forward(x)), LEAKY_SLOPE);
    const z = this.norm2.forward(this.conv2.forward(y));
    return leakyRelu(add(z, this.conv3 ? this.conv3.forward(x) : x), LEAKY_SLOPE);
  }
}

/**
 * LayerNorm then Mamba over the spatial positions of a feature map [B, C, H, W]: the map is
 * flattened to a sequence of H*W tokens of C channels (row by row), and the result is reshaped back.
 */
export class MambaLayer extends Module {
  readonly norm: LayerNorm;
  readonly mamba: MambaMixer;

  constructor(
    readonly dim: number,
    options: { dState: number; dConv: number; expand: number } & InitOptions,
  ) {
    super();
    this.norm = this.module('norm', new LayerNorm(dim));
    const config = mambaMixerConfig({
      dModel: dim,
      dState: options.dState,
      dConv: options.dConv,
      expand: options.expand,
    });
    this.mamba = this.module('mamba', new MambaMixer(config, { generator: options.generator }));
  }

  forward(x: Tensor): Tensor {
    const [b, c, h, w] = x.shape as [number, number, number, number];
    const tokens = transpose(reshape(x, [b, c, h * w]), 1, 2);
    const out = this.mamba.forward(this.norm.forward(tokens));
    return reshape(transpose(out, 1, 2), [b, c, h, w]);
  }
}

class ResidualStage extends Module {
  readonly blocks: ModuleList<ResidualBlock>;

  constructor(inChannels: number, outChannels: number, count: number, stride: number, options: InitOptions) {
    super();
    const list = Array.from({ length: count }, (_, i) =>
      i === 0
        ? new ResidualBlock(inChannels, outChannels, stride, true, options)
        : new ResidualBlock(outChannels, outChannels, 1, false, options),
    );
    this.blocks = this.module('blocks', new ModuleList(list));
  }

  forward(x: Tensor): Tensor {
    let h = x;
    for (const b of this.blocks) h = b.forward(h);
    return h;
  }
}

/** An encoder stage: residual blocks, then (where the variant puts one) the Mamba layer. Together, the paper's U-Mamba block. */
class EncoderStage extends ResidualStage {
  readonly mamba: MambaLayer | null;

  constructor(
    inChannels: number,
    outChannels: number,
    count: number,
    stride: number,
    mamba: { dState: number; dConv: number; expand: number } | null,
    options: InitOptions,
  ) {
    super(inChannels, outChannels, count, stride, options);
    this.mamba = mamba ? this.module('mamba', new MambaLayer(outChannels, { ...mamba, ...options })) : null;
  }

  override forward(x: Tensor): Tensor {
    const h = super.forward(x);
    return this.mamba ? this.mamba.forward(h) : h;
  }
}

class DecoderStage extends ResidualStage {
  readonly upsample: Conv2d;

  constructor(below: number, channels: number, count: number, options: InitOptions) {
    super(2 * channels, channels, count, 1, options);
    this.upsample = this.module('upsample', new Conv2d(below, channels, 1, { generator: options.generator }));
  }

  /** Upsamples the coarser features, joins the skip, and runs the residual blocks. */
  decode(coarse: Tensor, skip: Tensor): Tensor {
    return this.forward(concat([upsampleNearest2x(this.upsample.forward(coarse)), skip], 1));
  }
}

/** U-Mamba_Bot (one Mamba layer at the bottleneck) or U-Mamba_Enc (one after every encoder stage). */
export class UMamba extends UShapedNetwork {
  readonly encoder: ModuleList<EncoderStage>;
  readonly decoder: ModuleList<DecoderStage>;
  readonly segLayers: ModuleList<Conv2d>;

  constructor(
    readonly config: UMambaConfig,
    options: InitOptions = {},
  ) {
    super(umambaConfigFrom(Fields.of(config, 'UMamba config')));
    const { features, classes, inChannels, encoderBlocks, decoderBlocks, mambaStages } = config;
    const mamba = { dState: config.dState, dConv: config.dConv, expand: config.expand };
    this.encoder = this.module(
      'encoder',
      new ModuleList(
        features.map(
          (f, s) =>
            new EncoderStage(
              s === 0 ? inChannels : features[s - 1]!,
              f,
              encoderBlocks[s]!,
              s === 0 ? 1 : 2,
              mambaStages.includes(s) ? mamba : null,
              options,
            ),
        ),
      ),
    );
    const skips = features.slice(0, -1).reverse();
    const below = features.slice(1).reverse();
    this.decoder = this.module(
      'decoder',
      new ModuleList(skips.map((f, j) => new DecoderStage(below[j]!, f, decoderBlocks[j]!, options))),
    );
    this.segLayers = this.module('seg_layers', segmentationHeads(features, classes, config.deepSupervision, options));
  }

  protected decode(stage: number, coarse: Tensor, skip: Tensor): Tensor {
    return this.decoder.at(stage).decode(coarse, skip);
  }
}
