import { Conv2d, ConvTranspose2d } from '../nn/conv.js';
import { withoutInitialisation, type InitOptions } from '../nn/init.js';
import { Module, ModuleList } from '../nn/module.js';
import { InstanceNorm } from '../nn/norm.js';
import { leakyRelu } from '../ops/elementwise.js';
import { concat } from '../ops/shape-ops.js';
import { expand, reshape } from '../ops/view.js';
import type { Tensor } from '../tensor/tensor.js';
import { ShapeError } from '../util/errors.js';
import { Fields } from '../util/schema.js';
import { BLOCKS, CHANNELS, CLASSES, STAGES } from './config-limits.js';

/** nnU-Net's nonlinearity: LeakyReLU with slope 0.01. */
export const LEAKY_SLOPE = 0.01;

/** What the segmentation trainer, evaluation and CLI need from a 2D network. */
export interface SegmentationNetwork extends Module {
  readonly classes: number;
  readonly inChannels: number;
  /** Height and width of an input must be multiples of this (2 to the number of downsamplings). */
  readonly divisor: number;
  /** Whether forwardAll returns one output per decoder stage. */
  readonly deepSupervision: boolean;
  /** Logits [B, classes, H, W] for images [B, inChannels, H, W]. */
  forward(x: Tensor): Tensor;
  /** Logits of every segmentation head, full resolution first, then each coarser decoder stage. */
  forwardAll(x: Tensor): Tensor[];
}

function checkInput(net: SegmentationNetwork, x: Tensor): void {
  const [, channels, h, w] = x.shape;
  if (x.rank !== 4 || channels !== net.inChannels || h! % net.divisor !== 0 || w! % net.divisor !== 0) {
    throw new ShapeError(
      `${net.constructor.name}: input [${x.shape.join(', ')}] must be [batch, ${net.inChannels}, H, W] with H and W multiples of ${net.divisor}; pad the image first`,
    );
  }
}

/** Conv 3x3 (or 1x1), instance norm (affine, eps 1e-5), LeakyReLU: nnU-Net's ConvDropoutNormReLU without dropout. */
export class ConvNormAct extends Module {
  readonly conv: Conv2d;
  readonly norm: InstanceNorm;

  constructor(inChannels: number, outChannels: number, stride: number, options: InitOptions = {}) {
    super();
    this.conv = this.module(
      'conv',
      new Conv2d(inChannels, outChannels, 3, { stride, padding: 1, generator: options.generator }),
    );
    this.norm = this.module('norm', new InstanceNorm(outChannels, { affine: true }));
  }

  forward(x: Tensor): Tensor {
    return leakyRelu(this.norm.forward(this.conv.forward(x)), LEAKY_SLOPE);
  }
}

/** Nearest-neighbour upsampling by 2 in both spatial axes: each value copied into a 2x2 block. */
export function upsampleNearest2x(x: Tensor): Tensor {
  const [b, c, h, w] = x.shape as [number, number, number, number];
  return reshape(expand(reshape(x, [b, c, h, 1, w, 1]), [b, c, h, 2, w, 2]), [b, c, 2 * h, 2 * w]);
}

/**
 * nnU-Net's deep-supervision weights for `outputs` heads (full resolution first): 1/2^i, the
 * coarsest head weighted 0, normalised to sum to 1.
 */
export function deepSupervisionWeights(outputs: number): number[] {
  const raw = Array.from({ length: outputs }, (_, i) => (outputs > 1 && i === outputs - 1 ? 0 : 1 / 2 ** i));
  const total = raw.reduce((a, b) => a + b, 0);
  return raw.map((w) => w / total);
}

export interface UNetConfig {
  inChannels: number;
  classes: number;
  /** Channels of each resolution stage, finest first; the number of stages fixes the depth. */
  features: number[];
  /** Conv-norm-act layers per stage, encoder and decoder alike (nnU-Net: 2). */
  convsPerStage: number;
  deepSupervision: boolean;
}

/** What U-Net and U-Mamba share, read and checked once: the stages' channels, the classes, the input and the heads. */
export function stageFields(f: Fields) {
  return {
    inChannels: f.int('inChannels', CHANNELS),
    classes: f.int('classes', CLASSES),
    features: f.ints('features', STAGES, CHANNELS),
    deepSupervision: f.bool('deepSupervision'),
  };
}

/** A U-Net config read and checked, from code or from config.json's "network" (`f` names the source). */
export function unetConfigFrom(f: Fields): UNetConfig {
  return { ...stageFields(f), convsPerStage: f.int('convsPerStage', BLOCKS) };
}

/** The 1x1 heads that turn decoder features into logits: one per decoder stage with deep supervision, else the full-resolution one only. */
export function segmentationHeads(
  features: readonly number[],
  classes: number,
  deepSupervision: boolean,
  options: InitOptions,
): ModuleList<Conv2d> {
  const skips = features.slice(0, -1).reverse();
  const heads = deepSupervision ? skips : skips.slice(-1);
  return new ModuleList(heads.map((f) => new Conv2d(f, classes, 1, { generator: options.generator })));
}

/**
 * What U-Net and U-Mamba share: every encoder stage's output is kept as a skip, the decoder joins
 * them coarsest first (each network's `decode`), and the 1x1 heads read the decoder. Subclasses
 * build the stages and the heads.
 */
