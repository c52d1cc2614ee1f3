import { Linear } from '../nn/layers.js';
import { Module } from '../nn/module.js';
import { isInitialising, type InitOptions } from '../nn/init.js';
import { add, affine } from '../ops/elementwise.js';
import { flip, split } from '../ops/shape-ops.js';
import { defaultGenerator } from '../tensor/random.js';
import { scope } from '../tensor/scope.js';
import type { Tensor } from '../tensor/tensor.js';
import { MambaError } from '../util/errors.js';
import type { MambaMixerConfig } from './mixer-config.js';
import {
  createMambaBranch,
  MAMBA_BRANCH_NAMES,
  mambaBranchForward,
  type MambaBranch,
  type MambaBranchNames,
  type ParameterRegistrar,
} from './mamba-mixer.js';

/** The names hustvl/Vim gives the backward direction's parameters (note A_b_log, not A_log_b). */
export const BACKWARD_BRANCH_NAMES: MambaBranchNames = {
  conv1d: 'conv1d_b',
  xProj: 'x_proj_b',
  dtProj: 'dt_proj_b',
  ALog: 'A_b_log',
  D: 'D_b',
};

/**
 * Vim's bidirectional Mamba mixer, the reference "v2" (mamba_simple.py with bimamba_type="v2" and
 * if_divide_out; docs/mamba-spec.md §4): in_proj and out_proj are shared; the backward direction has its
 * own conv1d_b, x_proj_b, dt_proj_b, A_b_log and D_b. It runs on in_proj's output reversed in time
 * (x and z together, so that its gate lines up position by position once reversed back), and the
 * two directions are averaged before out_proj:
 *   out = out_proj((y_f + flip(y_b(flip(xz)))) / 2)
 * Every token therefore sees the whole sequence, which an image classifier needs.
 */
export class BiMambaMixer extends Module implements MambaBranch {
  readonly inProj: Linear;
  readonly conv1dWeight: Tensor;
  readonly conv1dBias: Tensor | null;
  readonly xProj: Linear;
  readonly dtProj: Linear;
  readonly ALog: Tensor;
  readonly D: Tensor;
  /** The backward direction's parameters. */
  readonly backward: MambaBranch;
  readonly outProj: Linear;

  constructor(
    readonly config: MambaMixerConfig,
    options: InitOptions = {},
  ) {
    super();
    if (config.bias)
      throw new MambaError(
        'BiMambaMixer: Vim has no bias on in_proj and out_proj; set bias: false in the mixer config',
      );
    const { dModel, dInner } = config;
    const g = options.generator ?? defaultGenerator;
    const owner: ParameterRegistrar = { module: (n, m) => this.module(n, m), param: (n, t, o) => this.param(n, t, o) };
    this.inProj = this.module('in_proj', new Linear(dModel, 2 * dInner, { bias: false, generator: g }));
    const forward = createMambaBranch(owner, MAMBA_BRANCH_NAMES, config, options);
    this.conv1dWeight = forward.conv1dWeight;
    this.conv1dBias = forward.conv1dBias;
    this.xProj = forward.xProj;
    this.dtProj = forward.dtProj;
    this.ALog = forward.ALog;
    this.D = forward.D;
    this.backward = createMambaBranch(owner, BACKWARD_BRANCH_NAMES, config, options);
    // The reference gives dt_proj_b no special initialisation, and its _init_weights zeroes every
    // Linear bias not marked _no_reinit; only dt_proj.bias is marked. So dt_proj_b.bias starts at
    // zero (a step size of softplus(0) = ln 2 in every channel), and so it does here.
    if (isInitialising()) this.backward.dtProj.bias!.write(new Float32Array(dInner));
    this.outProj = this.module('out_proj', new Linear(dInner, dModel, { bias: false, generator: g }));
  }

  /** Hidden states [B, L, dModel] to [B, L, dModel]; every output position depends on every input. */
  forward(hidden: Tensor): Tensor {
    return scope(() => {
      const { dInner } = this.config;
      const xz = this.inProj.forward(hidden);
      const [x, z] = split(xz, dInner, 2) as [Tensor, Tensor];
      const [xb, zb] = split(flip(xz, 1), dInner, 2) as [Tensor, Tensor];
      const yF = mambaBranchForward(this, this.config, x, z);
      const yB = mambaBranchForward(this.backward, this.config, xb, zb);
      // Halving the sum keeps the residual stream's scale that of one direction (the "div2" models).
      return this.outProj.forward(affine(add(yF, flip(yB, 1)), 0.5));
    });
  }
}
