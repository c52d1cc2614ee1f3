import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import * as mt from '../../src/index.js';
import { assertClose } from '../helpers.js';

interface Stored {
  shape: number[];
  data: number[];
  int?: boolean;
}
interface Case {
  inputs: Record<string, Stored>;
  upstream: Stored;
  output: Stored;
  grads: Record<string, Stored>;
  options?: Record<string, unknown>;
}

const fixture = JSON.parse(readFileSync(new URL('../../../test/fixtures/torch-ops.json', import.meta.url), 'utf8')) as {
  torch: string;
  cases: Record<string, Case>;
};

type Inputs = Record<string, mt.Tensor>;
const ops: Record<string, (i: Inputs, o: Record<string, unknown>) => mt.Tensor> = {
  gelu: (i) => mt.gelu(i.x!),
  gelu_tanh: (i) => mt.gelu(i.x!, 'tanh'),
  silu: (i) => mt.silu(i.x!),
  softplus: (i) => mt.softplus(i.x!),
  softplus_beta2: (i) => mt.softplus(i.x!, 2, 20),
  log_softmax_axis1: (i) => mt.logSoftmax(i.x!, 1),
  softmax: (i) => mt.softmax(i.x!),
  cross_entropy: (i) => mt.crossEntropy(i.x!, i.y!),
  layer_norm: (i) => mt.layerNorm(i.x!, i.w, i.b),
  rms_norm: (i) => mt.rmsNorm(i.x!, i.w),
  instance_norm: (i) => mt.instanceNorm(i.x!, i.w, i.b),
  conv2d: (i, o) => mt.conv2d(i.x!, i.w!, i.b, o as mt.Conv2dOptions),
  conv_transpose2d: (i, o) => mt.convTranspose2d(i.x!, i.w!, i.b, o as mt.ConvTranspose2dOptions),
  conv1d: (i, o) => mt.conv1d(i.x!, i.w!, i.b, o as mt.Conv1dOptions),
  max_pool2d: (i) => mt.maxPool2d(i.x!, 3, { stride: 2, padding: 1 }),
  avg_pool2d: (i) => mt.avgPool2d(i.x!, 2, { stride: 2, padding: 1 }),
  topk: (i) => mt.topk(i.x!, 3, 1).values,
  gather: (i) => mt.gather(i.x!, 1, i.i!),
  scatter_add: (i) => mt.scatterAdd(i.x!, 0, i.i!, i.s!),
  index_add: (i) => mt.indexAdd(i.x!, 0, i.i!, i.s!),
  matmul_batched: (i) => mt.matmul(i.a!, i.b!),
  pow_tensor: (i) => mt.pow(i.a!, i.b!),
};

describe(`forward and backward agree with PyTorch ${fixture.torch} (float64)`, () => {
  it('covers every stored case', () => assert.deepEqual(Object.keys(ops).sort(), Object.keys(fixture.cases).sort()));
  for (const [name, c] of Object.entries(fixture.cases)) {
    it(name, () => {
      const inputs: Inputs = {};
      for (const [k, v] of Object.entries(c.inputs)) {
        inputs[k] = v.int
          ? mt.fromArray(new Int32Array(v.data), v.shape, { backend: 'reference' })
          : mt.fromArray(v.data, v.shape, { dtype: 'float64', backend: 'reference', requiresGrad: true });
      }
      const out = ops[name]!(inputs, c.options ?? {});
      assert.deepEqual(out.shape, c.output.shape);
      assertClose(out.toArray(), c.output.data, 1e-10, `${name} output`);
      out.backward(mt.fromArray(c.upstream.data, c.upstream.shape, { dtype: 'float64', backend: 'reference' }));
      for (const [k, g] of Object.entries(c.grads)) {
        assertClose(inputs[k]!.grad!.toArray(), g.data, 1e-10, `${name} grad of ${k}`);
      }
    });
  }
});
