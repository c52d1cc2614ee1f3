/*
 * Glossary of the selective scan's symbols (docs/mamba-spec.md §0, §1.3-1.4), with their shapes
 * in this code. Sequences are channels-last; the reference keeps them as (batch, dInner, length).
 *
 *   L       the sequence length; t = 0 .. L-1 indexes the steps.
 *   dInner  the number of channels inside the mixer, expand * dModel; d indexes them. Papers often
 *           write it D (the Mamba paper's "x : (B, L, D)"); here it is always dInner.
 *   N       dState, the size of each channel's state; n indexes it.
 *
 *   u       [batch, L, dInner]  the input sequence: the causal conv's output after SiLU.
 *   delta   [batch, L, dInner]  the raw step size ("dt" in the reference): dt_proj's weight applied
 *                               to the first dtRank columns of x_proj's output, before the bias
 *                               and the softplus.
 *   dt      [batch, L, dInner]  (in the kernels) the step size used, softplus(delta + deltaBias),
 *                               written Delta in the paper.
 *   dtRank                      R, the rank of the projection that makes delta; ceil(dModel / 16)
 *                               by default.
 *   A       [dInner, N]         the state matrix, diagonal (one row of N per channel) and
 *                               negative. It is stored as its log: A = -exp(A_log).
 *   B, C    [batch, L, N]       the input and output projections of the state, chosen per token
 *                               from x_proj's output and shared by all channels. (In shapes,
 *                               "B" is the batch size.)
 *   D       [dInner]            the skip weight, one per channel: y gets D[d] * u added. It is a
 *                               parameter, not a size; the channel count is dInner.
 *   h       [batch, dInner, N]  the state: h_t = exp(dt_t A) * h_{t-1} + dt_t B_t u_t.
 *                               initialState is h before step 0, lastState h after the last step.
 *   z       [batch, L, dInner]  the gate: the output is multiplied by silu(z).
 *   y       [batch, L, dInner]  the output, (C_t . h_t + D u_t) * silu(z_t).
 */
import type { ScanGrads, ScanInputs } from '../backends/backend.js';
import { backendOf, empty, filled, requireFloat, requireSameDType } from '../ops/helpers.js';
import { contiguous } from '../ops/view.js';
import { attach, recordsGradient } from '../tensor/autograd.js';
import { scope } from '../tensor/scope.js';
import { formatShape, shapesEqual } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import { ShapeError } from '../util/errors.js';

/** The inputs of the selective scan, channels last (see selectiveScan). */
export interface SelectiveScanArgs {
  /** Input sequence [batch, length, dInner]. */
  u: Tensor;
  /** Step sizes before bias and softplus [batch, length, dInner]. */
  delta: Tensor;
  /** State matrix [dInner, dState]; Mamba passes A = -exp(A_log). */
  A: Tensor;
  /** Input and output projections of the state [batch, length, dState]. */
  B: Tensor;
  C: Tensor;
  /** Skip connection [dInner]. */
  D?: Tensor | null;
  /** Gate [batch, length, dInner]: y is multiplied by silu(z). */
  z?: Tensor | null;
  /** Added to delta before the softplus [dInner]. */
  deltaBias?: Tensor | null;
  /** State before the first step [batch, dInner, dState]; zeros when absent. */
  initialState?: Tensor | null;
  /** Apply softplus to delta + deltaBias (Mamba does). Default true. */
  deltaSoftplus?: boolean;
}

export interface SelectiveScanOptions {
  /** Steps between the states saved for the backward pass, which recomputes the rest. */
  chunk?: number;
}

/** Kernel views of the scan's tensors, in the order [u, delta, A, B, C, D, z, deltaBias, h0]. */
function scanViews(t: readonly (Tensor | null)[]): ScanInputs {
  const [u, delta, A, B, C, D, z, deltaBias, h0] = t;
  return {
    u: u!.view(),
    delta: delta!.view(),
    A: A!.view(),
    B: B!.view(),
    C: C!.view(),
    D: D?.view() ?? null,
    z: z?.view() ?? null,
    deltaBias: deltaBias?.view() ?? null,
    h0: h0?.view() ?? null,
  };
}

function expectShape(name: string, t: Tensor | null | undefined, shape: number[]): void {
  if (t && !shapesEqual(t.shape, shape)) {
    throw new ShapeError(`selectiveScan: ${name} must have shape ${formatShape(shape)}, got ${formatShape(t.shape)}`);
  }
}

