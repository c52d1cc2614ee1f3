import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as mt from '../../../src/index.js';
import { assertClose } from '../../helpers.js';
import { families, fastBackends } from '../fast-backends.js';
import { checkParity } from '../parity.js';

// The fast kernels accumulate in float32 and the reference in float64. Rounding errors of a
// K-term float32 sum grow like sqrt(K) (measured: at most ~1e-6 * sqrt(K) relative to
// 1 + |x| for values in [-2, 2]), so the tolerance follows the longest sum of the product and
// its gradients, which sum over M and N as well.
function tolFor(m: number, k: number, n: number): number {
  return Math.max(1e-5, 3e-6 * Math.sqrt(Math.max(m, k, n)));
}

const transposed = (x: mt.Tensor, t: boolean) => (t ? mt.transpose(x) : x);

/** A [m,k] · B [k,n] where ta / tb store an operand as its transpose and pass a transposed view. */
function checkProduct(m: number, k: number, n: number, ta: boolean, tb: boolean): void {
  checkParity(
    (a, b) => mt.matmul(transposed(a!, ta), transposed(b!, tb)),
    [{ shape: ta ? [k, m] : [m, k] }, { shape: tb ? [n, k] : [k, n] }],
    {
      tol: tolFor(m, k, n),
    },
  );
}

const layouts: [boolean, boolean][] = [
  [false, false],
  [true, false],
  [false, true],
  [true, true],
];

