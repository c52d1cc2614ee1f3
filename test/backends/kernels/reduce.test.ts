import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as mt from '../../../src/index.js';
import { checkParity } from '../parity.js';

describe('reductions agree with the reference backend on every fast backend', () => {
  const cases: [number[], number[]][] = [
    [[7], [0]],
    [[3, 5], [1]],
    [[3, 5], [0]],
    [
      [3, 5],
      [0, 1],
    ],
    [[2, 1, 9], [1]],
    [[2, 1, 9], [2]],
    [[4, 6, 5], [1]],
    [
      [4, 6, 5],
      [0, 2],
    ],
    [
      [2, 3, 4, 5],
      [1, 3],
    ],
    [
      [2, 3, 4, 5],
      [0, 1, 2, 3],
    ],
    [[33, 17], [0]],
    [[33, 17], [1]],
    [[5, 37, 19], [0]],
    [[1], [0]],
  ];
  const ops: [string, (x: mt.Tensor, axes: number[]) => mt.Tensor][] = [
    ['sum', (x, axes) => mt.sum(x, axes)],
    ['mean', (x, axes) => mt.mean(x, axes, true)],
    ['max', (x, axes) => mt.max(x, axes)],
    ['min', (x, axes) => mt.min(x, axes, true)],
  ];
  for (const [name, fn] of ops) {
    it(`${name} over axes of contiguous tensors, and its gradient`, () => {
      for (const [shape, axes] of cases) checkParity((x) => fn(x, axes), [{ shape }]);
    });
    it(`${name} over transposed, sliced, flipped and broadcast views`, () => {
      checkParity((x) => fn(mt.transpose(x), [0]), [{ shape: [9, 13] }]);
      checkParity((x) => fn(mt.transpose(x), [1]), [{ shape: [9, 13] }]);
      checkParity((x) => fn(mt.permute(x, [2, 0, 1]), [0, 2]), [{ shape: [6, 7, 10] }]);
      checkParity((x) => fn(mt.permute(x, [1, 2, 0]), [1]), [{ shape: [21, 5, 3] }]);
      checkParity((x) => fn(mt.slice(x, 1, 1, 20, 3), [1]), [{ shape: [5, 22] }]);
      checkParity((x) => fn(mt.slice(x, 0, 0, 9, 2), [0]), [{ shape: [9, 18] }]);
      checkParity((x) => fn(mt.flip(x, [0, 1]), [0]), [{ shape: [11, 6] }]);
      checkParity((x) => fn(mt.expand(x, [4, 3, 10]), [0, 2]), [{ shape: [3, 1] }]);
      checkParity((x) => fn(mt.expand(x, [6, 17]), [0]), [{ shape: [17] }]);
    });
  }

  it('long sums stay within float32 accuracy of the float64 reference', () => {
    checkParity((x) => mt.sum(x, [1]), [{ shape: [3, 100003], range: [-1, 3] }], { tol: 2e-6 });
    checkParity((x) => mt.sum(x, [0]), [{ shape: [4001, 37], range: [-1, 3] }], { tol: 2e-6 });
    checkParity((x) => mt.sum(mt.transpose(x), [1]), [{ shape: [20001, 9], range: [-1, 3] }], { tol: 2e-6 });
    checkParity((x) => mt.sum(x), [{ shape: [400, 501] }], { tol: 2e-6 });
  });

  it('large reductions split across threads', () => {
    checkParity((x) => mt.max(x, [1]), [{ shape: [300, 301] }]);
    checkParity((x) => mt.sum(x, [0]), [{ shape: [300, 301] }]);
    checkParity((x) => mt.min(mt.transpose(x), [1]), [{ shape: [300, 301] }]);
  });

  it('sums over an empty axis are zero, and an empty output is fine', () => {
    checkParity((x) => mt.sum(x, [1]), [{ shape: [3, 0, 4] }]);
    checkParity((x) => mt.sum(x), [{ shape: [0, 5] }]);
    checkParity((x) => mt.sum(x, [1]), [{ shape: [0, 5] }]);
    checkParity((x) => mt.max(x, [1]), [{ shape: [0, 5] }]);
  });

  it('max and min propagate NaN and share gradients between ties', () => {
    const values = [1, NaN, 3, 2, 5, 5, 0, 5, -1, 4, 4, NaN, 7, 7, 7, 7, 2, 9, 9, 1, 0, 0, 0, 0];
    for (const op of [mt.max, mt.min]) {
      checkParity((x) => op(x, [1]), [{ shape: [3, 8], values }], { forwardOnly: true });
      checkParity((x) => op(x, [0]), [{ shape: [3, 8], values }], { forwardOnly: true });
      checkParity((x) => op(x, [0, 1]), [{ shape: [3, 8], values }], { forwardOnly: true });
      checkParity((x) => op(x, [1]), [{ shape: [4, 6], values: values.map((v) => (Number.isNaN(v) ? 3 : v)) }]);
      checkParity((x) => op(x, [0]), [{ shape: [4, 6], values: values.map((v) => (Number.isNaN(v) ? 3 : v)) }]);
    }
  });

  it('int32 reductions take the reference path and agree', () => {
    checkParity((x) => mt.sum(x, [1]), [{ shape: [4, 9], int: 1000 }], { forwardOnly: true });
    checkParity((x) => mt.max(x, [0]), [{ shape: [4, 9], int: 1000 }], { forwardOnly: true });
  });
});

