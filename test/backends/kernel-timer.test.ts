import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as mt from '../../src/index.js';
import { OwnMemoryBackend } from './own-memory-backend.js';

/** A clock that moves on by one millisecond each time it is read: every kernel call then takes exactly 1 ms. */
function tickingClock(): () => number {
  let now = 0;
  return () => now++;
}

/** Runs fn with `backend` as the default for new tensors, then restores the previous default. */
function withDefault<T>(backend: mt.Backend, fn: () => T): T {
  const previous = mt.getBackend();
  mt.setBackend(backend);
  try {
    return mt.scope(fn);
  } finally {
    mt.setBackend(previous);
  }
}

function tinyModelLogits(): Float32Array {
  const model = new mt.MambaLM(mt.mambaConfig({ dModel: 16, nLayer: 2, vocabSize: 32 }), {
    generator: new mt.Generator(3),
  });
  const logits = model.forward(mt.fromArray(new Int32Array([1, 5, 9, 2, 7, 30]), [1, 6])).toArray() as Float32Array;
  model.dispose();
  return logits;
}

describe('timeKernels', () => {
  it('counts each call, sums its time and its written elements per kernel and per family', () => {
    const timer = mt.timeKernels(new mt.ReferenceBackend(), tickingClock());
    withDefault(timer.backend, () => {
      const a = mt.fromArray([1, 2, 3, 4, 5, 6], [2, 3]);
      const b = mt.fromArray([1, 0, 0, 1, 1, 1], [3, 2]);
      mt.add(a, a);
      mt.mul(a, a);
      mt.matmul(a, b);
    });
    const report = timer.report();
    const binary = report.kernels.find((k) => k.kernel === 'binary')!;
    const matmul = report.kernels.find((k) => k.kernel === 'matmul')!;
    assert.deepEqual(
      { calls: binary.calls, ms: binary.ms, elements: binary.elementsWritten, family: binary.family },
      { calls: 2, ms: 2, elements: 12, family: 'elementwise' },
    );
    assert.deepEqual(
      { calls: matmul.calls, ms: matmul.ms, elements: matmul.elementsWritten, family: matmul.family },
      { calls: 1, ms: 1, elements: 4, family: 'matmul' },
    );
    // One tick per call with the ticking clock: totals are the call counts, everywhere.
    assert.equal(report.ms, report.calls);
    assert.equal(timer.kernelMs(), report.ms);
    assert.equal(
      report.kernels.reduce((sum, k) => sum + k.calls, 0),
      report.calls,
    );
    assert.equal(
      report.families.reduce((sum, f) => sum + f.ms, 0),
      report.ms,
    );
    assert.ok(report.kernels.every((k) => k.calls > 0 && !k.fallback));

    timer.reset();
    assert.deepEqual(timer.report(), { calls: 0, ms: 0, elementsWritten: 0, kernels: [], families: [] });
    withDefault(timer.backend, () => {
      const x = mt.fromArray([1, 2], [2]);
      mt.add(x, x);
    });
    assert.equal(timer.report().kernels.find((k) => k.kernel === 'binary')!.calls, 1);
  });

  it('passes results through unchanged: a model forward matches the untimed backend bit for bit', () => {
    const plain = withDefault(new mt.ReferenceBackend(), tinyModelLogits);
    const timer = mt.timeKernels(new mt.ReferenceBackend());
    const timed = withDefault(timer.backend, tinyModelLogits);
    assert.deepEqual(timed, plain);
    assert.ok(timer.report().calls > 0);
    assert.ok(timer.report().kernels.some((k) => k.kernel === 'selectiveScan'));
  });

  it("keeps the backend's own members and marks kernels that run on a composed backend's fallback", () => {
    const own = new OwnMemoryBackend('own-memory', ['binary', 'fill', 'copy']);
    const timer = mt.timeKernels(mt.withFallback(own, new mt.ReferenceBackend()), tickingClock());
    assert.equal(timer.backend.name, 'own-memory');
    withDefault(timer.backend, () => {
      const x = mt.fromArray([3, 1, 2], [3]);
      mt.add(x, x);
      mt.topk(x, 1);
    });
    const rows = timer.report().kernels;
    assert.equal(rows.find((k) => k.kernel === 'binary')!.fallback, false);
    assert.equal(rows.find((k) => k.kernel === 'topk')!.fallback, true);
    // The wrapped kernel ran on the backend itself, not on the proxy.
    assert.equal(own.calls.get('binary'), 1);
    assert.equal(timer.backend.bytesInUse(), own.bytesInUse());
  });
});
