import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { describe, it } from 'node:test';
import * as mt from '../../src/index.js';
import { checkThreadCount, MAX_THREADS_PER_CORE } from '../../src/backends/threads.js';

const cores = availableParallelism();

describe('thread counts of the wasm backend', () => {
  it('are whole numbers from 1 to 4 per core, with the limit and the fix named', () => {
    assert.equal(checkThreadCount(1, 'threads', cores), 1);
    assert.equal(checkThreadCount(MAX_THREADS_PER_CORE * cores, 'threads', cores), MAX_THREADS_PER_CORE * cores);
    for (const bad of [0, -1, 2.5, Number.NaN, Infinity])
      assert.throws(
        () => checkThreadCount(bad, 'init: threads', cores),
        /^MambaError: init: threads must be a whole number of at least 1/,
      );
    assert.throws(
      () => checkThreadCount(256, 'threads', 2),
      /threads is 256, more than 4 per core of this machine's 2 \(at most 8\); .* use at most 2$/,
    );
    assert.equal(checkThreadCount(256, 'threads'), 256, 'unbounded where the cores are unknown');
  });

  it('createNodeWasmBackend refuses absurd counts, from its options or MAMBA_TS_THREADS, before starting workers', () => {
    assert.throws(
      () => mt.createNodeWasmBackend({ threads: MAX_THREADS_PER_CORE * cores + 1 }),
      (e: Error) =>
        e instanceof mt.MambaError && e.message.startsWith(`threads is ${MAX_THREADS_PER_CORE * cores + 1}`),
    );
    const saved = process.env['MAMBA_TS_THREADS'];
    try {
      for (const value of ['lots', '0', String(MAX_THREADS_PER_CORE * cores + 1)]) {
        process.env['MAMBA_TS_THREADS'] = value;
        assert.throws(() => mt.createNodeWasmBackend(), /^MambaError: MAMBA_TS_THREADS (must be|is)/, value);
      }
      process.env['MAMBA_TS_THREADS'] = '1';
      const backend = mt.createNodeWasmBackend();
      assert.equal((backend as unknown as { threads: number }).threads, 1);
    } finally {
      if (saved === undefined) delete process.env['MAMBA_TS_THREADS'];
      else process.env['MAMBA_TS_THREADS'] = saved;
    }
  });
});
