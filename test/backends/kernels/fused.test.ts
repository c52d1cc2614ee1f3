import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as mt from '../../../src/index.js';
import { checkParity } from '../parity.js';
import { assertClose } from '../../helpers.js';

describe('fused kernels', () => {
  it('addRmsNorm equals add then rmsNorm, on every backend', () => {
    for (const shape of [
      [4, 768],
      [3, 7],
      [1, 1],
      [2, 3, 5],
    ]) {
      checkParity(
        (x, r, w) => {
          const { out, sum } = mt.addRmsNorm(x, r, w);
          return [out, sum];
        },
        [{ shape }, { shape }, { shape: [shape[shape.length - 1]!] }],
        { tol: 1e-5 },
      );
    }
    const x = mt.randn([5, 9]);
    const r = mt.randn([5, 9]);
    const w = mt.randn([9]);
    const fused = mt.addRmsNorm(x, r, w);
    assertClose(fused.out.toArray(), mt.rmsNorm(mt.add(x, r), w).toArray(), 1e-6);
    assertClose(fused.sum.toArray(), mt.add(x, r).toArray(), 0);
    const first = mt.addRmsNorm(x, null, w);
    assert.equal(first.sum, x);
  });

  it('siluGate equals y * silu(z), on every backend', () => {
    for (const shape of [[2, 1536], [7], [3, 5, 3], [0, 4]]) {
      checkParity(
        mt.siluGate,
        [
          { shape, range: [-3, 3] },
          { shape, range: [-8, 8] },
        ],
        { tol: 2e-6 },
      );
    }
    const y = mt.randn([4, 6]);
    const z = mt.randn([4, 6]);
    assertClose(mt.siluGate(y, z).toArray(), mt.mul(y, mt.silu(z)).toArray(), 1e-6);
  });
});
