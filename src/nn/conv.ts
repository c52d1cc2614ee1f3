import { conv1d, conv2d, convTranspose2d, maxPool2d, avgPool2d, type Pool2dOptions } from '../ops/conv.js';
import type { Tensor } from '../tensor/tensor.js';
import { MambaError } from '../util/errors.js';
import { defaultBound, uniform, type InitOptions } from './init.js';
import { Module, NO_DECAY, type Layer } from './module.js';

type Pair = number | readonly [number, number];

function pair(v: Pair): [number, number] {
  return typeof v === 'number' ? [v, v] : [v[0], v[1]];
}

export interface ConvOptions extends InitOptions {
  stride?: Pair;
  padding?: Pair;
  dilation?: Pair;
  groups?: number;
  bias?: boolean;
}

/**
 * Weight and optional bias of a convolution, initialised as PyTorch does: U(+-1/sqrt(fan_in))
 * with fan_in = weight.size(1) * kernel area (for a transposed conv, that is out/groups).
 */
abstract class ConvLayer extends Module implements Layer {
  readonly weight: Tensor;
  readonly bias: Tensor | null;

  protected constructor(
    name: string,
    inChannels: number,
    outChannels: number,
    weightShape: number[],
    options: InitOptions & { groups?: number; bias?: boolean },
  ) {
    super();
    const groups = options.groups ?? 1;
    if (!Number.isInteger(groups) || groups < 1 || inChannels % groups !== 0 || outChannels % groups !== 0) {
      throw new MambaError(
        `${name}: groups = ${groups} must divide both ${inChannels} input and ${outChannels} output channels`,
      );
    }
    const bound = defaultBound(weightShape.slice(1).reduce((a, b) => a * b, 1));
    this.weight = this.param('weight', uniform(weightShape, bound, options.generator));
    this.bias =
      (options.bias ?? true) ? this.param('bias', uniform([outChannels], bound, options.generator), NO_DECAY) : null;
  }

  abstract forward(x: Tensor): Tensor;
}

/** PyTorch's nn.Conv1d: weight [out, in/groups, kernel]. */
export class Conv1d extends ConvLayer {
  constructor(
    inChannels: number,
    outChannels: number,
    kernelSize: number,
    readonly options: InitOptions & {
      stride?: number;
      padding?: number;
      dilation?: number;
      groups?: number;
      bias?: boolean;
    } = {},
  ) {
    super('Conv1d', inChannels, outChannels, [outChannels, inChannels / (options.groups ?? 1), kernelSize], options);
  }

  forward(x: Tensor): Tensor {
    return conv1d(x, this.weight, this.bias, this.options);
  }
}

/** PyTorch's nn.Conv2d: weight [out, in/groups, kH, kW]. */
export class Conv2d extends ConvLayer {
  constructor(
    inChannels: number,
    outChannels: number,
    kernelSize: Pair,
    readonly options: ConvOptions = {},
  ) {
    super(
      'Conv2d',
      inChannels,
      outChannels,
      [outChannels, inChannels / (options.groups ?? 1), ...pair(kernelSize)],
      options,
    );
  }

  forward(x: Tensor): Tensor {
    return conv2d(x, this.weight, this.bias, this.options);
  }
}

/** PyTorch's nn.ConvTranspose2d: weight [in, out/groups, kH, kW]. */
export class ConvTranspose2d extends ConvLayer {
  constructor(
    inChannels: number,
    outChannels: number,
    kernelSize: Pair,
    readonly options: ConvOptions & { outputPadding?: Pair } = {},
  ) {
    super(
      'ConvTranspose2d',
      inChannels,
      outChannels,
      [inChannels, outChannels / (options.groups ?? 1), ...pair(kernelSize)],
      options,
    );
  }

  forward(x: Tensor): Tensor {
    return convTranspose2d(x, this.weight, this.bias, this.options);
  }
}

/** 2D max pooling over [N, C, H, W] as a module (maxPool2d with fixed kernel, stride and padding). */
export class MaxPool2d extends Module implements Layer {
  constructor(
    readonly kernelSize: Pair,
    readonly options: Pool2dOptions = {},
  ) {
    super();
  }

  forward(x: Tensor): Tensor {
    return maxPool2d(x, this.kernelSize, this.options);
  }
}

/** 2D average pooling over [N, C, H, W] as a module (avgPool2d with fixed kernel, stride and padding). */
export class AvgPool2d extends Module implements Layer {
  constructor(
    readonly kernelSize: Pair,
    readonly options: Pool2dOptions = {},
  ) {
    super();
  }

  forward(x: Tensor): Tensor {
    return avgPool2d(x, this.kernelSize, this.options);
  }
}
