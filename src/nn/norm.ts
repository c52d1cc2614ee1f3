import { instanceNorm, layerNorm, rmsNorm } from '../ops/norm.js';
import type { Tensor } from '../tensor/tensor.js';
import { constant } from './init.js';
import { Module, NO_DECAY, type Layer } from './module.js';

/** Layer norm over the last axis; weight 1 and bias 0 as in PyTorch. */
export class LayerNorm extends Module implements Layer {
  readonly weight: Tensor | null;
  readonly bias: Tensor | null;

  constructor(
    readonly normalizedShape: number,
    readonly options: { eps?: number; elementwiseAffine?: boolean; bias?: boolean } = {},
  ) {
    super();
    const affine = options.elementwiseAffine ?? true;
    this.weight = affine ? this.param('weight', constant([normalizedShape], 1), NO_DECAY) : null;
    this.bias = affine && (options.bias ?? true) ? this.param('bias', constant([normalizedShape], 0), NO_DECAY) : null;
  }

  forward(x: Tensor): Tensor {
    return layerNorm(x, this.weight, this.bias, this.options.eps ?? 1e-5);
  }
}

/** RMS norm over the last axis with a weight initialised to 1 (Mamba's norm; eps 1e-5). */
export class RMSNorm extends Module implements Layer {
  readonly weight: Tensor;

  constructor(
    readonly dim: number,
    readonly eps = 1e-5,
  ) {
    super();
    this.weight = this.param('weight', constant([dim], 1), NO_DECAY);
  }

  forward(x: Tensor): Tensor {
    return rmsNorm(x, this.weight, this.eps);
  }
}

/** Instance norm over [B, C, ...spatial]; like PyTorch, not affine unless asked. */
export class InstanceNorm extends Module implements Layer {
  readonly weight: Tensor | null;
  readonly bias: Tensor | null;

  constructor(
    readonly numFeatures: number,
    readonly options: { eps?: number; affine?: boolean } = {},
  ) {
    super();
    this.weight = options.affine ? this.param('weight', constant([numFeatures], 1), NO_DECAY) : null;
    this.bias = options.affine ? this.param('bias', constant([numFeatures], 0), NO_DECAY) : null;
  }

  forward(x: Tensor): Tensor {
    return instanceNorm(x, this.weight, this.bias, this.options.eps ?? 1e-5);
  }
}
