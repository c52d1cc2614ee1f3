import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as mt from '../../../src/index.js';
import { allBackends as backends, checkParity, errorsOf } from '../parity.js';

describe('softmax and log-softmax agree with the reference backend on every fast backend', () => {
  const shapes = [[7], [3, 5], [2, 1, 9], [4, 33], [1, 1], [3, 4, 12], [2, 1]];
  for (const [name, fn] of [
    ['softmax', mt.softmax],
    ['logSoftmax', mt.logSoftmax],
  ] as const) {
    it(`${name} over the last axis, and its gradient`, () => {
      for (const shape of shapes) checkParity((x) => fn(x), [{ shape, range: [-8, 8] }], { tol: 2e-6 });
    });
    it(`${name} over other axes, wide ranges, long rows and many rows`, () => {
      checkParity((x) => fn(x, 0), [{ shape: [6, 5] }], { tol: 2e-6 });
      checkParity((x) => fn(x, 1), [{ shape: [3, 10, 4] }], { tol: 2e-6 });
      checkParity((x) => fn(x), [{ shape: [3, 9], range: [-60, 60] }], { tol: 2e-6 });
      checkParity((x) => fn(x), [{ shape: [2, 50001], range: [-10, 10] }], { tol: 2e-6 });
      checkParity((x) => fn(x), [{ shape: [300, 301] }], { tol: 2e-6 });
    });
    it(`${name} of an empty tensor`, () => {
      checkParity((x) => fn(x), [{ shape: [0, 5] }]);
      checkParity((x) => fn(x), [{ shape: [4, 0] }]);
    });
  }

  it('softmax gives masked (-inf) entries zero weight; NaN rows stay NaN', () => {
    const values = [0.5, -Infinity, 1, 2, -Infinity, -Infinity, 3, 0, -1, 2, 1, 0.25];
    checkParity((x) => mt.softmax(x), [{ shape: [2, 6], values }]);
    checkParity((x) => mt.softmax(x), [{ shape: [2, 5], values: [1, NaN, 2, 3, 4, 0, 1, 2, 3, 4] }], {
      forwardOnly: true,
    });
    checkParity((x) => mt.logSoftmax(x), [{ shape: [2, 5], values: [1, NaN, 2, 3, 4, 0, 1, 2, 3, 4] }], {
      forwardOnly: true,
    });
    checkParity(
      (x) => mt.softmax(x),
      [{ shape: [1, 5], values: [-Infinity, -Infinity, -Infinity, -Infinity, -Infinity] }],
      { forwardOnly: true },
    );
  });
});

