import { concat, split } from '../ops/shape-ops.js';
import { exp, neg, silu } from '../ops/elementwise.js';
import { causalConv1d } from '../ops/conv.js';
import { defaultFloatDType, fromArray, full, zeros } from '../ops/create.js';
import { linear } from '../ops/matmul.js';
import { contiguous, reshape, slice, squeeze, unsqueeze } from '../ops/view.js';
import { Linear } from '../nn/layers.js';
import { Module, NO_DECAY } from '../nn/module.js';
import { defaultBound, isInitialising, uniform, type InitOptions } from '../nn/init.js';
import { defaultGenerator } from '../tensor/random.js';
import { keep } from '../tensor/scope.js';
import type { Tensor } from '../tensor/tensor.js';
import type { MambaMixerConfig } from './mixer-config.js';
import { selectiveScan } from './selective-scan.js';
import { canStep, mambaStep, type MambaStepWeights } from './mamba-step.js';

/**
 * The recurrent state of one Mamba layer during generation: the last dConv-1 inputs of the
 * causal conv [B, dConv-1, dInner] and the SSM state [B, dInner, dState]. Its size does not
 * depend on how many tokens were seen.
 */
export type MambaLayerState = {
  conv: Tensor;
  ssm: Tensor;
};

function replace(state: MambaLayerState, key: keyof MambaLayerState, next: Tensor): void {
  const old = state[key];
  state[key] = keep(contiguous(next));
  if (old !== state[key]) old.dispose();
}

/**
 * The parameters of one scan direction: everything between in_proj and out_proj. A Mamba mixer
 * has one; Vim's bidirectional mixer (ssm/bimamba.ts) has a second, for the reversed sequence.
 */
export interface MambaBranch {
  readonly conv1dWeight: Tensor;
  readonly conv1dBias: Tensor | null;
  readonly xProj: Linear;
  readonly dtProj: Linear;
  readonly ALog: Tensor;
  readonly D: Tensor;
}

/** The PyTorch names a direction's parameters are registered under. */
export interface MambaBranchNames {
  conv1d: string;
  xProj: string;
  dtProj: string;
  ALog: string;
  D: string;
}

export const MAMBA_BRANCH_NAMES: MambaBranchNames = {
  conv1d: 'conv1d',
  xProj: 'x_proj',
  dtProj: 'dt_proj',
  ALog: 'A_log',
  D: 'D',
};

/** Module.module and Module.param of the module that owns a branch (both are protected). */
export interface ParameterRegistrar {
  module<M extends Module>(name: string, m: M): M;
  param(name: string, t: Tensor, options?: { noWeightDecay?: boolean }): Tensor;
}

/**
 * Creates and registers one direction's parameters, drawn as the reference Mamba draws them: conv1d
 * and x_proj PyTorch's defaults, dt_proj the variance-preserving weight and the inverse-softplus
 * bias, A_log the S4D-real initialisation, D ones.
 */
export function createMambaBranch(
  owner: ParameterRegistrar,
  names: MambaBranchNames,
  config: MambaMixerConfig,
  options: InitOptions = {},
): MambaBranch {
  const { dInner, dState, dConv, dtRank } = config;
  const g = options.generator ?? defaultGenerator;
  const conv = owner.module(names.conv1d, new ConvParams(dInner, dConv, config.convBias, options));
  const xProj = owner.module(names.xProj, new Linear(dInner, dtRank + 2 * dState, { bias: false, generator: g }));
  const dtProj = owner.module(names.dtProj, new Linear(dtRank, dInner, { bias: true, generator: g }));
  if (isInitialising()) initDtProj(dtProj, config, g);
  // S4D-real initialisation: A[d, n] = n + 1, stored as its log; A = -exp(A_log) at run time.
  const aLog = new Float32Array(dInner * dState);
  for (let d = 0; d < dInner; d++) for (let n = 0; n < dState; n++) aLog[d * dState + n] = Math.log(n + 1);
  const ALog = owner.param(names.ALog, fromArray(aLog, [dInner, dState], { dtype: defaultFloatDType() }), {
    noWeightDecay: true,
  });
  const D = owner.param(names.D, full([dInner], 1), { noWeightDecay: true });
  return { conv1dWeight: conv.weight, conv1dBias: conv.bias, xProj, dtProj, ALog, D };
}

function stepWeights(branch: MambaBranch): MambaStepWeights {
  return {
    conv1dWeight: branch.conv1dWeight,
    conv1dBias: branch.conv1dBias,
    xProjWeight: branch.xProj.weight,
    dtProjWeight: branch.dtProj.weight,
    dtProjBias: branch.dtProj.bias,
    ALog: branch.ALog,
    D: branch.D,
  };
}

/**
 * One direction from the inner half of in_proj's output to the gated scan output, before out_proj
 * (the reference's mamba_inner_fn_no_out_proj): causal depthwise conv, SiLU, x_proj into dt, B and
 * C, and the selective scan with the D skip and the silu(z) gate. x0 and z are [B, L, dInner].
 * With a state, the sequence continues from it and the state is updated; one token with no
 * gradient to record (generation) takes the fused step, its twin (ssm/mamba-step.ts).
 */
