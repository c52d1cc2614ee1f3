import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KERNEL_NAMES } from '../../src/backends/kernel-signatures.js';
import * as mt from '../../src/index.js';
import { OwnMemoryBackend } from './own-memory-backend.js';

// A partial backend with memory of its own, completed by the reference backend through the
// copying bridge. Its own kernels are the reference code, so everything must agree with the
// reference backend to the bit: any difference is the bridge's.

const OWN: mt.KernelName[] = ['copy', 'fill', 'unary', 'binary', 'matmul'];

/** The reference backend, counting the kernels run on it and the storages allocated through it. */
function countingReference(): { backend: mt.Backend; calls: Set<mt.KernelName>; allocs: () => number } {
  const base = new mt.ReferenceBackend();
  const counting = Object.create(base) as Record<string, unknown>;
  const calls = new Set<mt.KernelName>();
  let allocs = 0;
  for (const name of KERNEL_NAMES) {
    const kernel = base[name] as (...args: unknown[]) => void;
    counting[name] = (...args: unknown[]) => {
      calls.add(name);
      kernel.apply(base, args);
    };
  }
  // With `this` the counting object, as free and bytesInUse run, so that the byte count is one.
  counting['alloc'] = (dtype: mt.DType, length: number) => {
    allocs++;
    return base.alloc.call(counting, dtype, length);
  };
  return { backend: counting as unknown as mt.Backend, calls, allocs: () => allocs };
}

function composed(kernels = OWN) {
  const own = new OwnMemoryBackend('own-memory', kernels);
  const fallback = countingReference();
  return { own, fallback, backend: mt.withFallback(own, fallback.backend) };
}

const reference = mt.getBackend('reference');

/** Runs fn on the reference backend and on the composed one; both results, as plain arrays. */
function onBoth<T>(fn: (backend: mt.Backend) => T, backend: mt.Backend = composed().backend): [T, T] {
  return [mt.scope(() => fn(reference)), mt.scope(() => fn(backend))];
}

function floats(backend: mt.Backend, n: number, seed: number): mt.Tensor {
  const g = new mt.Generator(seed);
  return mt.fromArray(
    Float32Array.from({ length: n }, () => g.uniform() * 4 - 2),
    [n],
    { backend },
  );
}

/** An output for a kernel to write, filled with a value it never writes. */
function blank(backend: mt.Backend, shape: number[]): mt.Tensor {
  return mt.full(shape, 99, { backend });
}

function ints(backend: mt.Backend, values: number[]): mt.Tensor {
  return mt.fromArray(new Int32Array(values), [values.length], { backend });
}

