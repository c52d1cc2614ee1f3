import { full, rand, randn } from '../ops/create.js';
import { defaultGenerator, type Generator } from '../tensor/random.js';
import type { Tensor } from '../tensor/tensor.js';

/** What a module's constructor needs to create its parameters reproducibly. */
export interface InitOptions {
  generator?: Generator;
}

let skipping = false;

/**
 * Builds modules without drawing their initial values (parameters start at zero): for models
 * whose weights are about to be loaded, where random initialisation would only cost time.
 */
export function withoutInitialisation<T>(build: () => T): T {
  const before = skipping;
  skipping = true;
  try {
    return build();
  } finally {
    skipping = before;
  }
}

/** False inside withoutInitialisation, where parameters are made as zeros because weights will be loaded over them. */
export function isInitialising(): boolean {
  return !skipping;
}

/** A parameter drawn from U(-bound, bound) (zeros, undrawn, inside withoutInitialisation). */
export function uniform(shape: readonly number[], bound: number, generator: Generator = defaultGenerator): Tensor {
  return skipping ? full(shape, 0) : rand(shape, { low: -bound, high: bound, generator });
}

/** A parameter drawn from N(0, std^2) (zeros, undrawn, inside withoutInitialisation). */
export function normal(shape: readonly number[], std: number, generator: Generator = defaultGenerator): Tensor {
  return skipping ? full(shape, 0) : randn(shape, { std, generator });
}

/** A parameter filled with `value` (e.g. norm weights 1, biases 0). */
export function constant(shape: readonly number[], value: number): Tensor {
  return full(shape, value);
}

/**
 * PyTorch's default for Linear and Conv weights, kaiming_uniform(a = sqrt(5)), which reduces to
 * U(-1/sqrt(fan_in), 1/sqrt(fan_in)); their biases use the same bound.
 */
export function defaultBound(fanIn: number): number {
  return fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
}