describe('matmul agrees with the reference backend on every fast backend', () => {
  it('sizes off the 4x8 tile, in all four transpose combinations', () => {
    const shapes = [
      [1, 1, 1],
      [3, 7, 5],
      [7, 13, 3],
      [13, 33, 65],
      [33, 65, 7],
      [5, 1, 9],
      [65, 3, 33],
      [4, 8, 8],
      [9, 17, 16],
    ];
    for (const [m, k, n] of shapes) for (const [ta, tb] of layouts) checkProduct(m!, k!, n!, ta, tb);
  });

  it('single rows (gemv) against both layouts of B, and single columns', () => {
    for (const k of [1, 3, 7, 33, 100]) {
      for (const n of [1, 5, 37, 130]) {
        for (const [ta, tb] of layouts) {
          checkProduct(1, k, n, ta, tb);
          checkProduct(n, k, 1, ta, tb);
        }
      }
    }
  });

  it('vector operands of rank 1', () => {
    checkParity((a, b) => mt.matmul(a!, b!), [{ shape: [6, 11] }, { shape: [11] }]);
    checkParity((a, b) => mt.matmul(a!, b!), [{ shape: [11] }, { shape: [11, 6] }]);
    checkParity((a, b) => mt.matmul(a!, b!), [{ shape: [11] }, { shape: [11] }]);
    checkParity((a, b) => mt.matmul(a!, mt.transpose(b!)), [{ shape: [19] }, { shape: [5, 19] }]);
  });

  it('empty products: K = 0 gives zeros, M = 0 or N = 0 an empty result', () => {
    checkParity((a, b) => mt.matmul(a!, b!), [{ shape: [3, 0] }, { shape: [0, 4] }]);
    checkParity((a, b) => mt.matmul(a!, b!), [{ shape: [1, 0] }, { shape: [0, 5] }]);
    checkParity((a, b) => mt.matmul(a!, b!), [{ shape: [0, 5] }, { shape: [5, 3] }]);
    checkParity((a, b) => mt.matmul(a!, b!), [{ shape: [4, 5] }, { shape: [5, 0] }]);
    checkParity((a, b) => mt.matmul(a!, b!), [{ shape: [2, 0, 3] }, { shape: [2, 3, 4] }]);
    for (const { backend } of fastBackends) {
      mt.scope(() => {
        const r = mt.matmul(mt.full([3, 0], 1, { backend }), mt.full([0, 4], 1, { backend }));
        assert.deepEqual(Array.from(r.toArray()), new Array(12).fill(0));
      });
    }
  });

  it('batched products, with broadcast batches', () => {
    const pairs: [number[], number[]][] = [
      [
        [2, 1, 5, 7],
        [3, 7, 4],
      ],
      [
        [1, 5, 7],
        [3, 7, 4],
      ],
      [
        [3, 5, 7],
        [1, 7, 4],
      ],
      [
        [4, 5, 7],
        [7, 3],
      ],
      [
        [2, 3, 1, 7],
        [2, 3, 7, 6],
      ],
      [
        [2, 3, 5, 1],
        [2, 3, 1, 4],
      ],
      [
        [3, 6, 9],
        [3, 9, 1],
      ],
      [
        [5, 2, 9],
        [5, 9, 13],
      ],
    ];
    for (const [sa, sb] of pairs) checkParity((a, b) => mt.matmul(a!, b!), [{ shape: sa }, { shape: sb }]);
    // A batch of transposed operands and a batch that broadcasts over a transposed matrix.
    checkParity((a, b) => mt.matmul(mt.transpose(a!), b!), [{ shape: [3, 7, 5] }, { shape: [3, 7, 6] }]);
    checkParity((a, b) => mt.matmul(a!, mt.transpose(b!)), [{ shape: [2, 3, 1, 7] }, { shape: [3, 9, 7] }]);
    checkParity((a, b) => mt.matmul(a!, mt.transpose(b!)), [{ shape: [2, 3, 5, 7] }, { shape: [9, 7] }]);
  });

  it('sliced operands with a step, and flipped ones', () => {
    const step = (x: mt.Tensor, axis: number) => mt.slice(x, axis, 1, x.shape[axis]!, 2);
    checkParity((a, b) => mt.matmul(step(a!, 1), b!), [{ shape: [5, 15] }, { shape: [7, 6] }]);
    checkParity((a, b) => mt.matmul(a!, step(b!, 1)), [{ shape: [5, 7] }, { shape: [7, 13] }]);
    checkParity((a, b) => mt.matmul(step(a!, 0), step(b!, 0)), [{ shape: [11, 7] }, { shape: [15, 6] }]);
    checkParity(
      (a, b) => mt.matmul(step(mt.transpose(a!), 1), mt.transpose(step(b!, 1))),
      [{ shape: [17, 5] }, { shape: [9, 17] }],
    );
    // A single row x with a step, against either layout of B.
    checkParity((a, b) => mt.matmul(step(a!, 1), b!), [{ shape: [1, 15] }, { shape: [7, 6] }]);
    checkParity((a, b) => mt.matmul(step(a!, 1), mt.transpose(b!)), [{ shape: [1, 15] }, { shape: [6, 7] }]);
    // Single rows and columns whose operands have no unit stride take the packing path.
    checkParity((a, b) => mt.matmul(step(a!, 1), mt.transpose(step(b!, 1))), [{ shape: [1, 15] }, { shape: [9, 15] }]);
    checkParity((a, b) => mt.matmul(step(a!, 1), b!), [{ shape: [6, 15] }, { shape: [7, 1] }]);
    checkParity((a, b) => mt.matmul(mt.flip(a!, [0, 1]), mt.flip(b!, [1])), [{ shape: [6, 9] }, { shape: [9, 10] }]);
    checkParity(
      (a, b) => mt.matmul(mt.flip(a!, [1]), mt.transpose(mt.flip(b!, [0]))),
      [{ shape: [1, 9] }, { shape: [10, 9] }],
    );
  });

  it('products larger than the cache blocks', () => {
    // With blocks of KC 256, MC 64, NC 512: two K blocks and three row blocks, then five column
    // blocks, then 33 row blocks.
    for (const [ta, tb] of layouts) checkProduct(130, 300, 270, ta, tb);
    checkProduct(9, 40, 2100, false, true);
    checkProduct(2100, 40, 9, false, false);
  });

  it('Mamba-130m projections at small M', () => {
    // x [M, K] · W^T with W [N, K] as nn.Linear stores it: in_proj, out_proj, x_proj, dt_proj.
    const linear: [number, number][] = [
      [768, 3072],
      [1536, 768],
      [1536, 80],
      [48, 1536],
    ];
    for (const [k, n] of linear) for (const m of [1, 5]) checkProduct(m, k, n, false, true);
  });

  it('the Mamba-130m head (768 -> 50280): logits and the gradient of x, against float64 sums', () => {
    // 38.6M weights are too many for checkParity's arrays of numbers; the sums are checked here.
    const k = 768;
    const n = 50280;
    const w = new Float32Array(n * k).map((_, i) => ((Math.imul(i, 2654435761) >>> 20) / 4096 - 0.5) * 0.2);
    const g = new mt.Generator(11);
    for (const m of [1, 2]) {
      const x = Float32Array.from({ length: m * k }, () => g.uniform() * 4 - 2);
      const up = Float32Array.from({ length: m * n }, () => g.uniform() * 2 - 1);
      const logits = new Float64Array(m * n);
      const dx = new Float64Array(m * k);
      for (let i = 0; i < m; i++) {
        for (let j = 0; j < n; j++) {
          let s = 0;
          for (let p = 0; p < k; p++) s += x[i * k + p]! * w[j * k + p]!;
          logits[i * n + j] = s;
          const u = up[i * n + j]!;
          for (let p = 0; p < k; p++) dx[i * k + p] += u * w[j * k + p]!;
        }
      }
      for (const { label, backend } of fastBackends) {
        mt.scope(() => {
          const weight = mt.fromArray(w, [n, k], { backend });
          const y = mt.matmul(mt.fromArray(x, [m, k], { backend }), mt.transpose(weight));
          assertClose(y.toArray(), logits, tolFor(m, k, n), `${label}: logits, M = ${m}`);
          const gx = mt.matmul(mt.fromArray(up, [m, n], { backend }), weight);
          assertClose(gx.toArray(), dx, tolFor(m, k, n), `${label}: gradient of x, M = ${m}`);
        });
      }
    }
  });

  it('gives the same bits on one thread and on several', () => {
    const g = new mt.Generator(7);
    for (const [m, k, n] of [
      [1, 300, 70],
      [70, 300, 1],
      [130, 300, 270],
      [3, 65, 2100],
    ]) {
      const a = Float32Array.from({ length: m! * k! }, () => g.uniform() * 2 - 1);
      const b = Float32Array.from({ length: k! * n! }, () => g.uniform() * 2 - 1);
      const run = (backend: mt.Backend) =>
        mt.scope(() =>
          Array.from(
            mt
              .matmul(mt.fromArray(a, [m!, k!], { backend }), mt.transpose(mt.fromArray(b, [n!, k!], { backend })))
              .toArray(),
          ),
        );
      for (const [first, ...others] of families()) {
        for (const other of others)
          assert.deepEqual(run(other.backend), run(first!.backend), `${other.label}: ${m}x${k}x${n}`);
      }
    }
  });
});
