import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as mt from '../../../src/index.js';
import { checkParity, type InputSpec } from '../parity.js';

interface StepCase {
  batch: number;
  dInner: number;
  dState: number;
  dConv: number;
  dtRank: number;
  biases: boolean;
}

/** One fused step on inputs built from x and z slices of a wider in_proj row, as the mixer passes them. */
function stepOp(c: StepCase) {
  const config = mt.mambaMixerConfig({
    dModel: 4,
    dInner: c.dInner,
    dState: c.dState,
    dConv: c.dConv,
    dtRank: c.dtRank,
  });
  return (...t: mt.Tensor[]) => {
    const [xz, conv, ssm, convW, xProjW, dtProjW, ALog, D, convB, dtB] = t as [mt.Tensor, ...mt.Tensor[]];
    const state = { conv: conv!, ssm: ssm! };
    const weights = {
      conv1dWeight: convW!,
      conv1dBias: c.biases ? convB! : null,
      xProjWeight: xProjW!,
      dtProjWeight: dtProjW!,
      dtProjBias: c.biases ? dtB! : null,
      ALog: ALog!,
      D: D!,
    };
    const x = mt.slice(xz, 1, 1, 1 + c.dInner);
    const z = mt.slice(xz, 1, 1 + c.dInner, 1 + 2 * c.dInner);
    const y = mt.noGrad(() => mt.mambaStep(config, weights, x, z, state));
    return [y, state.conv, state.ssm];
  };
}

function specs(c: StepCase): InputSpec[] {
  const { batch, dInner, dState, dConv, dtRank } = c;
  const spec = (shape: number[], range: [number, number] = [-1, 1]): InputSpec => ({ shape, range, grad: false });
  // Weights at the scale of their default initialisation (1/sqrt(fan-in)), so that delta stays in
  // the range training sees rather than overflowing the comparison.
  const bound = (fanIn: number): [number, number] => [-1 / Math.sqrt(fanIn), 1 / Math.sqrt(fanIn)];
  return [
    spec([batch, 2 * dInner + 3], [-2, 2]),
    spec([batch, dConv - 1, dInner]),
    spec([batch, dInner, dState]),
    spec([dInner, 1, dConv]),
    spec([dtRank + 2 * dState, dInner], bound(dInner)),
    spec([dInner, dtRank], bound(dtRank)),
    spec([dInner, dState], [-1, 2]),
    spec([dInner]),
    spec([dInner]),
    spec([dInner], [-4, 1]),
  ];
}

describe('mambaStep kernel', () => {
  it('equals the reference on every backend, odd and edge sizes included', () => {
    const cases: StepCase[] = [
      { batch: 1, dInner: 1536, dState: 16, dConv: 4, dtRank: 48, biases: true },
      { batch: 3, dInner: 37, dState: 5, dConv: 3, dtRank: 3, biases: true },
      { batch: 2, dInner: 13, dState: 1, dConv: 1, dtRank: 1, biases: false },
      { batch: 1, dInner: 1, dState: 4, dConv: 2, dtRank: 2, biases: true },
      { batch: 2, dInner: 6, dState: 19, dConv: 4, dtRank: 7, biases: false },
    ];
    for (const c of cases) checkParity(stepOp(c), specs(c), { tol: 5e-5, forwardOnly: true, seed: c.dInner });
  });

  it('refuses to run where a gradient would be recorded', () => {
    const config = mt.mambaMixerConfig({ dModel: 2, dInner: 4, dState: 2, dConv: 2, dtRank: 1 });
    const weights = {
      conv1dWeight: mt.randn([4, 1, 2]),
      conv1dBias: null,
      xProjWeight: mt.randn([5, 4]),
      dtProjWeight: mt.randn([4, 1]),
      dtProjBias: null,
      ALog: mt.randn([4, 2]),
      D: mt.randn([4], { requiresGrad: true }),
    };
    const state = { conv: mt.zeros([1, 1, 4]), ssm: mt.zeros([1, 4, 2]) };
    const [x, z] = [mt.randn([1, 4]), mt.randn([1, 4])];
    assert.throws(() => mt.mambaStep(config, weights, x, z, state), /no gradient: run it under noGrad/);
    assert.equal(mt.noGrad(() => mt.mambaStep(config, weights, x, z, state)).shape.join(), '1,4');
  });
});
