import { describe, it } from 'node:test';
import * as mt from '../../src/index.js';
import { checkGrad, f64, f64Away, int32 } from '../helpers.js';

describe('gradients match finite differences (float64)', () => {
  describe('unary', () => {
    const cases: [string, (x: mt.Tensor) => mt.Tensor, () => mt.Tensor][] = [
      ['neg', mt.neg, () => f64([3, 5], 1)],
      ['exp', mt.exp, () => f64([3, 5], 2)],
      ['log', mt.log, () => f64([3, 5], 3, 0.2, 3)],
      ['sqrt', mt.sqrt, () => f64([7], 4, 0.2, 3)],
      ['rsqrt', mt.rsqrt, () => f64([1, 7], 5, 0.2, 3)],
      ['abs', mt.abs, () => f64Away([2, 3, 3], 6, [0])],
      ['relu', mt.relu, () => f64Away([5, 1], 7, [0])],
      ['leakyRelu', (x) => mt.leakyRelu(x, 0.2), () => f64Away([9], 8, [0])],
      ['gelu', (x) => mt.gelu(x), () => f64([3, 3], 9, -4, 4)],
      ['gelu tanh', (x) => mt.gelu(x, 'tanh'), () => f64([3, 3], 10, -4, 4)],
      ['silu', mt.silu, () => f64([3, 3], 11, -6, 6)],
      ['sigmoid', mt.sigmoid, () => f64([3, 3], 12, -6, 6)],
      ['tanh', mt.tanh, () => f64([3, 3], 13, -3, 3)],
      ['softplus below and above the threshold 20', mt.softplus, () => f64Away([4, 3], 14, [20], 0.5, -5, 30)],
      ['softplus beta 2', (x) => mt.softplus(x, 2, 20), () => f64Away([4, 3], 15, [10], 0.5, -5, 15)],
      ['clamp', (x) => mt.clamp(x, -0.5, 0.7), () => f64Away([11], 16, [-0.5, 0.7])],
      ['pow 3', (x) => mt.pow(x, 3), () => f64([2, 5], 17)],
      ['pow -1.5', (x) => mt.pow(x, -1.5), () => f64([2, 5], 18, 0.3, 2)],
      ['square', mt.square, () => f64([1, 1], 19)],
      ['affine', (x) => mt.affine(x, -2.5, 0.3), () => f64([4], 20)],
    ];
    for (const [name, fn, make] of cases) it(name, () => checkGrad(fn, [make()]));
  });

  describe('binary with broadcasting', () => {
    const shapes: [number[], number[]][] = [
      [
        [3, 4],
        [3, 4],
      ],
      [
        [3, 1, 5],
        [4, 1],
      ],
      [[1], [2, 3]],
      [[2, 3], []],
      [
        [1, 1],
        [1, 7],
      ],
    ];
    const ops: [string, (a: mt.Tensor, b: mt.Tensor) => mt.Tensor, number, number][] = [
      ['add', mt.add, -1, 1],
      ['sub', mt.sub, -1, 1],
      ['mul', mt.mul, -1, 1],
      ['div', mt.div, 0.5, 2],
      ['pow', mt.pow, 0.5, 2],
      ['maximum', mt.maximum, -1, 1],
      ['minimum', mt.minimum, -1, 1],
    ];
    for (const [name, fn, lo, hi] of ops) {
      for (const [sa, sb] of shapes) {
        it(`${name} ${JSON.stringify(sa)} ${JSON.stringify(sb)}`, () =>
          checkGrad(fn, [f64(sa, 21, lo, hi), f64(sb, 22, lo, hi)]));
      }
    }
    it('scalar operands on either side', () => {
      checkGrad((x) => mt.sub(2, mt.div(x, 3)).mul(mt.add(x, -1)), [f64([3, 2], 23)]);
      checkGrad((x) => mt.div(1.5, x), [f64([3, 2], 24, 0.5, 2)]);
    });
    it('where', () => {
      const cond = int32([1, 0, 0, 1, 1, 0], [2, 3]);
      checkGrad((a, b) => mt.where(cond, a, b), [f64([2, 3], 25), f64([3], 26)]);
      checkGrad((a) => mt.where(cond, a, 0.5), [f64([1, 3], 27)]);
    });
  });

  describe('reductions', () => {
    it('sum over all, one and several axes, with and without keepDims', () => {
      checkGrad((x) => mt.sum(x), [f64([2, 3, 4], 30)]);
      checkGrad((x) => mt.sum(x, 1), [f64([2, 3, 4], 31)]);
      checkGrad((x) => mt.sum(x, [0, 2], true), [f64([2, 3, 4], 32)]);
      checkGrad((x) => mt.sum(x, -1), [f64([5, 1], 33)]);
    });
    it('mean', () => {
      checkGrad((x) => mt.mean(x, [1]), [f64([3, 5], 34)]);
      checkGrad((x) => mt.mean(x), [f64([1], 35)]);
    });
    it('max and min', () => {
      checkGrad((x) => mt.max(x, 1), [f64([3, 5], 36)]);
      checkGrad((x) => mt.min(x, [0, 2], true), [f64([2, 3, 3], 37)]);
      checkGrad((x) => mt.max(x), [f64([7], 38)]);
    });
    it('topk along the last and a middle axis', () => {
      checkGrad((x) => mt.topk(x, 2).values, [f64([3, 5], 39)]);
      checkGrad((x) => mt.topk(x, 3, 1, false).values, [f64([2, 4, 3], 40)]);
    });
  });

  describe('matmul', () => {
    it('2-D', () => checkGrad(mt.matmul, [f64([3, 4], 41), f64([4, 5], 42)]));
    it('batched with broadcast batch', () => checkGrad(mt.matmul, [f64([2, 1, 3, 4], 43), f64([3, 4, 2], 44)]));
    it('batched times a matrix', () => checkGrad(mt.matmul, [f64([2, 3, 4], 45), f64([4, 5], 46)]));
    it('vector cases', () => {
      checkGrad(mt.matmul, [f64([4], 47), f64([4, 3], 48)]);
      checkGrad(mt.matmul, [f64([2, 3, 4], 49), f64([4], 50)]);
      checkGrad(mt.matmul, [f64([4], 51), f64([4], 52)]);
    });
    it('transposed operands', () => {
      checkGrad((a, b) => mt.matmul(a.transpose(), b.transpose()), [f64([4, 3], 53), f64([5, 4], 54)]);
    });
    it('size-1 and odd sizes', () => checkGrad(mt.matmul, [f64([1, 1], 55), f64([1, 7], 56)]));
    it('linear with bias', () => checkGrad(mt.linear, [f64([2, 3, 4], 57), f64([5, 4], 58), f64([5], 59)]));
  });

  describe('indexing', () => {
    it('indexSelect on axes 0 and 1 with repeated indices', () => {
      const idx = int32([2, 0, 2]);
      checkGrad((x) => mt.indexSelect(x, 0, idx), [f64([3, 4], 60)]);
      checkGrad((x) => mt.indexSelect(x, 1, idx), [f64([2, 3, 2], 61)]);
    });
    it('embedding', () => {
      const ids = int32([1, 4, 1, 0, 3, 3], [2, 3]);
      checkGrad((w) => mt.embedding(w, ids), [f64([5, 3], 62)]);
    });
    it('gather and scatterAdd', () => {
      const idx = int32([0, 2, 1, 1, 0, 0], [2, 3]);
      checkGrad((x) => mt.gather(x, 1, idx), [f64([2, 4], 63)]);
      checkGrad((x, s) => mt.scatterAdd(x, 1, idx, s), [f64([2, 4], 64), f64([2, 3], 65)]);
      checkGrad((x, s) => mt.scatterAdd(x, 0, int32([1, 0, 1], [1, 3]), s), [f64([2, 3], 66), f64([2, 3], 67)]);
    });
    it('indexAdd', () => {
      checkGrad((x, s) => mt.indexAdd(x, 0, int32([2, 0, 2]), s), [f64([3, 2], 68), f64([3, 2], 69)]);
    });
  });

  describe('shape ops', () => {
    it('reshape, flatten, squeeze, unsqueeze', () => {
      checkGrad(
        (x) => mt.reshape(x, [3, -1]).mul(mt.arange(0, 4, 1, { dtype: 'float64', backend: 'reference' })),
        [f64([2, 6], 70)],
      );
      checkGrad((x) => mt.flatten(mt.unsqueeze(mt.squeeze(x, 1), 0)), [f64([2, 1, 3], 71)]);
    });
    it('permute and transpose (non-contiguous results)', () => {
      checkGrad((x) => mt.permute(x, [2, 0, 1]).contiguous().reshape([-1]), [f64([2, 3, 4], 72)]);
      checkGrad((x) => mt.transpose(x, 0, 1).exp(), [f64([3, 2], 73)]);
    });
    it('slice with a step, select, expand', () => {
      checkGrad((x) => mt.slice(x, 1, 1, 6, 2), [f64([2, 7], 74)]);
      checkGrad((x) => mt.slice(x, 0, -2), [f64([5], 75)]);
      checkGrad((x) => mt.select(x, 0, -1), [f64([3, 2], 76)]);
      checkGrad((x) => mt.expand(x, [4, 3, 2]).mul(f64([4, 3, 2], 77, -1, 1, false)), [f64([3, 1], 78)]);
    });
    it('concat, stack, split, chunk', () => {
      checkGrad((a, b) => mt.concat([a, b, a], 1), [f64([2, 1], 79), f64([2, 3], 80)]);
      checkGrad((a, b) => mt.stack([a, b], 1), [f64([2, 3], 81), f64([2, 3], 82)]);
      checkGrad((x) => mt.split(x, [1, 3, 1], 0), [f64([5, 2], 83)]);
      checkGrad((x) => mt.chunk(x, 3, 1), [f64([2, 7], 84)]);
    });
    it('pad and flip', () => {
      checkGrad(
        (x) =>
          mt.pad(
            x,
            [
              [1, 2],
              [0, 3],
            ],
            0.5,
          ),
        [f64([2, 3, 2], 85)],
      );
      checkGrad((x) => mt.flip(x, [0, 2]).mul(f64([2, 3, 2], 86, -1, 1, false)), [f64([2, 3, 2], 87)]);
    });
    it('clone and cast between float types', () => {
      checkGrad((x) => mt.clone(x).mul(x), [f64([3], 88)]);
      checkGrad((x) => mt.cast(mt.cast(x, 'float32'), 'float64').mul(2), [f64([3], 89)], { eps: 1e-2, atol: 1e-4 });
    });
  });

  describe('softmax and losses', () => {
    it('softmax and log-softmax on the last and a middle axis', () => {
      checkGrad((x) => mt.softmax(x), [f64([3, 5], 90, -3, 3)]);
      checkGrad((x) => mt.softmax(x, 1), [f64([2, 4, 3], 91, -3, 3)]);
      checkGrad((x) => mt.logSoftmax(x), [f64([3, 5], 92, -3, 3)]);
      checkGrad((x) => mt.logSoftmax(x, 0), [f64([3, 2], 93, -3, 3)]);
    });
    it('cross-entropy with ignored targets and every reduction', () => {
      const t = int32([2, -100, 0, 4, 1, 4], [2, 3]);
      checkGrad((x) => mt.crossEntropy(x, t), [f64([2, 3, 5], 94, -3, 3)]);
      checkGrad((x) => mt.crossEntropy(x, t, { reduction: 'sum' }), [f64([2, 3, 5], 95, -3, 3)]);
      checkGrad((x) => mt.crossEntropy(x, t, { reduction: 'none' }), [f64([2, 3, 5], 96, -3, 3)]);
      checkGrad((x) => mt.crossEntropy(x, int32([0, 1, 1]), { ignoreIndex: 1 }), [f64([3, 2], 97, -3, 3)]);
    });
  });

  describe('norms', () => {
    it('layer norm with and without affine parameters', () => {
      checkGrad((x, w, b) => mt.layerNorm(x, w, b), [f64([3, 5], 100), f64([5], 101), f64([5], 102)]);
      checkGrad((x) => mt.layerNorm(x), [f64([2, 2, 7], 103)]);
      checkGrad((x, w) => mt.layerNorm(x, w, null, 1e-3), [f64([4, 1], 104), f64([1], 105)]);
    });
    it('RMS norm', () => {
      checkGrad((x, w) => mt.rmsNorm(x, w), [f64([3, 5], 106), f64([5], 107)]);
      checkGrad((x) => mt.rmsNorm(x, null, 1e-6), [f64([2, 3, 1], 108)]);
    });
    it('instance norm', () => {
      checkGrad((x, w, b) => mt.instanceNorm(x, w, b), [f64([2, 3, 2, 3], 109), f64([3], 110), f64([3], 111)]);
      checkGrad((x) => mt.instanceNorm(x), [f64([1, 2, 5], 112)]);
    });
  });

  describe('convolutions and pooling', () => {
    it('depthwise causal conv1d, also on a strided input', () => {
      checkGrad(mt.causalConv1d, [f64([2, 5, 3], 120), f64([3, 4], 121), f64([3], 122)]);
      checkGrad((x, w) => mt.causalConv1d(mt.slice(x, 2, 1, 4), w), [f64([1, 6, 5], 123), f64([3, 2], 124)]);
      checkGrad((x, w) => mt.causalConv1d(x, w), [f64([1, 2, 1], 125), f64([1, 4], 126)]);
    });
    it('conv2d with stride, padding, dilation and groups', () => {
      checkGrad((x, w, b) => mt.conv2d(x, w, b), [f64([2, 2, 4, 5], 130), f64([3, 2, 3, 3], 131), f64([3], 132)]);
      checkGrad(
        (x, w) => mt.conv2d(x, w, null, { stride: 2, padding: 1 }),
        [f64([1, 2, 5, 5], 133), f64([2, 2, 3, 3], 134)],
      );
      checkGrad(
        (x, w) => mt.conv2d(x, w, null, { dilation: [2, 1], padding: [1, 0], groups: 2 }),
        [f64([1, 4, 5, 4], 135), f64([2, 2, 2, 3], 136)],
      );
      checkGrad((x, w) => mt.conv2d(x, w, null, { stride: [1, 3] }), [f64([1, 1, 3, 7], 137), f64([1, 1, 1, 2], 138)]);
    });
    it('conv1d', () => {
      checkGrad(
        (x, w, b) => mt.conv1d(x, w, b, { padding: 1, stride: 2 }),
        [f64([2, 2, 7], 139), f64([3, 2, 3], 140), f64([3], 141)],
      );
    });
    it('transposed conv2d with stride, padding, output padding and groups', () => {
      checkGrad(
        (x, w, b) => mt.convTranspose2d(x, w, b),
        [f64([1, 2, 3, 3], 142), f64([2, 3, 2, 2], 143), f64([3], 144)],
      );
      checkGrad(
        (x, w) => mt.convTranspose2d(x, w, null, { stride: 2, padding: 1, outputPadding: 1 }),
        [f64([2, 2, 3, 2], 145), f64([2, 1, 3, 3], 146)],
      );
      checkGrad(
        (x, w) => mt.convTranspose2d(x, w, null, { groups: 2, stride: [2, 1] }),
        [f64([1, 4, 2, 3], 147), f64([4, 1, 2, 2], 148)],
      );
    });
    it('max pooling and average pooling', () => {
      checkGrad((x) => mt.maxPool2d(x, 2), [f64([2, 2, 4, 5], 150)]);
      checkGrad((x) => mt.maxPool2d(x, 3, { stride: 2, padding: 1 }), [f64([1, 1, 5, 5], 151)]);
      checkGrad((x) => mt.avgPool2d(x, [2, 3], { stride: 1, padding: [1, 1] }), [f64([1, 2, 3, 4], 152)]);
    });
  });

  it('dropout (a fixed mask per seed)', () => {
    checkGrad((x) => mt.dropout(x, 0.4, true, new mt.Generator(7)), [f64([4, 5], 160)]);
  });

  it('a composite with reused intermediates', () => {
    checkGrad(
      (x, w) => {
        const h = mt.tanh(mt.matmul(x, w));
        return mt.mul(h, h).add(mt.sigmoid(h)).sum(0);
      },
      [f64([3, 4], 161), f64([4, 2], 162)],
    );
  });
});

describe('fused ops: gradients match finite differences (float64)', () => {
  it('addRmsNorm through both outputs', () => {
    checkGrad(
      (x, r, w) => {
        const { out, sum } = mt.addRmsNorm(x, r, w);
        return [out, sum];
      },
      [f64([3, 5], 170), f64([3, 5], 171), f64([5], 172)],
    );
    checkGrad((x, r) => mt.addRmsNorm(x, r, null).out, [f64([2, 1, 4], 173), f64([2, 1, 4], 174)]);
    checkGrad((x, r) => mt.addRmsNorm(x, r, null).sum.mul(x), [f64([2, 3], 175), f64([2, 3], 176)]);
  });
  it('siluGate', () => {
    checkGrad(mt.siluGate, [f64([3, 7], 177, -4, 4), f64([3, 7], 178, -6, 6)]);
  });
});
