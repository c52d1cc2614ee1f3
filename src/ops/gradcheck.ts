import { backward, noGrad } from '../tensor/autograd.js';
import { Generator } from '../tensor/random.js';
import { keep, scope } from '../tensor/scope.js';
import type { Tensor } from '../tensor/tensor.js';
import { MambaError } from '../util/errors.js';
import { fromArray } from './create.js';
import { add, mul } from './elementwise.js';
import { sum } from './reduce.js';

export interface GradcheckOptions {
  /** Finite-difference step. */
  eps?: number;
  atol?: number;
  rtol?: number;
  seed?: number;
}

export interface GradcheckResult {
  ok: boolean;
  /** Largest |analytic - numeric| - rtol * |numeric| over all checked elements. */
  worst: number;
  message: string;
}

/**
 * Compares the gradients backward() computes for fn with central finite differences. Use float64
 * inputs on the reference backend. The output is reduced against a fixed random weighting so
 * that every output element takes part.
 */
export function gradcheck(
  fn: (...inputs: Tensor[]) => Tensor | Tensor[],
  inputs: Tensor[],
  options: GradcheckOptions = {},
): GradcheckResult {
  const { eps = 1e-6, atol = 1e-6, rtol = 1e-5, seed = 1 } = options;
  for (const t of inputs) {
    if (!t.isContiguous || t.gradFn !== null) throw new MambaError('gradcheck: inputs must be contiguous leaf tensors');
  }
  const weights: Tensor[] = [];
  const generator = new Generator(seed);
  const objective = () =>
    scope(() => {
      const out = fn(...inputs);
      const outs = Array.isArray(out) ? out : [out];
      while (weights.length < outs.length) {
        const o = outs[weights.length]!;
        const w = new Float64Array(o.size).map(() => generator.uniform() * 2 - 1);
        weights.push(keep(fromArray(w, o.shape, { dtype: o.dtype, backend: o.backend })));
      }
      return outs.map((o, i) => sum(mul(o, weights[i]!))).reduce((a, b) => add(a, b));
    });
  try {
    for (const t of inputs) {
      t.grad?.dispose();
      t.grad = null;
    }
    const loss = objective();
    backward(loss);
    loss.dispose();
    let worst = -Infinity;
    let message = 'ok';
    inputs.forEach((t, which) => {
      if (!t.requiresGrad) return;
      const analytic = t.grad ? t.grad.toArray() : new Float64Array(t.size);
      const values = t.toArray();
      for (let i = 0; i < t.size; i++) {
        const at = (v: number) => {
          t.backend.write(t.storage.handle, t.dtype, t.offset + i, [v]);
          return noGrad(() => scope(() => objective().item()));
        };
        const plus = at(values[i]! + eps);
        const minus = at(values[i]! - eps);
        t.backend.write(t.storage.handle, t.dtype, t.offset + i, [values[i]!]);
        const numeric = (plus - minus) / (2 * eps);
        const error = Math.abs(analytic[i]! - numeric) - rtol * Math.abs(numeric);
        if (error > worst) {
          worst = error;
          if (error > atol) message = `input ${which}, element ${i}: analytic ${analytic[i]} vs numeric ${numeric}`;
        }
      }
    });
    return { ok: worst <= atol, worst, message };
  } finally {
    for (const w of weights) w.dispose();
  }
}