export abstract class UShapedNetwork extends Module implements SegmentationNetwork {
  abstract readonly encoder: ModuleList<Module & { forward(x: Tensor): Tensor }>;
  abstract readonly segLayers: ModuleList<Conv2d>;
  readonly classes: number;
  readonly inChannels: number;
  readonly divisor: number;
  readonly deepSupervision: boolean;

  constructor(shape: { features: number[]; classes: number; inChannels: number; deepSupervision: boolean }) {
    super();
    this.classes = shape.classes;
    this.inChannels = shape.inChannels;
    this.divisor = 2 ** (shape.features.length - 1);
    this.deepSupervision = shape.deepSupervision;
  }

  /** Decoder stage `stage` (coarsest first): the coarser features and the encoder's skip to the decoded features. */
  protected abstract decode(stage: number, coarse: Tensor, skip: Tensor): Tensor;

  forwardAll(x: Tensor): Tensor[] {
    return this.pass(x, this.deepSupervision);
  }

  forward(x: Tensor): Tensor {
    return this.pass(x, false)[0]!;
  }

  /** With `all`, every head's logits (finest first); otherwise only the full-resolution head runs. */
  private pass(x: Tensor, all: boolean): Tensor[] {
    checkInput(this, x);
    const skips: Tensor[] = [];
    let h = x;
    for (const stage of this.encoder) {
      h = stage.forward(h);
      skips.push(h);
    }
    const stages = skips.length - 1;
    const outputs: Tensor[] = [];
    for (let j = 0; j < stages; j++) {
      h = this.decode(j, h, skips[stages - 1 - j]!);
      if (all) outputs.push(this.segLayers.at(j).forward(h));
    }
    if (!all) outputs.push(this.segLayers.at(-1).forward(h));
    return outputs.reverse();
  }
}

class PlainStage extends Module {
  readonly convs: ModuleList<ConvNormAct>;

  constructor(inChannels: number, outChannels: number, count: number, stride: number, options: InitOptions) {
    super();
    const layers = Array.from(
      { length: count },
      (_, i) => new ConvNormAct(i === 0 ? inChannels : outChannels, outChannels, i === 0 ? stride : 1, options),
    );
    this.convs = this.module('convs', new ModuleList(layers));
  }

  forward(x: Tensor): Tensor {
    let h = x;
    for (const c of this.convs) h = c.forward(h);
    return h;
  }
}

/**
 * The plain 2D U-Net of nnU-Net (PlainConvUNet): each encoder stage is `convsPerStage`
 * conv-norm-LeakyReLU layers, the first with stride 2 from the second stage on; each decoder
 * stage upsamples with a 2x2 transposed conv of stride 2, concatenates the encoder's skip, and
 * runs `convsPerStage` layers; a 1x1 conv per decoder stage gives the logits.
 */
export class UNet extends UShapedNetwork {
  readonly encoder: ModuleList<PlainStage>;
  readonly upsample: ModuleList<ConvTranspose2d>;
  readonly decoder: ModuleList<PlainStage>;
  readonly segLayers: ModuleList<Conv2d>;

  constructor(
    readonly config: UNetConfig,
    options: InitOptions = {},
  ) {
    super(unetConfigFrom(Fields.of(config, 'UNet config')));
    const { features, convsPerStage, classes, inChannels } = config;
    this.encoder = this.module(
      'encoder',
      new ModuleList(
        features.map(
          (f, s) => new PlainStage(s === 0 ? inChannels : features[s - 1]!, f, convsPerStage, s === 0 ? 1 : 2, options),
        ),
      ),
    );
    // Decoder stage j works at the resolution of encoder stage n-2-j (coarsest first).
    const skips = features.slice(0, -1).reverse();
    const below = features.slice(1).reverse();
    this.upsample = this.module(
      'upsample',
      new ModuleList(
        skips.map((f, j) => new ConvTranspose2d(below[j]!, f, 2, { stride: 2, generator: options.generator })),
      ),
    );
    this.decoder = this.module(
      'decoder',
      new ModuleList(skips.map((f) => new PlainStage(2 * f, f, convsPerStage, 1, options))),
    );
    this.segLayers = this.module('seg_layers', segmentationHeads(features, classes, config.deepSupervision, options));
  }

  protected decode(stage: number, coarse: Tensor, skip: Tensor): Tensor {
    return this.decoder.at(stage).forward(concat([this.upsample.at(stage).forward(coarse), skip], 1));
  }
}

/**
 * The U-Net with channels (base, 2 base, 4 base, ...) whose parameter count comes closest to
 * `parameters`: a baseline of the same size as another network.
 */
export function unetConfigForParameters(
  parameters: number,
  o: Omit<UNetConfig, 'features'> & { stages: number },
): UNetConfig {
  let best: UNetConfig | null = null;
  let bestGap = Infinity;
  for (let base = 1; base <= 256; base++) {
    const config: UNetConfig = {
      inChannels: o.inChannels,
      classes: o.classes,
      convsPerStage: o.convsPerStage,
      deepSupervision: o.deepSupervision,
      features: Array.from({ length: o.stages }, (_, s) => base * 2 ** s),
    };
    const net = withoutInitialisation(() => new UNet(config));
    const count = net.numParameters();
    net.dispose();
    if (Math.abs(count - parameters) < bestGap) {
      best = config;
      bestGap = Math.abs(count - parameters);
    }
    if (count > parameters) break;
  }
  return best!;
}