describe('cross-entropy agrees with the reference backend on every fast backend', () => {
  const ce = (options: mt.CrossEntropyOptions) => (x: mt.Tensor, t: mt.Tensor) => mt.crossEntropy(x, t, options);

  it('per-row, summed and mean losses with their gradients', () => {
    for (const reduction of ['none', 'sum', 'mean'] as const) {
      checkParity(
        ce({ reduction }),
        [
          { shape: [5, 10], range: [-5, 5] },
          { shape: [5], int: 10 },
        ],
        { tol: 2e-6 },
      );
      checkParity(ce({ reduction }), [{ shape: [2, 3, 7] }, { shape: [2, 3], int: 7 }], { tol: 2e-6 });
      checkParity(ce({ reduction }), [{ shape: [1, 3] }, { shape: [1], int: 3 }], { tol: 2e-6 });
      checkParity(ce({ reduction }), [{ shape: [9, 1] }, { shape: [9], int: 1 }], { tol: 2e-6 });
    }
  });

  it('rows of a 50,000-class vocabulary, and many rows across threads', () => {
    checkParity(
      ce({ reduction: 'none' }),
      [
        { shape: [3, 50000], range: [-10, 10] },
        { shape: [3], int: 50000 },
      ],
      { tol: 2e-6 },
    );
    checkParity(
      ce({}),
      [
        { shape: [1, 50001], range: [-4, 4] },
        { shape: [1], int: 50001 },
      ],
      { tol: 2e-6 },
    );
    checkParity(
      ce({}),
      [
        { shape: [260, 301], range: [-30, 30] },
        { shape: [260], int: 301 },
      ],
      { tol: 2e-6 },
    );
  });

  it('ignoreIndex: ignored rows get zero loss and zero gradient', () => {
    const targets = [2, -100, 0, 4, -100, 1];
    checkParity(ce({ reduction: 'none' }), [{ shape: [6, 5] }, { shape: [6], int: 5, values: targets }]);
    checkParity(ce({}), [{ shape: [6, 5] }, { shape: [6], int: 5, values: targets }]);
    checkParity(ce({ ignoreIndex: 3 }), [{ shape: [6, 5] }, { shape: [6], int: 5, values: [3, 1, 3, 0, 4, 3] }]);
    checkParity(ce({ ignoreIndex: 0.5 }), [{ shape: [3, 4] }, { shape: [3], int: 4, values: [0, 1, 3] }]);
    checkParity(ce({ reduction: 'sum' }), [{ shape: [2, 7] }, { shape: [2], int: 7, values: [-100, -100] }]);
  });

  it('masked logits (-inf) away from the target', () => {
    const logits = [0, -Infinity, 2, 1, -Infinity, 3, -Infinity, -Infinity];
    checkParity(ce({ reduction: 'none' }), [
      { shape: [2, 4], values: logits },
      { shape: [2], int: 4, values: [2, 1] },
    ]);
  });

  it('a row of -inf has log-sum-exp -inf, and one with NaN among -inf has NaN, as in the reference', () => {
    const results = backends.map((backend) =>
      mt.scope(() => {
        const rows = [
          ...new Array<number>(5).fill(-Infinity),
          1,
          2,
          3,
          4,
          5,
          -Infinity,
          NaN,
          -Infinity,
          -Infinity,
          -Infinity,
        ];
        const logits = mt.fromArray(new Float32Array(rows), [3, 5], { backend });
        const targets = mt.fromArray(new Int32Array([-100, 2, -100]), [3], { backend });
        const loss = mt.zeros([3], { backend });
        const lse = mt.zeros([3], { backend });
        backend.crossEntropy(loss.view(), lse.view(), logits.view(), targets.view(), -100);
        return [...loss.toArray(), ...lse.toArray()];
      }),
    );
    assert.equal(results[0]![3], -Infinity);
    assert.ok(Number.isNaN(results[0]![5]));
    for (const r of results) assert.deepEqual(r, results[0]);
  });

  it('an out-of-range target gives the reference error on every backend', () => {
    for (const target of [5, -1, 7]) {
      const messages = errorsOf((backend) => {
        const logits = mt.fromArray(new Float32Array(15).fill(0.5), [3, 5], { backend, requiresGrad: true });
        const targets = mt.fromArray(new Int32Array([1, target, 0]), [3], { backend });
        mt.crossEntropy(logits, targets);
      });
      assert.match(messages[0]!, /target .* is out of range for 5 classes \(row 1\)/);
      for (const m of messages) assert.equal(m, messages[0]);
    }
  });

  it('the gradient kernel checks its targets too', () => {
    const messages = errorsOf((backend) => {
      const f32 = (n: number) => mt.fromArray(new Float32Array(n).fill(0.25), [n], { backend });
      const logits = mt.reshape(f32(8), [2, 4]);
      const targets = mt.fromArray(new Int32Array([0, 4]), [2], { backend });
      const dx = mt.zeros([2, 4], { backend });
      backend.crossEntropyGrad(dx.view(), logits.view(), f32(2).view(), targets.view(), f32(2).view(), -100);
    });
    assert.match(messages[0]!, /target 4 is out of range for 4 classes \(row 1\)/);
    for (const m of messages) assert.equal(m, messages[0]);
  });
});
