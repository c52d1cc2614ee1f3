import { backendOf, empty, requireFloat, requireSameDType } from '../ops/helpers.js';
import { contiguous, reshape } from '../ops/view.js';
import { recordsGradient } from '../tensor/autograd.js';
import { scope } from '../tensor/scope.js';
import { formatShape, shapesEqual } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { MambaError, ShapeError } from '../util/errors.js';
import type { MambaMixerConfig } from './mixer-config.js';

/** What one recurrent step of a Mamba mixer reads: a direction's parameters (see MambaBranch). */
export interface MambaStepWeights {
  /** [dInner, 1, dConv] as PyTorch's depthwise Conv1d stores it, or [dInner, dConv]. */
  conv1dWeight: Tensor;
  conv1dBias: Tensor | null;
  /** x_proj [dtRank + 2 dState, dInner] and dt_proj [dInner, dtRank] with its bias. */
  xProjWeight: Tensor;
  dtProjWeight: Tensor;
  dtProjBias: Tensor | null;
  ALog: Tensor;
  D: Tensor;
}

/** The recurrent state the step updates in place: conv [B, dConv-1, dInner], ssm [B, dInner, dState]. */
export interface MambaStepState {
  conv: Tensor;
  ssm: Tensor;
}

function stepParameters(weights: MambaStepWeights): Tensor[] {
  const { conv1dWeight, conv1dBias, xProjWeight, dtProjWeight, dtProjBias, ALog, D } = weights;
  return [conv1dWeight, xProjWeight, dtProjWeight, ALog, D, conv1dBias, dtProjBias].filter((t): t is Tensor => !!t);
}

/** Whether mambaStep can run on these inputs: nothing here would need a gradient. */
export function canStep(weights: MambaStepWeights, ...inputs: Tensor[]): boolean {
  return !recordsGradient([...inputs, ...stepParameters(weights)]);
}

/**
 * One token of a Mamba mixer between in_proj and out_proj, fused into one kernel (Kernels.mambaStep:
 * conv window, SiLU, x_proj, dt_proj with softplus, the state update h = exp(delta A) h + delta B u
 * of docs/mamba-spec.md §1.4, y = C.h + D u, the silu(z) gate). x and z are [B, dInner]; returns y
 * [B, dInner] and updates the state's tensors in place, which must be contiguous. Generation only:
 * it records no gradient, so it refuses to run where one would be needed.
 */
export function mambaStep(
  config: MambaMixerConfig,
  weights: MambaStepWeights,
  x: Tensor,
  z: Tensor,
  state: MambaStepState,
): Tensor {
  const { dInner, dState, dConv, dtRank } = config;
  const params = stepParameters(weights);
  if (recordsGradient([x, z, ...params]))
    throw new MambaError('mambaStep has no gradient: run it under noGrad(), or train through the selective scan');
  requireFloat('mambaStep', x);
  const batch = x.shape[0]!;
  const expect = (name: string, t: Tensor, shape: number[]) => {
    if (!shapesEqual(t.shape, shape))
      throw new ShapeError(`mambaStep: ${name} must have shape ${formatShape(shape)}, got ${formatShape(t.shape)}`);
    requireSameDType('mambaStep', x, t);
  };
  expect('x', x, [batch, dInner]);
  expect('z', z, [batch, dInner]);
  expect('the conv state', state.conv, [batch, dConv - 1, dInner]);
  expect('the SSM state', state.ssm, [batch, dInner, dState]);
  expect('x_proj.weight', weights.xProjWeight, [dtRank + 2 * dState, dInner]);
  expect('dt_proj.weight', weights.dtProjWeight, [dInner, dtRank]);
  expect('A_log', weights.ALog, [dInner, dState]);
  expect('D', weights.D, [dInner]);
  if (!state.conv.isContiguous || !state.ssm.isContiguous)
    throw new MambaError('mambaStep: the state tensors are updated in place and must be contiguous');
  const backend = backendOf('mambaStep', x, z, state.conv, state.ssm, ...params);
  return scope(() => {
    const dense = (t: Tensor | null) => (t ? contiguous(t).view() : null);
    const y = empty([batch, dInner], x.dtype, backend);
    backend.mambaStep(
      y.view(),
      state.conv.view(),
      state.ssm.view(),
      x.view(),
      z.view(),
      contiguous(reshape(weights.conv1dWeight, [dInner, dConv])).view(),
      dense(weights.conv1dBias),
      dense(weights.xProjWeight)!,
      dense(weights.dtProjWeight)!,
      dense(weights.dtProjBias),
      dense(weights.ALog)!,
      dense(weights.D),
    );
    return y;
  });
}
