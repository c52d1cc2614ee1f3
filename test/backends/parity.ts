import assert from 'node:assert/strict';
import * as mt from '../../src/index.js';
import { assertClose } from '../helpers.js';
import { fastBackends } from './fast-backends.js';

// Cross-backend checks: the same op on the same inputs on every fast backend and on the
// reference backend.
const reference = mt.getBackend('reference');

export interface InputSpec {
  shape: number[];
  /** Uniform range of float values (default [-2, 2]). */
  range?: [number, number];
  /** int32 values uniform in [0, int). */
  int?: number;
  /** Exact values instead of random ones. */
  values?: number[];
  /** Whether to compare this input's gradient (floats only; default true). */
  grad?: boolean;
}

function values(spec: InputSpec, g: mt.Generator): number[] {
  if (spec.values) return spec.values;
  const n = spec.shape.reduce((a, b) => a * b, 1);
  if (spec.int !== undefined) return Array.from({ length: n }, () => g.int(spec.int!));
  const [lo, hi] = spec.range ?? [-2, 2];
  return Array.from({ length: n }, () => lo + (hi - lo) * g.uniform());
}

function make(spec: InputSpec, data: number[], backend: mt.Backend): mt.Tensor {
  if (spec.int !== undefined) return mt.fromArray(new Int32Array(data), spec.shape, { backend });
  return mt.fromArray(new Float32Array(data), spec.shape, { backend, requiresGrad: spec.grad ?? true });
}

function outputsOf(r: mt.Tensor | mt.Tensor[] | { values: mt.Tensor; indices: mt.Tensor }): mt.Tensor[] {
  if (Array.isArray(r)) return r;
  if (r instanceof mt.Tensor) return [r];
  return [r.values, r.indices];
}

export interface ParityOptions {
  /** Relative tolerance (scaled by 1 + |expected|). */
  tol?: number;
  gradTol?: number;
  seed?: number;
  /** Skip the backward comparison. */
  forwardOnly?: boolean;
}

/**
 * Runs op on freshly made inputs on every backend and asserts that outputs, and the gradients
 * of the inputs under a random upstream gradient, match the reference backend.
 */
export function checkParity(
  op: (...xs: mt.Tensor[]) => mt.Tensor | mt.Tensor[] | { values: mt.Tensor; indices: mt.Tensor },
  specs: InputSpec[],
  options: ParityOptions = {},
): void {
  const { tol = 1e-5, gradTol = tol * 4, seed = 1, forwardOnly = false } = options;
  const g = new mt.Generator(seed);
  const data = specs.map((s) => values(s, g));
  const run = (backend: mt.Backend) =>
    mt.scope(() => {
      const inputs = specs.map((s, i) => make(s, data[i]!, backend));
      const outs = outputsOf(op(...inputs));
      const forward = outs.map((o) => ({ shape: [...o.shape], values: Array.from(o.toArray()) }));
      const grads: (number[] | null)[] = [];
      const differentiable = outs.filter((o) => o.requiresGrad);
      if (!forwardOnly && differentiable.length > 0) {
        const ug = new mt.Generator(seed + 1);
        const loss = differentiable
          .map((o) =>
            mt.sum(
              mt.mul(
                o,
                mt.fromArray(
                  new Float32Array(o.size).map(() => ug.uniform() * 2 - 1),
                  o.shape,
                  { backend },
                ),
              ),
            ),
          )
          .reduce((a, b) => mt.add(a, b));
        loss.backward();
        for (const t of inputs) grads.push(t.grad ? Array.from(t.grad.toArray()) : null);
        for (const t of inputs) t.grad?.dispose();
      }
      return { forward, grads };
    });
  const expected = run(reference);
  for (const { label, backend } of fastBackends) {
    const actual = run(backend);
    assert.equal(actual.forward.length, expected.forward.length);
    actual.forward.forEach((o, i) => {
      assert.deepEqual(o.shape, expected.forward[i]!.shape, `${label}: output ${i} shape`);
      assertClose(o.values, expected.forward[i]!.values, tol, `${label}: output ${i}`);
    });
    actual.grads.forEach((gr, i) => {
      if (specs[i]!.grad === false || specs[i]!.int !== undefined) return;
      assert.equal(gr === null, expected.grads[i] === null, `${label}: gradient ${i} presence`);
      if (gr) assertClose(gr, expected.grads[i]!, gradTol, `${label}: gradient of input ${i}`);
    });
  }
}

/** Every backend, the reference first. */
export const allBackends = [reference, ...fastBackends.map((b) => b.backend)];

/** The message each backend throws for fn (or 'no error'), reference first. */
export function errorsOf(fn: (backend: mt.Backend) => void): string[] {
  return allBackends.map((backend) => {
    try {
      mt.scope(() => fn(backend));
      return 'no error';
    } catch (e) {
      return (e as Error).message;
    }
  });
}
