import { linear } from '../ops/matmul.js';
import { embedding } from '../ops/indexing.js';
import { relu, gelu, silu, tanh, sigmoid } from '../ops/elementwise.js';
import { dropout } from '../ops/dropout.js';
import type { Tensor } from '../tensor/tensor.js';
import { defaultGenerator, type Generator } from '../tensor/random.js';
import { MambaError } from '../util/errors.js';
import { defaultBound, normal, uniform, type InitOptions } from './init.js';
import { Module, NO_DECAY, type Layer } from './module.js';

/** y = x W^T + b with weight [out, in] (PyTorch's nn.Linear and its initialisation). */
export class Linear extends Module implements Layer {
  readonly weight: Tensor;
  readonly bias: Tensor | null;

  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    options: InitOptions & { bias?: boolean } = {},
  ) {
    super();
    const bound = defaultBound(inFeatures);
    this.weight = this.param('weight', uniform([outFeatures, inFeatures], bound, options.generator));
    this.bias =
      (options.bias ?? true) ? this.param('bias', uniform([outFeatures], bound, options.generator), NO_DECAY) : null;
  }

  forward(x: Tensor): Tensor {
    return linear(x, this.weight, this.bias);
  }
}

/** A lookup table [num, dim] initialised N(0, 1), indexed by int32 ids. */
export class Embedding extends Module {
  readonly weight: Tensor;

  constructor(
    readonly numEmbeddings: number,
    readonly embeddingDim: number,
    options: InitOptions = {},
  ) {
    super();
    this.weight = this.param('weight', normal([numEmbeddings, embeddingDim], 1, options.generator));
  }

  forward(ids: Tensor): Tensor {
    return embedding(this.weight, ids);
  }
}

/** Zeroes elements with probability p in training mode (inverted dropout). */
export class Dropout extends Module implements Layer {
  constructor(
    readonly p = 0.5,
    private readonly generator: Generator = defaultGenerator,
  ) {
    super();
    if (!(p >= 0 && p <= 1)) throw new MambaError(`Dropout: p must be in [0, 1], got ${p}`);
  }

  forward(x: Tensor): Tensor {
    return dropout(x, this.p, this.training, this.generator);
  }
}

/** A parameter-free activation as a module, for Sequential. */
export class Activation extends Module implements Layer {
  private static readonly fns = { relu, gelu: (x: Tensor) => gelu(x), silu, tanh, sigmoid };

  constructor(readonly kind: keyof typeof Activation.fns) {
    super();
  }

  forward(x: Tensor): Tensor {
    return Activation.fns[this.kind](x);
  }
}
