import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as mt from '../../../src/index.js';
import { checkParity } from '../parity.js';

describe('elementwise kernels agree with the reference backend on every fast backend', () => {
  const shapes = [[7], [3, 5], [2, 1, 9], [1], [0, 3], [33, 17]];
  const unary: [string, (x: mt.Tensor) => mt.Tensor, [number, number]][] = [
    ['neg', mt.neg, [-3, 3]],
    ['exp', mt.exp, [-10, 10]],
    ['log', mt.log, [0.01, 50]],
    ['sqrt', mt.sqrt, [0, 9]],
    ['rsqrt', mt.rsqrt, [0.1, 9]],
    ['abs', mt.abs, [-3, 3]],
    ['relu', mt.relu, [-3, 3]],
    ['leakyRelu', (x) => mt.leakyRelu(x, 0.1), [-3, 3]],
    ['gelu', (x) => mt.gelu(x), [-6, 6]],
    ['gelu tanh', (x) => mt.gelu(x, 'tanh'), [-6, 6]],
    ['silu', mt.silu, [-12, 12]],
    ['sigmoid', mt.sigmoid, [-20, 20]],
    ['tanh', mt.tanh, [-5, 5]],
    ['softplus', mt.softplus, [-30, 30]],
    ['softplus beta 3', (x) => mt.softplus(x, 3, 15), [-10, 10]],
    ['clamp', (x) => mt.clamp(x, -0.5, 1), [-2, 2]],
    ['pow 3', (x) => mt.pow(x, 3), [-2, 2]],
    ['pow -2', (x) => mt.pow(x, -2), [0.5, 2]],
    ['pow 0.7', (x) => mt.pow(x, 0.7), [0.1, 4]],
    ['affine', (x) => mt.affine(x, 1.5, -0.25), [-2, 2]],
  ];
  for (const [name, fn, range] of unary) {
    it(`${name} and its gradient`, () => {
      for (const shape of shapes) checkParity(fn, [{ shape, range }], { tol: 2e-6 });
    });
  }

  it('unary ops on strided and broadcast views', () => {
    checkParity((x) => mt.exp(mt.transpose(x)), [{ shape: [5, 7] }]);
    checkParity((x) => mt.tanh(mt.slice(x, 1, 1, 9, 3)), [{ shape: [4, 10] }]);
    checkParity((x) => mt.silu(mt.expand(x, [3, 4, 6])), [{ shape: [4, 1] }]);
    checkParity((x) => mt.sigmoid(mt.flip(x, [0, 1])), [{ shape: [3, 5] }]);
  });

  it('flip is a view with negative strides, read in place by the kernels', () => {
    const x = mt.randn([2, 3]);
    const flipped = mt.flip(x, 1);
    assert.equal(flipped.storage, x.storage);
    assert.deepEqual(flipped.strides, [3, -1]);
    assert.deepEqual(
      Array.from(flipped.toArray()),
      [2, 1, 0, 5, 4, 3].map((i) => x.toArray()[i]!),
    );
    checkParity((a, b) => mt.add(mt.flip(a, 1), b), [{ shape: [4, 6] }, { shape: [4, 6] }]);
    checkParity((a, b) => mt.matmul(mt.flip(a, 0), b), [{ shape: [5, 3] }, { shape: [3, 4] }]);
    checkParity((a) => mt.sum(mt.flip(a, [0, 1]), 1), [{ shape: [3, 9] }]);
  });

  const binary: [string, (a: mt.Tensor, b: mt.Tensor) => mt.Tensor, [number, number]][] = [
    ['add', mt.add, [-2, 2]],
    ['sub', mt.sub, [-2, 2]],
    ['mul', mt.mul, [-2, 2]],
    ['div', mt.div, [0.5, 3]],
    ['pow', mt.pow, [0.2, 2]],
    ['maximum', mt.maximum, [-2, 2]],
    ['minimum', mt.minimum, [-2, 2]],
    ['gt', mt.gt, [-2, 2]],
    ['le', mt.le, [-2, 2]],
    ['eq', (a, b) => mt.eq(mt.clamp(a, 0, 1), mt.clamp(b, 0, 1)), [-2, 2]],
  ];
  const pairs: [number[], number[]][] = [
    [[9], [9]],
    [[3, 5], [5]],
    [
      [3, 5],
      [3, 1],
    ],
    [
      [2, 3, 5],
      [1, 3, 1],
    ],
    [
      [6, 1],
      [1, 7],
    ],
    [[4, 4], []],
    [[0, 5], [5]],
  ];
  for (const [name, fn, range] of binary) {
    it(`${name} with broadcasting`, () => {
      for (const [sa, sb] of pairs)
        checkParity(
          fn,
          [
            { shape: sa, range },
            { shape: sb, range },
          ],
          { tol: 2e-6 },
        );
    });
  }

  it('pow of negative bases with integer exponents, and zero exponents', () => {
    checkParity(
      mt.pow,
      [
        { shape: [6], values: [-2, -1.5, -3, 0, 2, -0.5] },
        { shape: [6], values: [3, 2, -1, 0, 0, 0.5] },
      ],
      { forwardOnly: true },
    );
  });

  it('where, copy between dtypes, fill', () => {
    checkParity((c, a, b) => mt.where(c, a, b), [{ shape: [3, 4], int: 2 }, { shape: [3, 4] }, { shape: [4] }]);
    checkParity((c, a) => mt.where(mt.gt(c, 0), a, 0.5), [{ shape: [5, 1] }, { shape: [5, 3] }]);
    checkParity((x) => mt.cast(mt.cast(x, 'int32'), 'float32'), [{ shape: [4, 6], range: [-9, 9] }], {
      forwardOnly: true,
    });
    checkParity((x) => mt.cast(mt.add(mt.cast(x, 'float32'), 0.5), 'int32'), [{ shape: [7], int: 100 }], {
      forwardOnly: true,
    });
    checkParity((x) => mt.add(x, mt.full([3, 5], 2.5, { backend: x.backend })), [{ shape: [3, 5] }]);
    checkParity((x) => mt.concat([x, mt.pad(x, [[1, 2]], -1)], 1), [{ shape: [2, 3] }]);
  });

  it('int32 arithmetic goes through the reference code and agrees', () => {
    checkParity(
      (a, b) => mt.add(mt.mul(a, b), a),
      [
        { shape: [4, 3], int: 50 },
        { shape: [3], int: 50 },
      ],
      { forwardOnly: true },
    );
  });

  it('large tensors split across threads give the same result', () => {
    checkParity((a, b) => mt.mul(mt.exp(a), b), [{ shape: [300, 301] }, { shape: [301] }], { tol: 2e-6 });
  });
});
