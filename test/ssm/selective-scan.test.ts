import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import * as mt from '../../src/index.js';
import { fastBackends } from '../backends/fast-backends.js';
import { assertClose, checkGrad, f64 } from '../helpers.js';
import { checkParity } from '../backends/parity.js';

const golden = JSON.parse(
  readFileSync(new URL('../../../test/fixtures/golden/selective-scan.json', import.meta.url), 'utf8'),
) as {
  shape: { batch: number; d: number; n: number; length: number };
  [k: string]: unknown;
};

/** [batch, c, length] row-major -> [batch, length, c] row-major. */
function channelsLast(values: number[], batch: number, channels: number, length: number): number[] {
  const out = new Array<number>(values.length);
  for (let b = 0; b < batch; b++)
    for (let c = 0; c < channels; c++)
      for (let t = 0; t < length; t++) out[(b * length + t) * channels + c] = values[(b * channels + c) * length + t]!;
  return out;
}

function goldenArgs(dtype: 'float64' | 'float32', backend: string | mt.Backend) {
  const { batch, d, n, length } = golden.shape;
  const make = (key: string, shape: number[], relayout?: number) => {
    let v = golden[key] as number[];
    if (relayout !== undefined) v = channelsLast(v, batch, relayout, length);
    return mt.fromArray(v, shape, { dtype, backend });
  };
  return {
    u: make('u', [batch, length, d], d),
    delta: make('delta', [batch, length, d], d),
    A: make('A', [d, n]),
    B: make('B', [batch, length, n], n),
    C: make('C', [batch, length, n], n),
    D: make('D', [d]),
    z: make('z', [batch, length, d], d),
    deltaBias: make('delta_bias', [d]),
    deltaSoftplus: true,
  };
}

describe('selective scan', () => {
  it('reproduces the reference implementation (golden vectors) in float64 and float32', () => {
    const { batch, d, length } = golden.shape;
    const expectedY = channelsLast(golden['y'] as number[], batch, d, length);
    const ref = mt.selectiveScan(goldenArgs('float64', 'reference'));
    assertClose(ref.y.toArray(), expectedY, 1e-12, 'y (float64)');
    assertClose(ref.lastState.toArray(), golden['last_state'] as number[], 1e-12, 'last state (float64)');
    for (const { label, backend } of fastBackends) {
      const fast = mt.selectiveScan(goldenArgs('float32', backend));
      assertClose(fast.y.toArray(), expectedY, 1e-5, `y (float32, ${label})`);
      assertClose(fast.lastState.toArray(), golden['last_state'] as number[], 1e-5, `last state (float32, ${label})`);
    }
  });

  const full =
    (chunk: number) =>
    (
      u: mt.Tensor,
      delta: mt.Tensor,
      A: mt.Tensor,
      B: mt.Tensor,
      C: mt.Tensor,
      D: mt.Tensor,
      z: mt.Tensor,
      bias: mt.Tensor,
      h0: mt.Tensor,
    ) => {
      const { y, lastState } = mt.selectiveScan(
        { u, delta, A, B, C, D, z, deltaBias: bias, initialState: h0 },
        { chunk },
      );
      return [y, lastState];
    };
  const inputs = (b: number, l: number, d: number, n: number, seed: number) => [
    f64([b, l, d], seed),
    f64([b, l, d], seed + 1, -3, 1),
    f64([d, n], seed + 2, -2, -0.1),
    f64([b, l, n], seed + 3),
    f64([b, l, n], seed + 4),
    f64([d], seed + 5),
    f64([b, l, d], seed + 6),
    f64([d], seed + 7, -1, 1),
    f64([b, d, n], seed + 8),
  ];

  it('gradients of every input, the initial state included, match finite differences', () => {
    for (const chunk of [1, 2, 64]) checkGrad(full(chunk), inputs(2, 5, 3, 4, 10 * chunk));
    checkGrad(full(3), inputs(1, 7, 2, 1, 90));
  });

  it('without the optional inputs and without softplus', () => {
    checkGrad(
      (u, delta, A, B, C) => mt.selectiveScan({ u, delta, A, B, C, deltaSoftplus: false }, { chunk: 2 }).y,
      [f64([2, 4, 3], 1), f64([2, 4, 3], 2, 0.01, 0.5), f64([3, 2], 3, -2, -0.1), f64([2, 4, 2], 4), f64([2, 4, 2], 5)],
    );
  });

  it('accepts strided sequences (slices of wider rows)', () => {
    checkGrad(
      (xz, dbc, A) => {
        const [u, z] = mt.split(xz, 3, 2);
        const [delta, B, C] = mt.split(dbc, [3, 2, 2], 2);
        return mt.selectiveScan({ u: u!, delta: delta!, A, B: B!, C: C!, z: z! }).y;
      },
      [f64([2, 4, 6], 21), f64([2, 4, 7], 22), f64([3, 2], 23, -2, -0.1)],
    );
  });

  it('scanning in two halves from the carried state equals one scan', () => {
    const [u, delta, A, B, C, D, z, bias] = inputs(2, 8, 3, 4, 40);
    const args = { A: A!, D: D!, deltaBias: bias! };
    const whole = mt.selectiveScan({ ...args, u: u!, delta: delta!, B: B!, C: C!, z: z! });
    const half = (t: mt.Tensor, i: number) => mt.slice(t, 1, i * 4, (i + 1) * 4);
    const first = mt.selectiveScan({
      ...args,
      u: half(u!, 0),
      delta: half(delta!, 0),
      B: half(B!, 0),
      C: half(C!, 0),
      z: half(z!, 0),
    });
    const second = mt.selectiveScan({
      ...args,
      u: half(u!, 1),
      delta: half(delta!, 1),
      B: half(B!, 1),
      C: half(C!, 1),
      z: half(z!, 1),
      initialState: first.lastState,
    });
    assertClose(mt.concat([first.y, second.y], 1).toArray(), whole.y.toArray(), 1e-12);
    assertClose(second.lastState.toArray(), whole.lastState.toArray(), 1e-12);
  });

  it('rejects shapes that do not fit, naming the input', () => {
    const [u, delta, A, B, C] = inputs(2, 5, 3, 4, 50);
    assert.throws(
      () => mt.selectiveScan({ u: u!, delta: delta!, A: A!, B: C!.slice(2, 0, 3), C: C! }),
      /selectiveScan: B must have shape \[2, 5, 4\], got \[2, 5, 3\]/,
    );
    assert.throws(
      () => mt.selectiveScan({ u: u!, delta: delta!, A: mt.transpose(A!), B: B!, C: C! }),
      /A must be \[3, dState\]/,
    );
  });

  it('wasm agrees with the reference backend, forward and backward', () => {
    for (const [b, l, d, n] of [
      [1, 1, 1, 1],
      [2, 9, 7, 16],
      [1, 33, 13, 5],
      [3, 4, 8, 16],
    ] as const) {
      checkParity(
        (u, delta, A, B, C, D, z, bias, h0) => {
          const r = mt.selectiveScan({ u, delta, A, B, C, D, z, deltaBias: bias, initialState: h0 }, { chunk: 4 });
          return [r.y, r.lastState];
        },
        [
          { shape: [b, l, d] },
          { shape: [b, l, d], range: [-4, 1] },
          { shape: [d, n], range: [-3, -0.05] },
          { shape: [b, l, n] },
          { shape: [b, l, n] },
          { shape: [d] },
          { shape: [b, l, d] },
          { shape: [d], range: [-1, 1] },
          { shape: [b, d, n] },
        ],
        { tol: 2e-5, gradTol: 1e-4 },
      );
    }
  });
});
