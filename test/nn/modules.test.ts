import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as mt from '../../src/index.js';
import { assertClose } from '../helpers.js';

const {
  Module,
  ModuleList,
  Linear,
  Conv2d,
  ConvTranspose2d,
  Conv1d,
  Embedding,
  LayerNorm,
  RMSNorm,
  InstanceNorm,
  Dropout,
} = mt.nn;

class Mixer extends Module {
  readonly inProj: InstanceType<typeof Linear>;
  readonly D: mt.Tensor;
  constructor(g: mt.Generator) {
    super();
    this.inProj = this.module('in_proj', new Linear(4, 8, { bias: false, generator: g }));
    this.D = this.param('D', mt.ones([8]));
  }
}

class Block extends Module {
  readonly mixer: Mixer;
  readonly norm: InstanceType<typeof RMSNorm>;
  constructor(g: mt.Generator) {
    super();
    this.norm = this.module('norm', new RMSNorm(4));
    this.mixer = this.module('mixer', new Mixer(g));
  }
}

class Tiny extends Module {
  readonly layers: InstanceType<typeof ModuleList<Block>>;
  constructor(seed: number) {
    super();
    const g = new mt.Generator(seed);
    this.layers = this.module('layers', new ModuleList([new Block(g), new Block(g)]));
  }
}

describe('modules', () => {
  it('state dict names follow PyTorch', () => {
    const m = new Tiny(0);
    assert.deepEqual(
      [...m.stateDict().keys()],
      [
        'layers.0.norm.weight',
        'layers.0.mixer.D',
        'layers.0.mixer.in_proj.weight',
        'layers.1.norm.weight',
        'layers.1.mixer.D',
        'layers.1.mixer.in_proj.weight',
      ],
    );
    assert.equal(m.numParameters(), 2 * (4 + 8 + 32));
    assert.match(m.toString(), /in_proj: Linear weight\[8, 4\]/);
  });

  it('loadStateDict copies by name and names every mismatch', () => {
    const a = new Tiny(1);
    const b = new Tiny(2);
    b.loadStateDict(a.stateDict());
    for (const [name, t] of a.stateDict()) assert.deepEqual(b.stateDict().get(name)!.toArray(), t.toArray(), name);
    const partial = new Map(a.stateDict());
    partial.delete('layers.1.mixer.D');
    partial.set('extra.weight', mt.zeros([1]));
    assert.throws(() => b.loadStateDict(partial), /missing: layers\.1\.mixer\.D; unexpected: extra\.weight/);
    assert.deepEqual(b.loadStateDict(partial, { strict: false }), {
      missing: ['layers.1.mixer.D'],
      unexpected: ['extra.weight'],
    });
    const wrong = new Map(a.stateDict());
    wrong.set('layers.0.mixer.D', mt.zeros([7]));
    assert.throws(
      () => b.loadStateDict(wrong),
      /'layers\.0\.mixer\.D' has shape \[7\] in the state dict but \[8\] in the module/,
    );
  });

  it('train and eval reach every child; dropout is the identity in eval', () => {
    const d = new Dropout(0.5);
    const x = mt.ones([1000]);
    const trained = d.forward(x).toArray();
    const zeros = trained.filter((v) => v === 0).length;
    assert.ok(zeros > 400 && zeros < 600);
    assert.ok(trained.every((v) => v === 0 || v === 2));
    const m = new Tiny(3);
    m.eval();
    assert.ok([...m.namedModules()].every(([, c]) => !c.training));
    d.eval();
    assert.equal(d.forward(x), x);
  });

  it('zeroGrad clears gradients', () => {
    const lin = new Linear(3, 2);
    lin
      .forward(mt.ones([1, 3]))
      .sum()
      .backward();
    assert.ok(lin.weight.grad);
    lin.zeroGrad();
    assert.equal(lin.weight.grad, null);
  });
});

function maxAbs(t: mt.Tensor): number {
  return Math.max(...Array.from(t.toArray(), Math.abs));
}

