import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as mt from '../../src/index.js';

const ref = { backend: 'reference' } as const;

describe('tensor creation and conversion', () => {
  it('infers shape and dtype from nested arrays and typed arrays', () => {
    const t = mt.tensor([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    assert.deepEqual(t.shape, [2, 3]);
    assert.equal(t.dtype, 'float32');
    assert.deepEqual(t.toNested(), [
      [1, 2, 3],
      [4, 5, 6],
    ]);
    assert.equal(mt.tensor(new Int32Array([1, 2])).dtype, 'int32');
    assert.equal(mt.tensor(new Float64Array([1]), ref).dtype, 'float64');
    assert.equal(mt.tensor(3.5).rank, 0);
    assert.equal(mt.tensor(3.5).item(), 3.5);
  });

  it('rejects ragged arrays and a wrong element count', () => {
    assert.throws(() => mt.tensor([[1, 2], [3]]), /ragged/);
    assert.throws(() => mt.fromArray([1, 2, 3], [2, 2]), /3 values cannot fill shape \[2, 2\]/);
    assert.throws(() => mt.zeros([2, -1]), /invalid shape/);
  });

  it('creates ranges, constants and seeded random tensors', () => {
    assert.deepEqual(Array.from(mt.arange(5).toArray()), [0, 1, 2, 3, 4]);
    assert.equal(mt.arange(5).dtype, 'int32');
    assert.deepEqual(Array.from(mt.arange(1, 2, 0.25).toArray()), [1, 1.25, 1.5, 1.75]);
    assert.deepEqual(Array.from(mt.full([2], 7).toArray()), [7, 7]);
    const a = mt.randn([10], { generator: new mt.Generator(3) }).toArray();
    const b = mt.randn([10], { generator: new mt.Generator(3) }).toArray();
    assert.deepEqual(a, b);
  });

  it('prints readably, summarising large tensors', () => {
    assert.equal(mt.tensor([[1, -2.5]]).toString(), 'tensor([[ 1.0000, -2.5000]], shape=[1, 2], dtype=float32)');
    const big = mt.zeros([50, 50]).toString();
    assert.match(big, /\.\.\./);
    assert.ok(big.split('\n').length < 12);
    assert.match(mt.arange(3).toString(), /tensor\(\[0, 1, 2\], shape=\[3\], dtype=int32\)/);
  });
});

describe('views', () => {
  const x = mt.arange(0, 24, 1, { dtype: 'float32' }).reshape([2, 3, 4]);

  it('reshape and permute share storage; contiguous() copies when needed', () => {
    const r = x.reshape([6, 4]);
    assert.equal(r.storage, x.storage);
    const p = x.permute([2, 0, 1]);
    assert.equal(p.storage, x.storage);
    assert.equal(p.isContiguous, false);
    assert.deepEqual(p.shape, [4, 2, 3]);
    assert.deepEqual(Array.from(p.contiguous().toArray().slice(0, 6)), [0, 4, 8, 12, 16, 20]);
    assert.deepEqual(Array.from(x.transpose(0, 2).reshape([-1]).toArray().slice(0, 3)), [0, 12, 4]);
  });

  it('slice with steps, select, expand and flip read the right elements', () => {
    assert.deepEqual(x.slice(2, 1, 4, 2).toNested(), [
      [
        [1, 3],
        [5, 7],
        [9, 11],
      ],
      [
        [13, 15],
        [17, 19],
        [21, 23],
      ],
    ]);
    assert.deepEqual(x.select(1, -1).toNested(), [
      [8, 9, 10, 11],
      [20, 21, 22, 23],
    ]);
    assert.deepEqual(
      mt
        .tensor([[1], [2]])
        .expand([2, 3])
        .toNested(),
      [
        [1, 1, 1],
        [2, 2, 2],
      ],
    );
    assert.deepEqual(
      mt
        .flip(
          mt.tensor([
            [1, 2],
            [3, 4],
          ]),
          1,
        )
        .toNested(),
      [
        [2, 1],
        [4, 3],
      ],
    );
  });

  it('handles empty tensors where shapes allow', () => {
    const e = mt.zeros([0, 3]);
    assert.deepEqual(mt.sum(e, 0).toNested(), [0, 0, 0]);
    assert.deepEqual(mt.matmul(e, mt.ones([3, 2])).shape, [0, 2]);
    assert.deepEqual(mt.concat([e, mt.ones([2, 3])]).shape, [2, 3]);
    assert.deepEqual(e.reshape([3, 0]).shape, [3, 0]);
    assert.deepEqual(mt.exp(e).shape, [0, 3]);
    assert.throws(() => mt.max(e, 0), /empty axis/);
  });
});

describe('clear errors', () => {
  it('a shape mismatch names the op and both shapes', () => {
    assert.throws(
      () => mt.matmul(mt.zeros([2, 3]), mt.zeros([4, 5])),
      /matmul: shapes \[2, 3\] and \[4, 5\] do not fit/,
    );
    assert.throws(() => mt.add(mt.zeros([2, 3]), mt.zeros([4])), /add: cannot broadcast shapes \[2, 3\] and \[4\]/);
    assert.throws(
      () => mt.conv2d(mt.zeros([1, 3, 5, 5]), mt.zeros([2, 2, 3, 3])),
      /conv2d: input \[1, 3, 5, 5\] and weight \[2, 2, 3, 3\]/,
    );
    assert.throws(() => mt.linear(mt.zeros([2, 3]), mt.zeros([4, 5])), /linear: input \[2, 3\] has 3 features/);
  });

  it('use of a disposed tensor says so', () => {
    const t = mt.ones([2]);
    t.dispose();
    assert.throws(
      () => t.add(1),
      (e: Error) => e instanceof mt.DisposedError && /disposed tensor \(shape \[2\]/.test(e.message),
    );
    assert.match(t.toString(), /disposed/);
  });

  it('wrong dtypes and out-of-range indices are named', () => {
    assert.throws(() => mt.exp(mt.arange(3)), /exp: expects a float tensor, got int32/);
    assert.throws(() => mt.add(mt.zeros([2]), mt.arange(2)), /add: dtypes differ \(float32 and int32\)/);
    assert.throws(
      () => mt.embedding(mt.zeros([3, 2]), mt.tensor(new Int32Array([3]))),
      /index 3 is out of range for axis 0 of size 3/,
    );
    assert.throws(
      () => mt.crossEntropy(mt.zeros([1, 3]), mt.tensor(new Int32Array([5]))),
      /target 5 is out of range for 3 classes/,
    );
  });
});

describe('autograd', () => {
  it('accumulates gradients over backward calls and through reuse', () => {
    const x = mt.tensor([1, 2, 3], { requiresGrad: true });
    mt.mul(x, x).sum().backward();
    assert.deepEqual(Array.from(x.grad!.toArray()), [2, 4, 6]);
    mt.sum(x).backward();
    assert.deepEqual(Array.from(x.grad!.toArray()), [3, 5, 7]);
  });

  it('detach and noGrad stop the graph', () => {
    const x = mt.tensor([1, 2], { requiresGrad: true });
    assert.equal(x.detach().mul(2).requiresGrad, false);
    assert.equal(mt.noGrad(() => x.mul(2)).requiresGrad, false);
    assert.throws(() => x.detach().sum().backward(), /does not require grad/);
  });

  it('a second backward needs retainGraph; implicit gradients need a scalar', () => {
    const x = mt.tensor([1, 2], { requiresGrad: true });
    const y = mt.exp(x).sum();
    y.backward(undefined, { retainGraph: true });
    y.backward();
    assert.throws(() => y.backward(), /a second time/);
    assert.throws(() => mt.exp(x).backward(), /single-element/);
  });

  it('multi-output ops route each gradient to its input', () => {
    const x = mt.tensor([[1, 2, 3, 4]], { requiresGrad: true });
    const [a, b] = mt.split(x, [1, 3], 1);
    mt.add(mt.sum(a!).mul(10), mt.sum(b!)).backward();
    assert.deepEqual(Array.from(x.grad!.toArray()), [10, 1, 1, 1]);
  });
});

describe('deterministic memory', () => {
  it('a scope frees what it created but did not return', () => {
    const backend = mt.getBackend('reference');
    const before = backend.bytesInUse();
    const kept = mt.scope(() => {
      const a = mt.ones([100], ref);
      const b = a.mul(2);
      mt.scope(() => b.add(1));
      return { result: b.sum(), list: [a.slice(0, 10)] };
    });
    assert.equal(backend.bytesInUse() - before, 4 + 400);
    kept.result.dispose();
    kept.list[0]!.dispose();
    assert.equal(backend.bytesInUse(), before);
  });

  it('frees everything when the scoped function throws', () => {
    const backend = mt.getBackend('reference');
    const before = backend.bytesInUse();
    assert.throws(() =>
      mt.scope(() => {
        mt.ones([10], ref);
        throw new Error('boom');
      }),
    );
    assert.equal(backend.bytesInUse(), before);
  });

  it('disposing the output of an unused graph releases its saved tensors', () => {
    const backend = mt.getBackend('reference');
    const w = mt.ones([64], { ...ref, requiresGrad: true });
    const before = backend.bytesInUse();
    const out = mt.scope(() => mt.exp(mt.tanh(w.mul(3))).sum());
    assert.ok(backend.bytesInUse() > before + 4, 'saved intermediates are alive while the graph is reachable');
    out.dispose();
    assert.equal(backend.bytesInUse(), before);
  });

  it('bytes in use stay flat over many training steps', () => {
    const backend = mt.getBackend('reference');
    const g = new mt.Generator(5);
    const model = new mt.nn.Sequential(
      new mt.nn.Linear(8, 16, { generator: g }),
      new mt.nn.LayerNorm(16),
      new mt.nn.Activation('gelu'),
      new mt.nn.Dropout(0.1, g),
      new mt.nn.Linear(16, 4, { generator: g }),
    );
    const opt = new mt.AdamW(model.parameters(), { lr: 1e-2 });
    const x = mt.randn([6, 8], { generator: g });
    const y = mt.tensor(new Int32Array([0, 1, 2, 3, 0, 1]));
    const step = () =>
      mt.scope(() => {
        const loss = mt.crossEntropy(model.forward(x), y);
        opt.zeroGrad();
        loss.backward();
        opt.step();
        return loss.item();
      });
    step();
    step();
    const settled = backend.bytesInUse();
    let last = 0;
    for (let i = 0; i < 200; i++) last = step();
    assert.equal(backend.bytesInUse(), settled);
    assert.ok(last < 0.5, `the model fits the batch (loss ${last})`);
    opt.dispose();
    model.dispose();
    x.dispose();
    y.dispose();
  });
});

describe('random generator', () => {
  it('is reproducible and restorable', () => {
    const a = new mt.Generator(42);
    const b = new mt.Generator(42);
    const xs = Array.from({ length: 5 }, () => a.uniform());
    assert.deepEqual(
      xs,
      Array.from({ length: 5 }, () => b.uniform()),
    );
    const state = a.getState();
    const next = [a.normal(), a.normal(), a.uniform()];
    a.setState(state);
    assert.deepEqual([a.normal(), a.normal(), a.uniform()], next);
    assert.notDeepEqual(
      xs,
      Array.from({ length: 5 }, () => new mt.Generator(43).uniform()),
    );
  });

  it('gives the right moments and true permutations', () => {
    const g = new mt.Generator(1);
    const n = 20000;
    let s = 0;
    let s2 = 0;
    for (let i = 0; i < n; i++) {
      const v = g.normal();
      s += v;
      s2 += v * v;
    }
    assert.ok(Math.abs(s / n) < 0.03);
    assert.ok(Math.abs(s2 / n - 1) < 0.05);
    const p = Array.from(g.permutation(100)).sort((x, y) => x - y);
    assert.deepEqual(
      p,
      Array.from({ length: 100 }, (_, i) => i),
    );
  });
});
