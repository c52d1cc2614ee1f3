import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as mt from '../../../src/index.js';
import { allBackends as backends, checkParity, errorsOf } from '../parity.js';

function int32(backend: mt.Backend, values: number[], shape = [values.length]): mt.Tensor {
  return mt.fromArray(new Int32Array(values), shape, { backend });
}

function floats(backend: mt.Backend, shape: number[]): mt.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return mt.fromArray(
    Float32Array.from({ length: n }, (_, i) => i * 0.5 - 3),
    shape,
    { backend, requiresGrad: true },
  );
}

describe('indexSelect and indexAdd agree with the reference backend on every fast backend', () => {
  it('indexSelect along each axis with repeated indices; its gradient accumulates repeats', () => {
    const index = { shape: [6], int: 1, values: [2, 0, 2, 3, 2, 1] };
    checkParity((x, i) => mt.indexSelect(x, 0, i), [{ shape: [4, 5] }, index]);
    checkParity((x, i) => mt.indexSelect(x, 1, i), [{ shape: [3, 4, 7] }, index]);
    checkParity((x, i) => mt.indexSelect(x, 2, i), [{ shape: [2, 3, 4] }, index]);
    checkParity((x, i) => mt.indexSelect(x, 0, i), [{ shape: [4] }, index]);
    checkParity((x, i) => mt.indexSelect(x, 1, i), [{ shape: [2, 4, 33] }, index]);
    checkParity((x, i) => mt.indexSelect(mt.transpose(x), 0, i), [{ shape: [5, 4] }, index]);
    checkParity((x, i) => mt.indexSelect(x, 1, i), [{ shape: [3, 4, 5], int: 1000 }, index], { forwardOnly: true });
  });

  it('empty indices and empty rows', () => {
    checkParity((x, i) => mt.indexSelect(x, 0, i), [{ shape: [4, 5] }, { shape: [0], int: 4 }]);
    checkParity((x, i) => mt.indexSelect(x, 0, i), [{ shape: [4, 0] }, { shape: [3], int: 4 }]);
  });

  it('embedding lookups and their gradient, large enough to use every thread', () => {
    checkParity((w, ids) => mt.embedding(w, ids), [{ shape: [50, 16] }, { shape: [2, 7], int: 50 }]);
    checkParity((w, ids) => mt.embedding(w, ids), [{ shape: [300, 67] }, { shape: [4, 500], int: 40 }]);
    checkParity((w, ids) => mt.embedding(w, ids), [{ shape: [1000, 3] }, { shape: [3000], int: 1000 }]);
    checkParity((w, ids) => mt.embedding(w, ids), [{ shape: [4, 64] }, { shape: [3000], int: 4 }], { gradTol: 1e-4 });
  });

  it('indexAdd with repeated indices, float32 and int32, and its gradients', () => {
    const index = { shape: [5], int: 1, values: [1, 3, 1, 1, 0] };
    checkParity((x, i, s) => mt.indexAdd(x, 0, i, s), [{ shape: [4, 6] }, index, { shape: [5, 6] }]);
    checkParity((x, i, s) => mt.indexAdd(x, 1, i, s), [{ shape: [3, 4, 2] }, index, { shape: [3, 5, 2] }]);
    checkParity((x, i, s) => mt.indexAdd(x, 2, i, s), [{ shape: [2, 3, 4] }, index, { shape: [2, 3, 5] }]);
    checkParity((x, i, s) => mt.indexAdd(x, 0, i, s), [{ shape: [4, 300] }, index, { shape: [5, 300] }]);
    checkParity(
      (x, i, s) => mt.indexAdd(x, 1, i, s),
      [{ shape: [4, 6], int: 100 }, index, { shape: [4, 5], int: 100 }],
      { forwardOnly: true },
    );
  });
});