export function mambaBranchForward(
  branch: MambaBranch,
  config: MambaMixerConfig,
  x0: Tensor,
  z: Tensor,
  state?: MambaLayerState,
): Tensor {
  const { dInner, dState, dConv, dtRank } = config;
  const len = x0.shape[1]!;
  if (state && len === 1) {
    const weights = stepWeights(branch);
    if (canStep(weights, x0, z, state.conv, state.ssm))
      return unsqueeze(mambaStep(config, weights, squeeze(x0, 1), squeeze(z, 1), state), 1);
  }
  // The conv sees the previous dConv-1 inputs first when continuing a sequence.
  const x = state ? concat([state.conv, x0], 1) : x0;
  const convolved = causalConv1d(x, reshape(branch.conv1dWeight, [dInner, dConv]), branch.conv1dBias);
  const u = silu(state ? slice(convolved, 1, dConv - 1) : convolved);
  const [dt, B, C] = split(branch.xProj.forward(u), [dtRank, dState, dState], 2) as [Tensor, Tensor, Tensor];
  const { y, lastState } = selectiveScan({
    u,
    delta: linear(dt, branch.dtProj.weight),
    A: neg(exp(branch.ALog)),
    B,
    C,
    D: branch.D,
    z,
    deltaBias: branch.dtProj.bias,
    initialState: state?.ssm ?? null,
    deltaSoftplus: true,
  });
  if (state) {
    replace(state, 'conv', slice(x, 1, len));
    replace(state, 'ssm', lastState);
  }
  return y;
}

/**
 * The Mamba (S6) mixer exactly as the reference `Mamba` module (docs/mamba-spec.md §1.2-1.3), with its
 * PyTorch parameter names: in_proj, conv1d, x_proj, dt_proj, A_log, D, out_proj.
 */
export class MambaMixer extends Module implements MambaBranch {
  readonly inProj: Linear;
  readonly conv1dWeight: Tensor;
  readonly conv1dBias: Tensor | null;
  readonly xProj: Linear;
  readonly dtProj: Linear;
  readonly ALog: Tensor;
  readonly D: Tensor;
  readonly outProj: Linear;

  constructor(
    readonly config: MambaMixerConfig,
    options: InitOptions = {},
  ) {
    super();
    const { dModel, dInner } = config;
    const g = options.generator ?? defaultGenerator;
    this.inProj = this.module('in_proj', new Linear(dModel, 2 * dInner, { bias: config.bias, generator: g }));
    const branch = createMambaBranch(
      { module: (n, m) => this.module(n, m), param: (n, t, o) => this.param(n, t, o) },
      MAMBA_BRANCH_NAMES,
      config,
      options,
    );
    this.conv1dWeight = branch.conv1dWeight;
    this.conv1dBias = branch.conv1dBias;
    this.xProj = branch.xProj;
    this.dtProj = branch.dtProj;
    this.ALog = branch.ALog;
    this.D = branch.D;
    this.outProj = this.module('out_proj', new Linear(dInner, dModel, { bias: config.bias, generator: g }));
  }

  /**
   * Maps hidden states [B, L, dModel] to [B, L, dModel]. With a state, the sequence continues
   * from it (prefill from a fresh state, or one token at a time) and the state is updated.
   */
  forward(hidden: Tensor, state?: MambaLayerState): Tensor {
    const [x0, z] = split(this.inProj.forward(hidden), this.config.dInner, 2) as [Tensor, Tensor];
    return this.outProj.forward(mambaBranchForward(this, this.config, x0, z, state));
  }

  /** A zero state for a batch: what the reference's allocate_inference_cache makes. */
  initialState(batch: number): MambaLayerState {
    const { dInner, dState, dConv } = this.config;
    const like = { dtype: this.D.dtype, backend: this.D.backend };
    return { conv: keep(zeros([batch, dConv - 1, dInner], like)), ssm: keep(zeros([batch, dInner, dState], like)) };
  }
}

/** conv1d's parameters in PyTorch's Conv1d layout [dInner, 1, dConv] (depthwise), default init. */
class ConvParams extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;

  constructor(channels: number, kernel: number, hasBias: boolean, options: InitOptions) {
    super();
    const bound = defaultBound(kernel);
    this.weight = this.param('weight', uniform([channels, 1, kernel], bound, options.generator));
    this.bias = hasBias ? this.param('bias', uniform([channels], bound, options.generator), NO_DECAY) : null;
  }
}

/**
 * dt_proj as the reference initialises it: weight U(-s, s) (or s) with s = dtRank^-0.5 * dtScale;
 * bias = softplus^-1(dt) with dt log-uniform in [dtMin, dtMax], floored at dtInitFloor.
 */
function initDtProj(dtProj: Linear, config: MambaMixerConfig, g: typeof defaultGenerator): void {
  const std = config.dtRank ** -0.5 * config.dtScale;
  const w = new Float32Array(dtProj.weight.size);
  for (let i = 0; i < w.length; i++) w[i] = config.dtInit === 'constant' ? std : (g.uniform() * 2 - 1) * std;
  const bias = new Float32Array(config.dInner);
  const [lo, hi] = [Math.log(config.dtMin), Math.log(config.dtMax)];
  for (let d = 0; d < bias.length; d++) {
    const dt = Math.max(Math.exp(g.uniform() * (hi - lo) + lo), config.dtInitFloor);
    bias[d] = dt + Math.log(-Math.expm1(-dt));
  }
  dtProj.weight.write(w);
  dtProj.bias!.write(bias);
}
