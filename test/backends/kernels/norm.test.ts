import { describe, it } from 'node:test';
import * as mt from '../../../src/index.js';
import { checkParity } from '../parity.js';

describe('layer norm and RMS norm agree with the reference backend on every fast backend', () => {
  const shapes = [[4, 7], [2, 3, 33], [1, 1], [5, 1], [3, 8], [6], [2, 2, 13]];
  const features = (shape: number[]) => [shape[shape.length - 1]!];

  it('layerNorm with weight and bias, and the gradients of all three', () => {
    for (const shape of shapes) {
      checkParity(
        (x, w, b) => mt.layerNorm(x, w, b),
        [{ shape }, { shape: features(shape) }, { shape: features(shape) }],
        { tol: 2e-6 },
      );
    }
  });

  it('layerNorm without weight, without bias, or without both', () => {
    for (const shape of shapes) {
      checkParity((x) => mt.layerNorm(x), [{ shape }], { tol: 2e-6 });
      checkParity((x, w) => mt.layerNorm(x, w), [{ shape }, { shape: features(shape) }], { tol: 2e-6 });
      checkParity((x, b) => mt.layerNorm(x, null, b), [{ shape }, { shape: features(shape) }], { tol: 2e-6 });
      checkParity(
        (x, w, b) => mt.layerNorm(x, w, b),
        [{ shape }, { shape: features(shape), grad: false }, { shape: features(shape) }],
        { tol: 2e-6 },
      );
    }
  });

  it('layerNorm keeps its accuracy when the mean dwarfs the spread', () => {
    checkParity(
      (x, w, b) => mt.layerNorm(x, w, b),
      [{ shape: [5, 37], range: [1000, 1000.5] }, { shape: [37] }, { shape: [37] }],
      { tol: 2e-5 },
    );
  });

  it('rmsNorm with and without weight, and the gradients', () => {
    for (const shape of shapes) {
      checkParity((x, w) => mt.rmsNorm(x, w), [{ shape }, { shape: features(shape) }], { tol: 2e-6 });
      checkParity((x) => mt.rmsNorm(x), [{ shape }], { tol: 2e-6 });
      checkParity((x, w) => mt.rmsNorm(x, w, 1e-3), [{ shape }, { shape: features(shape), grad: false }], {
        tol: 2e-6,
      });
    }
  });

  it('many rows split across threads; parameter gradients summed over all of them', () => {
    checkParity((x, w, b) => mt.layerNorm(x, w, b), [{ shape: [300, 301] }, { shape: [301] }, { shape: [301] }], {
      tol: 2e-6,
      gradTol: 2e-5,
    });
    checkParity((x, w) => mt.rmsNorm(x, w), [{ shape: [2000, 67] }, { shape: [67] }], { tol: 2e-6, gradTol: 2e-5 });
    checkParity((x, w) => mt.rmsNorm(x, w), [{ shape: [2, 40000] }, { shape: [40000] }], { tol: 2e-6 });
  });

  it('empty batches give zero parameter gradients; instanceNorm runs through layerNorm', () => {
    checkParity((x, w, b) => mt.layerNorm(x, w, b), [{ shape: [0, 5] }, { shape: [5] }, { shape: [5] }]);
    checkParity((x, w) => mt.rmsNorm(x, w), [{ shape: [0, 3] }, { shape: [3] }]);
    checkParity((x, w, b) => mt.instanceNorm(x, w, b), [{ shape: [2, 3, 4, 5] }, { shape: [3] }, { shape: [3] }], {
      tol: 2e-6,
    });
  });

  it('norms of strided inputs (made contiguous by the op)', () => {
    checkParity((x, w) => mt.rmsNorm(mt.transpose(x), w), [{ shape: [9, 6] }, { shape: [9] }], { tol: 2e-6 });
    checkParity(
      (x, w, b) => mt.layerNorm(mt.slice(x, 1, 1, 12, 2), w, b),
      [{ shape: [4, 12] }, { shape: [6] }, { shape: [6] }],
      { tol: 2e-6 },
    );
  });
});
