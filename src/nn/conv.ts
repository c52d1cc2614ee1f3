import { conv1d, conv2d, convTranspose2d, maxPool2d, avgPool2d, type Pool2dOptions } from '../ops/conv.js';
import type { Tensor } from '../tensor/tensor.js';
import { MambaError } from '../util/errors.js';
import { defaultBound, uniform, type InitOptions } from './init.js';
import { Module, type Layer } from './module.js';

type Pair = number | readonly [number, number];

function pair(v: Pair): [number, number] {
  return typeof v === 'number' ? [v, v] : [v[0], v[1]];
}

function checkGroups(name: string, inChannels: number, outChannels: number, groups: number): void {
  if (!Number.isInteger(groups) || groups < 1 || inChannels % groups !== 0 || outChannels % groups !== 0) {
    throw new MambaError(`${name}: groups = ${groups} must divide both ${inChannels} input and ${outChannels} output channels`);
  }
}

export interface ConvOptions extends InitOptions {
  stride?: Pair;
  padding?: Pair;
  dilation?: Pair;
  groups?: number;
  bias?: boolean;
}

/** PyTorch's nn.Conv1d: weight [out, in/groups, kernel]. */
export class Conv1d extends Module implements Layer {
  readonly weight: Tensor;
  readonly bias: Tensor | null;

  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    readonly kernelSize: number,
    readonly options: Omit<ConvOptions, 'stride' | 'padding' | 'dilation'> & { stride?: number; padding?: number; dilation?: number } = {},
  ) {
    super();
    const groups = options.groups ?? 1;
    checkGroups('Conv1d', inChannels, outChannels, groups);
    const bound = defaultBound((inChannels / groups) * kernelSize);
    this.weight = this.param('weight', uniform([outChannels, inChannels / groups, kernelSize], bound, options.generator));
    this.bias = options.bias ?? true ? this.param('bias', uniform([outChannels], bound, options.generator)) : null;
  }

  forward(x: Tensor): Tensor {
    return conv1d(x, this.weight, this.bias, this.options);
  }
}

/** PyTorch's nn.Conv2d: weight [out, in/groups, kH, kW]. */
export class Conv2d extends Module implements Layer {
  readonly weight: Tensor;
  readonly bias: Tensor | null;

  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    kernelSize: Pair,
    readonly options: ConvOptions = {},
  ) {
    super();
    const groups = options.groups ?? 1;
    checkGroups('Conv2d', inChannels, outChannels, groups);
    const [kh, kw] = pair(kernelSize);
    const bound = defaultBound((inChannels / groups) * kh * kw);
    this.weight = this.param('weight', uniform([outChannels, inChannels / groups, kh, kw], bound, options.generator));
    this.bias = options.bias ?? true ? this.param('bias', uniform([outChannels], bound, options.generator)) : null;
  }

  forward(x: Tensor): Tensor {
    return conv2d(x, this.weight, this.bias, this.options);
  }
}

/** PyTorch's nn.ConvTranspose2d: weight [in, out/groups, kH, kW]. */
export class ConvTranspose2d extends Module implements Layer {
  readonly weight: Tensor;
  readonly bias: Tensor | null;

  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    kernelSize: Pair,
    readonly options: ConvOptions & { outputPadding?: Pair } = {},
  ) {
    super();
    const groups = options.groups ?? 1;
    checkGroups('ConvTranspose2d', inChannels, outChannels, groups);
    const [kh, kw] = pair(kernelSize);
    // PyTorch computes the fan-in from weight.size(1), which is out/groups for a transposed conv.
    const bound = defaultBound((outChannels / groups) * kh * kw);
    this.weight = this.param('weight', uniform([inChannels, outChannels / groups, kh, kw], bound, options.generator));
    this.bias = options.bias ?? true ? this.param('bias', uniform([outChannels], bound, options.generator)) : null;
  }

  forward(x: Tensor): Tensor {
    return convTranspose2d(x, this.weight, this.bias, this.options);
  }
}

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