/** Small integers in a scrambled order: rows full of ties. */
function fewValues(shape: number[], distinct: number): number[] {
  const n = shape.reduce((a, b) => a * b, 1);
  return Array.from({ length: n }, (_, i) => ((i * 2654435761) >>> 7) % distinct);
}

describe('argmax, argmin and topk agree with the reference backend on every fast backend', () => {
  const shapes: [number[], number | undefined][] = [
    [[7], 0],
    [[3, 50], 1],
    [[3, 50], 0],
    [[4, 9, 6], 1],
    [[4, 9, 6], 2],
    [[2, 5, 3], 0],
    [[5, 4], undefined],
    [[1, 1], 1],
    [[2, 50000], 1],
  ];
  for (const op of [mt.argmax, mt.argmin]) {
    it(`${op === mt.argmax ? 'argmax' : 'argmin'} along an axis, first occurrence on ties, first NaN wins`, () => {
      for (const [shape, axis] of shapes) checkParity((x) => op(x, axis), [{ shape }]);
      // Few distinct values: many ties, across lanes and within them.
      for (const [shape, axis] of shapes)
        checkParity((x) => op(x, axis), [{ shape, values: fewValues(shape, 3) }], { forwardOnly: true });
      const values = [0, 1, NaN, 1, 2, NaN, 0, 0, 3, 3, 1, 2, 3, 0, 0, 0, 4, 4, 4, NaN];
      checkParity((x) => op(x, 1), [{ shape: [2, 10], values }], { forwardOnly: true });
      checkParity((x) => op(x, 0), [{ shape: [2, 10], values }], { forwardOnly: true });
      checkParity((x) => op(x, 1), [{ shape: [1, 20], values }], { forwardOnly: true });
      const columns = [1, 2, 3, 4, 5, 6, 7, 8, NaN, 0, 9, 4, NaN, 6, 1, 8, 2, NaN, 9, NaN, 5, 7, NaN, 8];
      checkParity((x) => op(x, 0), [{ shape: [3, 8], values: columns }], { forwardOnly: true });
      checkParity(
        (x) => op(x, 1),
        [{ shape: [1, 16], values: values.slice(0, 16).map((v) => (Number.isNaN(v) ? -Infinity : v)) }],
        { forwardOnly: true },
      );
      checkParity(
        (x) => op(x, 1),
        [{ shape: [1, 9], values: new Array<number>(9).fill(op === mt.argmax ? -Infinity : Infinity) }],
        { forwardOnly: true },
      );
    });
  }

  it('topk: sorted values and indices, ties keep the lower index, gradient through scatterAdd', () => {
    checkParity((x) => mt.topk(x, 5), [{ shape: [3, 50000] }]);
    checkParity((x) => mt.topk(x, 7, -1, false), [{ shape: [4, 33] }]);
    checkParity((x) => mt.topk(x, 3, 0), [{ shape: [9, 4] }]);
    checkParity((x) => mt.topk(x, 11), [{ shape: [2, 11] }]);
    checkParity((x) => mt.topk(x, 0), [{ shape: [2, 6] }]);
    checkParity((x) => mt.topk(x, 6), [{ shape: [5, 40], values: fewValues([5, 40], 4) }], { forwardOnly: true });
    checkParity((x) => mt.topk(x, 9, 1, false), [{ shape: [5, 40], values: fewValues([5, 40], 4) }], {
      forwardOnly: true,
    });
    checkParity((x) => mt.topk(x, 2), [{ shape: [2, 5], values: [1, 0, -0, 1, 0.5, 2, 2, 1, 2, 0] }], {
      forwardOnly: true,
    });
  });

  it('the reference topk, a heap selection, equals a full sort with ties to the lower index', () => {
    const reference = mt.getBackend('reference');
    const g = new mt.Generator(3);
    const cases: [number, number, number, number[] | null][] = [
      [4, 1000, 7, null],
      [5, 40, 9, fewValues([5, 40], 4)],
      [3, 33, 33, fewValues([3, 33], 2)],
      [2, 6, 1, null],
      [1, 5, 5, [0, -0, 0, -0, 1]],
    ];
    for (const [rows, cols, k, given] of cases) {
      const data = given ?? Array.from({ length: rows * cols }, () => g.uniform() * 4 - 2);
      for (const largest of [true, false]) {
        const sign = largest ? -1 : 1;
        const expected = Array.from({ length: rows }, (_, r) =>
          Array.from({ length: cols }, (_, c) => c)
            .sort((a, b) => sign * (data[r * cols + a]! - data[r * cols + b]!) || a - b)
            .slice(0, k),
        ).flat();
        const { indices } = mt.topk(
          mt.fromArray(new Float32Array(data), [rows, cols], { backend: reference }),
          k,
          -1,
          largest,
        );
        assert.deepEqual(Array.from(indices.toArray()), expected, `${rows}x${cols}, k = ${k}, largest = ${largest}`);
      }
    }
  });

  it('topk rows holding NaN follow the reference', () => {
    checkParity((x) => mt.topk(x, 3), [{ shape: [2, 6], values: [1, NaN, 3, 2, 0, 5, 4, 3, 2, 1, 0, -1] }], {
      forwardOnly: true,
    });
  });

  it('int32 argmax and topk work too', () => {
    checkParity((x) => mt.argmax(x, 1), [{ shape: [3, 40], int: 7 }], { forwardOnly: true });
    checkParity((x) => mt.topk(x, 4), [{ shape: [3, 40], int: 7 }], { forwardOnly: true });
  });
});
