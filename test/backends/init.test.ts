import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as mt from '../../src/index.js';

// init() in Node, the same call the browser build makes before its first tensor. The wasm backend
// is loaded once per process, so the order of these tests matters: nothing before the threads
// test may create it.
describe("Node's init()", () => {
  it('rejects unknown backends and bad thread counts with a MambaError that names the fix', async () => {
    await assert.rejects(mt.init({ backend: 'gpu' as 'wasm' }), (e: Error) => {
      assert.ok(e instanceof mt.MambaError);
      assert.match(e.message, /unknown backend 'gpu'; use 'wasm' or 'reference'/);
      return true;
    });
    for (const threads of [0, 1.5, -2, Number.NaN])
      await assert.rejects(mt.init({ threads }), /threads must be a whole number of at least 1/);
    await assert.rejects(mt.init({ backend: 'reference', threads: 2 }), /threads applies to the wasm backend only/);
  });

  it("backend: 'reference' makes the reference backend the default", async () => {
    const backend = await mt.init({ backend: 'reference' });
    assert.equal(backend, mt.getBackend('reference'));
    assert.equal(mt.getBackend(), backend);
    assert.equal(mt.tensor([1, 2]).backend, backend);
  });

  it("makes a wasm backend with the threads asked for, registers it as 'wasm' and computes on it", async () => {
    const backend = await mt.init({ threads: 2 });
    assert.ok(backend instanceof mt.WasmBackend);
    assert.equal(backend.threads, 2);
    assert.equal(mt.getBackend(), backend);
    assert.equal(mt.getBackend('wasm'), backend);
    const y = mt
      .tensor([
        [1, 2],
        [3, 4],
      ])
      .matmul(mt.tensor([[1], [1]]));
    assert.equal(y.backend, backend);
    assert.deepEqual(y.toNested(), [[3], [7]]);
  });

  it('later calls reuse the first wasm backend', async () => {
    const first = mt.getBackend('wasm');
    await mt.init({ backend: 'reference' });
    assert.equal(await mt.init(), first);
    assert.equal(await mt.init({ threads: 1 }), first);
    assert.equal(mt.getBackend(), first);
  });
});