/**
 * Mamba's selective scan (S6, docs/mamba-spec.md §1.4), fused: per channel d and step t,
 *   delta_t = softplus(delta + deltaBias);  h_t = exp(delta_t A) h_{t-1} + delta_t B_t u_t
 *   y_t = (C_t . h_t + D u_t) * silu(z_t)
 * It never materialises the [batch, length, dInner, dState] states: the forward keeps one state
 * per channel, and the backward recomputes states chunk by chunk from those saved at chunk starts.
 * Returns y [batch, length, dInner] and the final state [batch, dInner, dState].
 */
export function selectiveScan(
  args: SelectiveScanArgs,
  options: SelectiveScanOptions = {},
): { y: Tensor; lastState: Tensor } {
  const { u, delta, A, B, C } = args;
  const D = args.D ?? null;
  const z = args.z ?? null;
  const deltaBias = args.deltaBias ?? null;
  const h0 = args.initialState ?? null;
  const softplus = args.deltaSoftplus ?? true;
  const chunk = options.chunk ?? 64;
  requireFloat('selectiveScan', u);
  if (u.rank !== 3)
    throw new ShapeError(`selectiveScan: u must be [batch, length, dInner], got ${formatShape(u.shape)}`);
  const [batch, len, dim] = u.shape as [number, number, number];
  if (A.rank !== 2 || A.shape[0] !== dim)
    throw new ShapeError(`selectiveScan: A must be [${dim}, dState], got ${formatShape(A.shape)}`);
  const n = A.shape[1]!;
  expectShape('delta', delta, [batch, len, dim]);
  expectShape('B', B, [batch, len, n]);
  expectShape('C', C, [batch, len, n]);
  expectShape('D', D, [dim]);
  expectShape('z', z, [batch, len, dim]);
  expectShape('deltaBias', deltaBias, [dim]);
  expectShape('initialState', h0, [batch, dim, n]);
  if (!Number.isInteger(chunk) || chunk < 1)
    throw new ShapeError(`selectiveScan: chunk must be a positive integer, got ${chunk}`);
  const optional = [D, z, deltaBias, h0];
  const present = optional.filter((t): t is Tensor => t !== null);
  const all = [u, delta, A, B, C, ...present];
  for (const t of all) requireSameDType('selectiveScan', u, t);
  const backend = backendOf('selectiveScan', ...all);

  return scope(() => {
    // Small per-channel operands are read densely; the big sequences keep their strides.
    const Ac = contiguous(A);
    const [Dc, zc, biasC, h0c] = optional.map((t) => (t && t !== z ? contiguous(t) : t));
    const y = empty([batch, len, dim], u.dtype, backend);
    const lastState = empty([batch, dim, n], u.dtype, backend);
    const graphInputs = [u, delta, Ac, B, C, ...[Dc, zc, biasC, h0c].filter((t): t is Tensor => !!t)];
    const recording = recordsGradient(graphInputs);
    const chunkStates = recording ? empty([batch, Math.ceil(len / chunk), dim, n], u.dtype, backend) : null;
    backend.selectiveScan(
      y.view(),
      lastState.view(),
      chunkStates?.view() ?? null,
      scanViews([u, delta, Ac, B, C, Dc, zc, biasC, h0c]),
      softplus,
      chunk,
    );
    if (chunkStates) {
      attach('selectiveScan', graphInputs, [y, lastState], [...graphInputs, chunkStates], ([gy, gLast], saved) => {
        const [su, sdelta, sA, sB, sC] = saved as [Tensor, Tensor, Tensor, Tensor, Tensor];
        let next = 5;
        const take = (t: Tensor | null) => (t ? saved[next++]! : null);
        const [sD, sz, sBias, sh0] = [Dc, zc, biasC, h0c].map(take);
        const states = saved[next]!;
        const like = (t: Tensor | null) => (t ? empty(t.shape, t.dtype, backend) : null);
        const out = [su, sdelta, sA, sB, sC, sD, sz, sBias, sh0].map(like);
        const [du, ddelta, dA, dB, dC, dD, dz, dBias, dh0] = out;
        const grads: ScanGrads = {
          du: du!.view(),
          ddelta: ddelta!.view(),
          dA: dA!.view(),
          dB: dB!.view(),
          dC: dC!.view(),
          dD: dD?.view() ?? null,
          dz: dz?.view() ?? null,
          ddeltaBias: dBias?.view() ?? null,
          dh0: dh0?.view() ?? null,
        };
        const gyc = gy ? contiguous(gy) : filled([batch, len, dim], u.dtype, backend, 0);
        backend.selectiveScanGrad(
          grads,
          gyc.view(),
          gLast ? contiguous(gLast).view() : null,
          scanViews([su, sdelta, sA, sB, sC, sD, sz, sBias, sh0]),
          states.view(),
          softplus,
          chunk,
        );
        return out.filter((t, i) => i < 5 || t !== null);
      });
    }
    return { y, lastState };
  });
}