describe('layers and their PyTorch initialisation', () => {
  it('Linear: weight [out, in] and bias within 1/sqrt(in)', () => {
    const lin = new Linear(50, 40);
    assert.deepEqual(lin.weight.shape, [40, 50]);
    assert.ok(maxAbs(lin.weight) <= 1 / Math.sqrt(50));
    assert.ok(maxAbs(lin.weight) > 0.9 / Math.sqrt(50));
    assert.ok(maxAbs(lin.bias!) <= 1 / Math.sqrt(50));
    const y = lin.forward(mt.ones([2, 7, 50]));
    assert.deepEqual(y.shape, [2, 7, 40]);
  });

  it('Conv1d, Conv2d and ConvTranspose2d use fan-in bounds and the PyTorch weight layouts', () => {
    const c1 = new Conv1d(6, 4, 3, { groups: 2, padding: 1 });
    assert.deepEqual(c1.weight.shape, [4, 3, 3]);
    assert.ok(maxAbs(c1.weight) <= 1 / 3);
    assert.deepEqual(c1.forward(mt.ones([1, 6, 10])).shape, [1, 4, 10]);
    const c2 = new Conv2d(3, 8, [3, 5], { stride: 2, padding: [1, 2] });
    assert.deepEqual(c2.weight.shape, [8, 3, 3, 5]);
    assert.ok(maxAbs(c2.weight) <= 1 / Math.sqrt(45));
    assert.deepEqual(c2.forward(mt.ones([2, 3, 9, 9])).shape, [2, 8, 5, 5]);
    const ct = new ConvTranspose2d(8, 4, 2, { stride: 2 });
    assert.deepEqual(ct.weight.shape, [8, 4, 2, 2]);
    assert.ok(maxAbs(ct.weight) <= 1 / Math.sqrt(16));
    assert.deepEqual(ct.forward(mt.ones([1, 8, 5, 5])).shape, [1, 4, 10, 10]);
    assert.throws(
      () => new Conv2d(3, 8, 3, { groups: 2 }),
      /groups = 2 must divide both 3 input and 8 output channels/,
    );
  });

  it('Embedding is N(0, 1); norms start at weight 1 and bias 0', () => {
    const e = new Embedding(200, 50, { generator: new mt.Generator(9) });
    const w = Array.from(e.weight.toArray());
    const mean = w.reduce((a, b) => a + b, 0) / w.length;
    const variance = w.reduce((a, b) => a + (b - mean) ** 2, 0) / w.length;
    assert.ok(Math.abs(mean) < 0.02 && Math.abs(variance - 1) < 0.03);
    assert.deepEqual(e.forward(mt.tensor(new Int32Array([1, 2, 3, 4]), { shape: [2, 2] })).shape, [2, 2, 50]);
    const ln = new LayerNorm(5);
    assert.deepEqual(Array.from(ln.weight!.toArray()), [1, 1, 1, 1, 1]);
    assert.deepEqual(Array.from(ln.bias!.toArray()), [0, 0, 0, 0, 0]);
    assert.equal(new InstanceNorm(3).weight, null);
    assert.equal(new InstanceNorm(3, { affine: true }).parameters().length, 2);
  });

  it('normalising layers produce zero mean and unit scale', () => {
    const x = mt.randn([4, 16], { generator: new mt.Generator(2), mean: 3, std: 2 });
    const y = new LayerNorm(16).forward(x);
    const rows = mt.mean(y, 1).toArray();
    assertClose(rows, new Float32Array(4), 1e-5, 'row means');
    const r = new RMSNorm(16).forward(x);
    assertClose(mt.mean(mt.square(r), 1).toArray(), new Float32Array(4).fill(1), 1e-4, 'row mean squares');
  });
});

describe('optimizers', () => {
  it('AdamW matches a hand computation of one step with decoupled weight decay', () => {
    const p = mt.tensor([1, -2], { requiresGrad: true });
    const opt = new mt.AdamW([p], { lr: 0.1, weightDecay: 0.5 });
    mt.mul(p, mt.tensor([3, 4]))
      .sum()
      .backward();
    opt.step();
    // Step 1: m_hat = g, v_hat = g^2, so the Adam step is lr * sign(g) (up to eps).
    const expected = [1 * (1 - 0.1 * 0.5) - 0.1, -2 * (1 - 0.1 * 0.5) - 0.1];
    assertClose(p.toArray(), expected, 1e-6, 'parameters');
  });

  it('SGD with momentum accumulates velocity', () => {
    const p = mt.tensor([0], { requiresGrad: true });
    const opt = new mt.SGD([p], { lr: 1, momentum: 0.5 });
    for (let i = 0; i < 2; i++) {
      opt.zeroGrad();
      mt.sum(p).backward();
      opt.step();
    }
    assertClose(p.toArray(), [-(1 + 1.5)], 1e-7);
  });
});
