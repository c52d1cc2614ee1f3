import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as mt from '../../src/index.js';
import { assertClose, checkGrad, f64 } from '../helpers.js';

/** Prefix sums on the host along `axis` of a row-major array. */
function prefixSums(values: ArrayLike<number>, shape: number[], axis: number): number[] {
  const out = Array.from(values);
  const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const n = shape[axis]!;
  const outer = out.length / (n * inner);
  for (let o = 0; o < outer; o++)
    for (let i = 1; i < n; i++)
      for (let j = 0; j < inner; j++) out[(o * n + i) * inner + j]! += out[(o * n + i - 1) * inner + j]!;
  return out;
}

describe('cumsum', () => {
  it('equals prefix sums along any axis, for lengths that are and are not powers of two', () => {
    for (const shape of [[1], [2], [7], [33, 3], [4, 9, 5], [3, 16, 2]]) {
      for (let axis = 0; axis < shape.length; axis++) {
        const x = mt.randn(shape, { generator: new mt.Generator(shape.length * 10 + axis) });
        assertClose(
          mt.cumsum(x, axis).toArray(),
          prefixSums(x.toArray(), shape, axis),
          1e-5,
          `shape ${JSON.stringify(shape)} axis ${axis}`,
        );
      }
    }
  });

  it('counts exactly: prefix sums of ones are the positions', () => {
    assert.deepEqual(
      Array.from(mt.cumsum(mt.ones([1000]), -1).toArray()),
      Array.from({ length: 1000 }, (_, i) => i + 1),
    );
  });

  it('has the gradient of finite differences (float64)', () => {
    checkGrad((x) => mt.cumsum(x, 1), [f64([3, 6, 2], 1)]);
    checkGrad((x) => mt.cumsum(x, 0), [f64([5], 2)]);
  });
});
