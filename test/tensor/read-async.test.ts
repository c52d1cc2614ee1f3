import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as mt from '../../src/index.js';
import { fastBackends } from '../backends/fast-backends.js';
import { OwnMemoryBackend } from '../backends/own-memory-backend.js';

const backends: { label: string; backend: mt.Backend }[] = [
  { label: 'reference', backend: mt.getBackend('reference') },
  ...fastBackends,
];

describe('data() and itemAsync(), the asynchronous twins of toArray() and item()', () => {
  for (const { label, backend } of backends) {
    it(`${label}: the same elements as toArray(), views included`, async () => {
      const x = mt.fromArray(
        Float32Array.from({ length: 12 }, (_, i) => i * 0.5 - 2),
        [3, 4],
        { backend },
      );
      for (const view of [
        x,
        mt.transpose(x),
        mt.slice(x, 1, 1, 3),
        x.restride([4], [-3], 9),
        x.restride([2, 3], [0, 1]),
      ]) {
        const data = await view.data();
        assert.ok(data instanceof Float32Array);
        assert.deepEqual(Array.from(data), Array.from(view.toArray()), `shape ${view.shape}, strides ${view.strides}`);
      }
      const ids = mt.fromArray(new Int32Array([4, -2, 7]), [3], { backend });
      assert.deepEqual(await ids.data(), new Int32Array([4, -2, 7]));
      assert.equal(await mt.sum(x).itemAsync(), mt.sum(x).item());
      await assert.rejects(x.itemAsync(), /itemAsync\(\): the tensor has 12 elements/);
    });

    it(`${label}: a read under way keeps the memory it reads, and frees its copy of a view`, async () => {
      const before = backend.bytesInUse();
      const x = mt.fromArray(new Float32Array([1, 2, 3, 4]), [2, 2], { backend });
      const t = mt.transpose(x);
      const pending = [x.data(), t.data()];
      x.dispose();
      t.dispose();
      assert.deepEqual(
        (await Promise.all(pending)).map((a) => Array.from(a)),
        [
          [1, 2, 3, 4],
          [1, 3, 2, 4],
        ],
      );
      assert.equal(backend.bytesInUse(), before);
    });
  }

  it('on a backend that cannot read synchronously, toArray() names data() and data() works', async () => {
    const backend = mt.withFallback(
      new OwnMemoryBackend('async-only', ['copy', 'fill'], false),
      mt.getBackend('reference'),
      () => {
        throw new Error('no kernel of this test needs the fallback');
      },
    );
    const x = mt.fromArray(new Float32Array([1, 2, 3, 4, 5, 6]), [2, 3], { backend });
    assert.throws(
      () => x.toArray(),
      (e: Error) => e instanceof mt.MambaError && /await tensor\.data\(\)/.test(e.message),
    );
    assert.deepEqual(Array.from(await mt.transpose(x).data()), [1, 4, 2, 5, 3, 6]);
    assert.equal(await x.restride([], [], 4).itemAsync(), 5);
  });
});
