import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Pool2dParams } from '../../../src/backends/backend.js';
import * as mt from '../../../src/index.js';
import { fastBackends } from '../fast-backends.js';
import { checkParity } from '../parity.js';

describe('conv and pooling kernels agree with the reference backend on every fast backend', () => {
  it('causalConv1d on contiguous input, K = 4 and K = 1, with and without bias', () => {
    checkParity((x, w, b) => mt.causalConv1d(x, w, b), [{ shape: [2, 9, 7] }, { shape: [7, 4] }, { shape: [7] }]);
    checkParity((x, w) => mt.causalConv1d(x, w), [{ shape: [3, 5, 20] }, { shape: [20, 1] }]);
    checkParity((x, w, b) => mt.causalConv1d(x, w, b), [{ shape: [1, 1, 1] }, { shape: [1, 4] }, { shape: [1] }]);
  });

  it('causalConv1d on a channel slice of a wider tensor, as Mamba calls it', () => {
    const d = 37;
    checkParity(
      (xz, w, b) => mt.causalConv1d(mt.slice(xz, 2, 0, d), w, b),
      [{ shape: [2, 11, 2 * d] }, { shape: [d, 4] }, { shape: [d] }],
    );
    checkParity(
      (xz, w) => mt.causalConv1d(mt.slice(xz, 2, d, 2 * d), w),
      [{ shape: [3, 6, 2 * d] }, { shape: [d, 1] }],
    );
  });

  it('causalConv1d with sequences shorter than the kernel, strided channels and reversed time', () => {
    checkParity((x, w, b) => mt.causalConv1d(x, w, b), [{ shape: [2, 3, 6] }, { shape: [6, 4] }, { shape: [6] }]);
    checkParity((x, w) => mt.causalConv1d(x, w), [{ shape: [2, 2, 5] }, { shape: [5, 4] }]);
    checkParity(
      (x, w, b) => mt.causalConv1d(mt.transpose(x, 1, 2), w, b),
      [{ shape: [2, 9, 5] }, { shape: [9, 3] }, { shape: [9] }],
    );
    checkParity((x, w) => mt.causalConv1d(mt.slice(x, 2, 1, 14, 2), w), [{ shape: [2, 8, 15] }, { shape: [7, 4] }]);
    checkParity(
      (x, w, b) => mt.causalConv1d(mt.flip(x, [1]), w, b),
      [{ shape: [2, 7, 19] }, { shape: [19, 4] }, { shape: [19] }],
    );
  });

  it('causalConv1d at Mamba-like size splits channels and rows across threads', () => {
    checkParity(
      (xz, w, b) => mt.causalConv1d(mt.slice(xz, 2, 0, 96), w, b),
      [{ shape: [4, 64, 192] }, { shape: [96, 4] }, { shape: [96] }],
      { gradTol: 1e-4 },
    );
  });

  it('conv2d with bias on odd sizes and size-1 dimensions', () => {
    checkParity((x, w, b) => mt.conv2d(x, w, b), [{ shape: [2, 3, 7, 5] }, { shape: [4, 3, 3, 3] }, { shape: [4] }]);
    checkParity(
      (x, w, b) => mt.conv2d(x, w, b, { padding: 1 }),
      [{ shape: [1, 1, 1, 1] }, { shape: [1, 1, 3, 3] }, { shape: [1] }],
    );
    checkParity(
      (x, w) => mt.conv2d(x, w, null, { padding: [0, 2] }),
      [{ shape: [3, 2, 1, 9] }, { shape: [5, 2, 1, 5] }],
    );
    checkParity((x, w) => mt.conv2d(x, w), [{ shape: [1, 5, 6, 1] }, { shape: [2, 5, 2, 1] }]);
  });

  it('conv2d with stride 2, padding 1, dilation 2 and asymmetric options', () => {
    checkParity(
      (x, w, b) => mt.conv2d(x, w, b, { stride: 2, padding: 1 }),
      [{ shape: [2, 3, 9, 8] }, { shape: [4, 3, 3, 3] }, { shape: [4] }],
    );
    checkParity(
      (x, w) => mt.conv2d(x, w, null, { dilation: 2, padding: 2 }),
      [{ shape: [1, 2, 7, 9] }, { shape: [3, 2, 3, 3] }],
    );
    checkParity(
      (x, w) => mt.conv2d(x, w, null, { stride: [1, 3], padding: [2, 1], dilation: [1, 2] }),
      [{ shape: [2, 2, 6, 11] }, { shape: [3, 2, 2, 4] }],
    );
    checkParity((x, w) => mt.conv2d(x, w, null, { stride: 3 }), [{ shape: [1, 3, 10, 10] }, { shape: [2, 3, 2, 2] }]);
  });

  it('conv2d with groups, depthwise included, and 1x1 kernels', () => {
    checkParity(
      (x, w, b) => mt.conv2d(x, w, b, { groups: 2, padding: 1 }),
      [{ shape: [2, 4, 5, 6] }, { shape: [6, 2, 3, 3] }, { shape: [6] }],
    );
    checkParity(
      (x, w, b) => mt.conv2d(x, w, b, { groups: 5, padding: 1, stride: 2 }),
      [{ shape: [2, 5, 7, 7] }, { shape: [5, 1, 3, 3] }, { shape: [5] }],
    );
    checkParity((x, w) => mt.conv2d(x, w, null, { groups: 3 }), [{ shape: [2, 3, 4, 4] }, { shape: [6, 1, 1, 1] }]);
    checkParity((x, w, b) => mt.conv2d(x, w, b), [{ shape: [3, 4, 5, 3] }, { shape: [7, 4, 1, 1] }, { shape: [7] }]);
    checkParity((x, w) => mt.conv2d(x, w, null, { stride: 2 }), [{ shape: [2, 3, 5, 5] }, { shape: [2, 3, 1, 1] }]);
  });

  it('transposed conv2d with stride 2, padding and output padding, and groups', () => {
    const up = (x: mt.Tensor, w: mt.Tensor, b: mt.Tensor) =>
      mt.convTranspose2d(x, w, b, { stride: 2, padding: 1, outputPadding: 1 });
    checkParity(up, [{ shape: [2, 3, 4, 5] }, { shape: [3, 2, 3, 3] }, { shape: [2] }]);
    checkParity(
      (x, w) => mt.convTranspose2d(x, w, null, { stride: 2 }),
      [{ shape: [1, 4, 3, 3] }, { shape: [4, 3, 2, 2] }],
    );
    checkParity(
      (x, w) => mt.convTranspose2d(x, w, null, { stride: [2, 1], groups: 2, dilation: [1, 2], outputPadding: [1, 0] }),
      [{ shape: [2, 4, 3, 4] }, { shape: [4, 1, 3, 2] }],
    );
  });

  it('conv1d through conv2d, and average pooling through a depthwise conv2d', () => {
    checkParity(
      (x, w, b) => mt.conv1d(x, w, b, { padding: 2, stride: 2 }),
      [{ shape: [2, 3, 13] }, { shape: [4, 3, 5] }, { shape: [4] }],
    );
    checkParity(
      (x, w) => mt.conv1d(x, w, null, { dilation: 3, groups: 4, padding: 3 }),
      [{ shape: [1, 4, 10] }, { shape: [4, 1, 3] }],
    );
    checkParity((x) => mt.avgPool2d(x, 2), [{ shape: [2, 3, 6, 7] }]);
    checkParity((x) => mt.avgPool2d(x, 3, { stride: 2, padding: 1 }), [{ shape: [1, 4, 9, 8] }]);
  });

  it('a U-Net-sized conv2d splits work across threads', () => {
    checkParity(
      (x, w, b) => mt.conv2d(x, w, b, { padding: 1 }),
      [{ shape: [2, 16, 32, 32] }, { shape: [16, 16, 3, 3] }, { shape: [16] }],
      { tol: 2e-5, gradTol: 1e-4 },
    );
    checkParity(
      (x, w) => mt.convTranspose2d(x, w, null, { stride: 2 }),
      [{ shape: [2, 16, 16, 16] }, { shape: [16, 8, 2, 2] }],
      { gradTol: 1e-4 },
    );
  });

  it('conv2d whose column matrix exceeds the scratch budget runs in batch chunks', () => {
    // 40 and 64 input channels of 64x64 under 3x3 taps: 2 and 1 batch elements per pass.
    // Weights at the scale of a 1/sqrt(fan-in) init keep float32 rounding of the sums small.
    const w = (shape: number[]) => ({ shape, range: [-0.05, 0.05] as [number, number] });
    checkParity(
      (x, wt, b) => mt.conv2d(x, wt, b, { padding: 1 }),
      [{ shape: [3, 40, 64, 64] }, w([2, 40, 3, 3]), { shape: [2] }],
      { gradTol: 2e-4 },
    );
    checkParity((x, wt) => mt.conv2d(x, wt, null, { padding: 1 }), [{ shape: [3, 64, 64, 64] }, w([1, 64, 3, 3])], {
      gradTol: 2e-4,
    });
  });

  it('maxPool2d with kernels, strides and padding', () => {
    checkParity((x) => mt.maxPool2d(x, 2), [{ shape: [2, 3, 6, 7] }]);
    checkParity((x) => mt.maxPool2d(x, 3, { stride: 2, padding: 1 }), [{ shape: [2, 2, 9, 8] }]);
    checkParity((x) => mt.maxPool2d(x, [2, 3], { stride: [1, 2], padding: [1, 1] }), [{ shape: [1, 3, 5, 6] }]);
    checkParity((x) => mt.maxPool2d(x, 3, { stride: 1, padding: 1 }), [{ shape: [1, 2, 7, 13] }]);
    checkParity((x) => mt.maxPool2d(x, [2, 4], { stride: [2, 3] }), [{ shape: [2, 2, 6, 20] }]);
    checkParity((x) => mt.maxPool2d(x, 1), [{ shape: [1, 1, 1, 1] }]);
    checkParity((x) => mt.maxPool2d(x, 2), [{ shape: [4, 16, 32, 32] }]);
  });

  it('maxPool2d picks the first of tied maxima and propagates NaN like the reference', () => {
    const ties = Array.from({ length: 2 * 3 * 8 * 8 }, (_, i) => (i * 7) % 3);
    checkParity((x) => mt.maxPool2d(x, 3, { stride: 2, padding: 1 }), [{ shape: [2, 3, 8, 8], values: ties }]);
    checkParity(
      (x) => mt.maxPool2d(x, 2, { stride: 1 }),
      [{ shape: [2, 1, 5, 11], values: Array.from({ length: 110 }, (_, i) => i % 2) }],
    );
  });

  it('maxPool2d values and indices equal the reference exactly with NaN and -Infinity', () => {
    // Windows of only -Infinity (whose index is still the first tap) cannot go through
    // checkParity's tolerance check, so the kernels' outputs are compared directly.
    const special = (i: number) => (i % 7 === 3 || i % 23 === 5 ? NaN : i % 11 === 2 || i % 13 < 3 ? -Infinity : i % 5);
    const cases: [number[], Pool2dParams][] = [
      [[1, 2, 6, 24], { kernelH: 3, kernelW: 3, strideH: 2, strideW: 2, padH: 1, padW: 1 }],
      [[2, 1, 6, 24], { kernelH: 2, kernelW: 2, strideH: 1, strideW: 1, padH: 0, padW: 0 }],
      [[2, 3, 2, 24], { kernelH: 1, kernelW: 3, strideH: 1, strideW: 3, padH: 0, padW: 1 }],
      [[1, 1, 3, 9], { kernelH: 2, kernelW: 2, strideH: 1, strideW: 1, padH: 1, padW: 1 }],
    ];
    for (const [shape, p] of cases) {
      const data = Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => special(i));
      const pool = (backend: mt.Backend) =>
        mt.scope(() => {
          const ho = Math.floor((shape[2]! + 2 * p.padH - p.kernelH) / p.strideH) + 1;
          const wo = Math.floor((shape[3]! + 2 * p.padW - p.kernelW) / p.strideW) + 1;
          const x = mt.fromArray(data, shape, { backend });
          const out = mt.zeros([shape[0]!, shape[1]!, ho, wo], { backend });
          const indices = mt.zeros(out.shape, { backend, dtype: 'int32' });
          backend.maxPool2d(out.view(), indices.view(), x.view(), p);
          return { out: Array.from(out.toArray()), indices: Array.from(indices.toArray()) };
        });
      const expected = pool(mt.getBackend('reference'));
      for (const { label, backend } of fastBackends)
        assert.deepStrictEqual(pool(backend), expected, `${label}: ${shape}`);
    }
  });
});