describe('gather and scatterAdd agree with the reference backend on every fast backend', () => {
  it('gather along each axis, with strided x and index, and its gradient', () => {
    checkParity((x, i) => mt.gather(x, 1, i), [{ shape: [3, 5] }, { shape: [3, 4], int: 5 }]);
    checkParity((x, i) => mt.gather(x, 0, i), [{ shape: [3, 5] }, { shape: [6, 5], int: 3 }]);
    checkParity((x, i) => mt.gather(x, 1, i), [{ shape: [4, 6, 3] }, { shape: [2, 9, 2], int: 6 }]);
    checkParity((x, i) => mt.gather(x, 2, i), [{ shape: [2, 3, 9] }, { shape: [2, 3, 1], int: 9 }]);
    checkParity((x, i) => mt.gather(mt.transpose(x), 1, i), [{ shape: [7, 4] }, { shape: [4, 5], int: 7 }]);
    checkParity((x, i) => mt.gather(x, 1, mt.transpose(i)), [{ shape: [5, 8] }, { shape: [3, 5], int: 8 }]);
    checkParity((x, i) => mt.gather(mt.slice(x, 1, 1, 9, 2), 1, i), [{ shape: [3, 9] }, { shape: [3, 6], int: 4 }]);
    checkParity((x, i) => mt.gather(x, 1, i), [{ shape: [300, 301] }, { shape: [300, 200], int: 301 }]);
    checkParity(
      (x, i) => mt.gather(x, 0, i),
      [
        { shape: [3, 4], int: 50 },
        { shape: [2, 4], int: 3 },
      ],
      { forwardOnly: true },
    );
    checkParity((x, i) => mt.gather(x, 1, i), [{ shape: [3, 5] }, { shape: [3, 0], int: 5 }]);
  });

  it('scatterAdd with repeated targets, larger src, int32, and its gradients', () => {
    checkParity(
      (x, i, s) => mt.scatterAdd(x, 1, i, s),
      [{ shape: [3, 5] }, { shape: [3, 7], int: 5 }, { shape: [3, 7] }],
    );
    checkParity(
      (x, i, s) => mt.scatterAdd(x, 0, i, s),
      [{ shape: [3, 5] }, { shape: [8, 5], int: 3 }, { shape: [8, 5] }],
    );
    checkParity(
      (x, i, s) => mt.scatterAdd(x, 0, i, s),
      [{ shape: [4, 6] }, { shape: [3, 4], int: 4 }, { shape: [5, 6] }],
    );
    checkParity(
      (x, i, s) => mt.scatterAdd(x, 2, i, s),
      [{ shape: [2, 3, 4] }, { shape: [2, 2, 9], int: 4 }, { shape: [2, 3, 9] }],
    );
    checkParity(
      (x, i, s) => mt.scatterAdd(x, 1, mt.transpose(i), s),
      [{ shape: [4, 6] }, { shape: [5, 4], int: 6 }, { shape: [4, 5] }],
    );
    checkParity(
      (x, i, s) => mt.scatterAdd(x, 1, i, s),
      [{ shape: [4, 6] }, { shape: [4, 1], int: 6 }, { shape: [4, 3] }],
    );
    checkParity(
      (x, i, s) => mt.scatterAdd(x, 0, i, s),
      [{ shape: [40, 300] }, { shape: [200, 300], int: 40 }, { shape: [200, 300] }],
    );
    // Thousands of additions into each of a few outputs: a thread split along the axis would lose some.
    checkParity(
      (x, i, s) => mt.scatterAdd(x, 0, i, s),
      [{ shape: [2, 64] }, { shape: [4000, 64], int: 2 }, { shape: [4000, 64] }],
      { tol: 1e-4 },
    );
    checkParity(
      (x, i, s) => mt.scatterAdd(x, 1, i, s),
      [
        { shape: [3, 5], int: 9 },
        { shape: [3, 7], int: 5 },
        { shape: [3, 7], int: 9 },
      ],
      { forwardOnly: true },
    );
  });
});

describe('index kernels report a bad index as the reference does on every fast backend', () => {
  const cases: [string, (backend: mt.Backend, bad: number) => void][] = [
    ['indexSelect', (b, bad) => mt.indexSelect(floats(b, [4, 3]), 0, int32(b, [1, bad, 0]))],
    ['embedding', (b, bad) => mt.embedding(floats(b, [4, 3]), int32(b, [0, 1, 2, bad], [2, 2]))],
    ['indexAdd', (b, bad) => mt.indexAdd(floats(b, [3, 4]), 1, int32(b, [bad, 2]), floats(b, [3, 2]))],
    ['gather', (b, bad) => mt.gather(floats(b, [3, 4]), 1, int32(b, [0, 1, 2, 3, 0, bad], [3, 2]))],
    [
      'scatterAdd',
      (b, bad) => mt.scatterAdd(floats(b, [3, 4]), 0, int32(b, [0, 1, 2, bad], [2, 2]), floats(b, [2, 2])),
    ],
  ];
  for (const [name, run] of cases) {
    it(`${name}: same error for too large and negative indices`, () => {
      for (const bad of [4, -1, 1000]) {
        const messages = errorsOf((backend) => run(backend, bad));
        assert.match(messages[0]!, new RegExp(`index ${bad} is out of range`));
        for (const m of messages) assert.equal(m, messages[0]);
      }
    });
  }

  it('indexAdd leaves the rows before a bad index added, as the reference does', () => {
    const results = backends.map((backend) =>
      mt.scope(() => {
        const out = mt.fromArray(new Float32Array(6), [3, 2], { backend });
        const src = mt.fromArray(new Float32Array([1, 2, 3, 4, 5, 6]), [3, 2], { backend });
        assert.throws(
          () => backend.indexAdd(out.view(), 0, int32(backend, [2, 0, 9]).view(), src.view()),
          /index 9 is out of range/,
        );
        return Array.from(out.toArray());
      }),
    );
    for (const r of results) assert.deepEqual(r, results[0]);
  });
});