describe('a partial backend completed by a fallback (withFallback)', () => {
  it('reports the kernels it takes from the fallback, and keeps its own name, dtypes and memory', () => {
    const { own, backend } = composed();
    assert.deepEqual(
      backend.fallbackKernels,
      KERNEL_NAMES.filter((k) => !OWN.includes(k)),
    );
    assert.equal(backend.name, 'own-memory');
    assert.deepEqual(backend.dtypes, ['float32', 'int32']);
    const t = mt.fromArray(new Float32Array([1, 2, 3]), [3], { backend });
    assert.equal(own.bytesInUse(), 12);
    assert.equal(backend.bytesInUse(), 12);
    t.dispose();
    assert.equal(own.bytesInUse(), 0);
    assert.ok(backend instanceof OwnMemoryBackend);
  });

  it('a Mamba LM gives the reference logits, loss and parameter gradients to the bit', () => {
    const { own, fallback, backend } = composed();
    const run = (b: mt.Backend) => {
      const previous = mt.getBackend();
      mt.setBackend(b);
      try {
        const model = new mt.MambaLM(mt.mambaConfig({ dModel: 16, nLayer: 2, vocabSize: 32 }), {
          generator: new mt.Generator(3),
        });
        const result = mt.scope(() => {
          const input = mt.fromArray(
            new Int32Array([1, 5, 9, 30, 2, 2, 7, 31, 0, 4, 4, 8, 15, 16, 23, 11, 3, 6]),
            [2, 9],
          );
          const logits = model.forward(input);
          const loss = mt.crossEntropy(mt.slice(logits, 1, 0, -1), mt.slice(input, 1, 1));
          loss.backward();
          return {
            logits: Array.from(logits.toArray()),
            loss: loss.item(),
            grads: [...model.namedParameters()].map(([name, p]) => [name, Array.from(p.grad!.toArray())] as const),
          };
        });
        model.dispose();
        return result;
      } finally {
        mt.setBackend(previous);
      }
    };
    const expected = run(reference);
    const actual = run(backend);
    assert.deepEqual(actual.logits, expected.logits);
    assert.equal(actual.loss, expected.loss);
    assert.deepEqual(actual.grads, expected.grads);
    // Both sides did work: the double ran its own kernels, the fallback only the others.
    for (const k of OWN) assert.ok((own.calls.get(k) ?? 0) > 0, `${k} ran on the partial backend`);
    for (const k of ['selectiveScan', 'selectiveScanGrad', 'indexSelect', 'causalConv1d'] as const)
      assert.ok(fallback.calls.has(k), `${k} ran on the fallback`);
    for (const k of fallback.calls) assert.ok(backend.fallbackKernels.includes(k), `${k} is a fallback kernel`);
    // Nothing leaks: the model is disposed, and the bridge freed every temporary.
    assert.equal(own.bytesInUse(), 0);
    assert.equal(fallback.backend.bytesInUse(), 0);
  });

  it('copies a negative-stride view into a strided output, leaving the gaps between its elements alone', () => {
    const { backend } = composed(['fill']);
    const [expected, actual] = onBoth((b) => {
      const buffer = mt.full([10], -7, { backend: b });
      const x = floats(b, 5, 1);
      b.copy(buffer.restride([5], [2], 1).view(), x.restride([5], [-1], 4).view());
      return [Array.from(buffer.toArray()), Array.from(x.toArray())];
    }, backend);
    assert.deepEqual(actual, expected);
    const [out, x] = actual;
    assert.deepEqual(out, [-7, x![4], -7, x![3], -7, x![2], -7, x![1], -7, x![0]]);
  });

  it('reads broadcast (stride 0), transposed and flipped views', () => {
    const [expected, actual] = onBoth((b) => {
      const x = floats(b, 12, 2);
      const row = floats(b, 4, 3);
      const cond = ints(b, [1, 0, 0, 1]);
      const sums = blank(b, [4, 1]);
      // x as [4, 3] transposed and flipped along its rows: strides [-1, 4] from the last element of a column.
      b.reduce('sum', sums.view(), x.restride([4, 3], [-1, 4], 3).view(), [1]);
      const picked = blank(b, [3, 4]);
      b.where(
        picked.view(),
        cond.restride([3, 4], [0, 1]).view(),
        x.restride([3, 4], [4, -1], 3).view(),
        row.restride([3, 4], [0, 1]).view(),
      );
      const gathered = blank(b, [2, 3]);
      b.gather(
        gathered.view(),
        x.restride([2, 6], [-6, 1], 6).view(),
        1,
        ints(b, [5, 0, 1, 2, 3, 4]).restride([2, 3], [1, 2]).view(),
      );
      return [sums, picked, gathered].map((t) => Array.from(t.toArray()));
    });
    assert.deepEqual(actual, expected);
  });

  it('accumulates in place (indexAdd into a slice at an offset, scatterAdd from strided views)', () => {
    const [expected, actual] = onBoth((b) => {
      const out = mt.full([4, 3], 0.5, { backend: b });
      b.indexAdd(
        out.restride([2, 3], [3, 1], 3).view(),
        0,
        ints(b, [1, 0, 1]).view(),
        floats(b, 9, 4).restride([3, 3], [3, 1]).view(),
      );
      const target = mt.full([3, 4], 1, { backend: b });
      const index = ints(b, [2, 0, 1, 1, 2, 0]);
      b.scatterAdd(
        target.view(),
        0,
        index.restride([2, 3], [1, 2]).view(),
        floats(b, 6, 5).restride([2, 3], [1, 2]).view(),
      );
      return [Array.from(out.toArray()), Array.from(target.toArray())];
    });
    assert.deepEqual(actual, expected);
    assert.deepEqual(actual[0]!.slice(0, 3), [0.5, 0.5, 0.5]);
  });

  it('copies back what a failing kernel wrote, as the fallback leaves it (indexAdd before a bad index)', () => {
    const [expected, actual] = onBoth((b) => {
      const out = mt.full([3, 2], 0, { backend: b });
      const src = mt.fromArray(new Float32Array([1, 2, 3, 4, 5, 6]), [3, 2], { backend: b });
      assert.throws(() => b.indexAdd(out.view(), 0, ints(b, [2, 0, 9]).view(), src.view()), /index 9 is out of range/);
      return Array.from(out.toArray());
    });
    assert.deepEqual(actual, expected);
    assert.deepEqual(actual, [3, 4, 0, 0, 1, 2]);
  });

  it("keeps selectiveScan's lastState aliased to h0 (one fallback copy per storage), with null optional views", () => {
    const { fallback, backend } = composed();
    const [batch, len, dim, n] = [2, 5, 3, 4];
    const [expected, actual] = onBoth((b) => {
      const seq = (seed: number, size: number) =>
        floats(b, batch * len * size, seed).restride([batch, len, size], [len * size, size, 1]);
      const A = mt.neg(mt.abs(floats(b, dim * n, 6))).restride([dim, n], [n, 1]);
      const state = floats(b, batch * dim * n, 7).restride([batch, dim, n], [dim * n, n, 1]);
      const y = blank(b, [batch, len, dim]);
      const inputs = {
        u: seq(8, dim).view(),
        delta: seq(9, dim).view(),
        A: A.view(),
        B: seq(10, n).view(),
        C: seq(11, n).view(),
        D: null,
        z: null,
        deltaBias: null,
        h0: state.view(),
      };
      const before = fallback.allocs();
      b.selectiveScan(y.view(), state.view(), null, inputs, true, 64);
      // y, the state (h0 and lastState), u, delta, A, B and C: seven storages.
      if (b === backend) assert.equal(fallback.allocs() - before, 7);
      return [Array.from(y.toArray()), Array.from(state.toArray())];
    }, backend);
    assert.deepEqual(actual, expected);
  });

  it('passes null optional views as null (layer norm without weight and bias, and its gradient)', () => {
    const [expected, actual] = onBoth((b) => {
      const x = floats(b, 12, 12).restride([3, 4], [4, 1]);
      const g = floats(b, 12, 13).restride([3, 4], [4, 1]);
      const [out, dx] = [blank(b, [3, 4]), blank(b, [3, 4])];
      const [mean, rstd] = [blank(b, [3]), blank(b, [3])];
      b.layerNorm(out.view(), mean.view(), rstd.view(), x.view(), null, null, 1e-5);
      b.layerNormGrad(dx.view(), null, null, g.view(), x.view(), mean.view(), rstd.view(), null);
      return [out, mean, rstd, dx].map((t) => Array.from(t.toArray()));
    });
    assert.deepEqual(actual, expected);
  });

  it('a kernel that neither backend has is a MambaError naming the kernel and both backends', () => {
    const backend = mt.withFallback(new OwnMemoryBackend('tiny', ['fill']), new OwnMemoryBackend('tinier', ['copy']));
    assert.deepEqual(backend.fallbackKernels, ['copy']);
    const x = mt.fromArray(new Float32Array([3, 1, 2]), [3], { backend });
    // copy runs on the fallback, which has memory of its own too.
    assert.deepEqual(Array.from(mt.contiguous(x.restride([3], [-1], 2)).toArray()), [2, 1, 3]);
    assert.throws(
      () => mt.topk(x, 2),
      (e: Error) =>
        e instanceof mt.MambaError &&
        /the tiny backend has no 'topk' kernel, and neither has its fallback, the tinier backend/.test(e.message),
    );
  });

  it('registerBackend composes a partial backend with a named fallback, and refuses an incomplete one', () => {
    mt.registerBackend('own-memory-registered', () => new OwnMemoryBackend('own-memory-registered', OWN), 'reference');
    const backend = mt.getBackend('own-memory-registered');
    const x = mt.fromArray(new Float32Array([1, 2, 3, 4]), [2, 2], { backend });
    assert.deepEqual(Array.from(mt.sum(x, 1).toArray()), [3, 7]);
    // A JavaScript caller can hand over a partial backend without a fallback.
    mt.registerBackend('incomplete', () => new OwnMemoryBackend('incomplete', OWN) as unknown as mt.Backend);
    assert.throws(
      () => mt.getBackend('incomplete'),
      /the incomplete backend lacks the kernels unaryGrad, where, .*register it with a fallback/,
    );
    assert.throws(
      () => mt.registerBackend('loop', () => new OwnMemoryBackend('loop', OWN), 'loop'),
      /cannot be its own fallback/,
    );
  });
});
