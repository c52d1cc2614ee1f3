import type { ScanGrads, ScanInputs, View } from '../backend.js';
import { silu, siluGrad, softplus, softplusGrad } from './scalar-math.js';
import { data } from './strided.js';

/** Reads element [i, j, k] of a rank-3 view with any strides. */
function at3(v: View, i: number, j: number, k: number): number {
  return data(v)[v.offset + i * v.strides[0]! + j * v.strides[1]! + k * v.strides[2]!]!;
}

function at1(v: View | null, i: number, fallback: number): number {
  return v ? data(v)[v.offset + i * v.strides[0]!]! : fallback;
}

/** Discretised step inputs of one (b, t, d): the effective delta and its raw value. */
function stepDelta(s: ScanInputs, b: number, t: number, d: number, useSoftplus: boolean): { raw: number; dt: number } {
  const raw = at3(s.delta, b, t, d) + at1(s.deltaBias, d, 0);
  return { raw, dt: useSoftplus ? softplus(raw, 1, 20) : raw };
}

/** Forward scan, written from the equations (Mamba §3, Algorithm 2; docs/mamba-spec.md §1.4), in float64. */
export function selectiveScan(
  y: View,
  lastState: View,
  chunkStates: View | null,
  s: ScanInputs,
  useSoftplus: boolean,
  chunk: number,
): void {
  const [batch, len, dim] = s.u.shape as [number, number, number];
  const n = s.A.shape[1]!;
  const chunks = Math.ceil(len / chunk);
  const A = data(s.A);
  const h = new Float64Array(n);
  for (let b = 0; b < batch; b++) {
    for (let d = 0; d < dim; d++) {
      for (let i = 0; i < n; i++) h[i] = s.h0 ? at3(s.h0, b, d, i) : 0;
      for (let t = 0; t < len; t++) {
        // For the backward pass: the state before the first step of each chunk, h_{t-1} (h0 for
        // the first chunk). The backward pass recomputes the others from these.
        if (chunkStates && t % chunk === 0) {
          const base = chunkStates.offset + ((b * chunks + t / chunk) * dim + d) * n;
          for (let i = 0; i < n; i++) data(chunkStates)[base + i] = h[i]!;
        }
        const { dt } = stepDelta(s, b, t, d, useSoftplus);
        const u = at3(s.u, b, t, d);
        let acc = 0;
        for (let i = 0; i < n; i++) {
          // h_t = exp(delta A) h_{t-1} + delta B u: zero-order hold on A, Euler on B.
          h[i] = Math.exp(dt * A[s.A.offset + d * n + i]!) * h[i]! + dt * at3(s.B, b, t, i) * u;
          acc += h[i]! * at3(s.C, b, t, i);
        }
        let out = acc + at1(s.D, d, 0) * u;
        if (s.z) out *= silu(at3(s.z, b, t, d));
        data(y)[y.offset + (b * len + t) * dim + d] = out;
      }
      const base = lastState.offset + (b * dim + d) * n;
      for (let i = 0; i < n; i++) data(lastState)[base + i] = h[i]!;
    }
  }
}

/**
 * Backward scan (docs/mamba-spec.md §2): for each chunk, last to first, recompute the states from
 * the saved state at the chunk's start, then walk back through time carrying dL/dh.
 *
 * The derivation, in the variables of the code below. Everything is per batch b and channel d;
 * i indexes the N state entries ("n" in the spec), and the A, D and bias of channel d are written
 * A[i], D and bias.
 *
 * 0. The forward pass, for t = 0 .. L-1:
 *      raw_t   = delta_t + bias
 *      dt_t    = softplus(raw_t)                  (raw_t itself when useSoftplus is false)
 *      a_t[i]  = exp(dt_t A[i])                   (dA_t in the spec)
 *      h_t[i]  = a_t[i] h_{t-1}[i] + dt_t B_t[i] u_t,    with h_{-1} = h0 (zeros when absent)
 *      pre_t   = sum_i C_t[i] h_t[i] + D u_t      (the output before the gate)
 *      y_t     = pre_t silu(z_t)                  (pre_t itself when there is no z)
 *    and lastState = h_{L-1}. The pass receives gy_t = dL/dy_t and, when given,
 *    gLast = dL/dlastState.
 *
 * 1. The gate. Let g_t = dL/dpre_t = gy_t silu(z_t). The code holds it in `gpre`, which starts
 *    as gy_t and is multiplied by silu(z_t).
 *      dz_t = gy_t pre_t silu'(z_t),   silu'(z) = s (1 + z (1 - s)) with s = sigmoid(z).
 *    pre_t is recomputed from the recomputed h_t. The CUDA kernel saves it instead (`out`).
 *
 * 2. The adjoint of the state. h_t reaches the loss three ways: through pre_t (times C_t),
 *    through h_{t+1} (times a_{t+1}), and, for t = L-1, as lastState. So
 *    lambda_t = dL/dh_t, summed over those paths, satisfies
 *      lambda_{L-1} = gLast + g_{L-1} C_{L-1}
 *      lambda_{t-1} = a_t lambda_t + g_{t-1} C_{t-1}       (elementwise in i)
 *    The array `dh` carries this recurrence:
 *      - On entering step t it holds a_{t+1} lambda_{t+1}, the part that comes through later
 *        steps (gLast when t = L-1).
 *      - Step t adds g_t C_t, making it lambda_t, and uses it for the gradients of step t.
 *      - Step t then multiplies it by a_t, which is dL/dh_{t-1} through h_t, and passes it on
 *        to step t-1.
 *    After step 0, dh = a_0 lambda_0 = dL/dh0.
 *    The CUDA kernel drops gLast ("the gradient of the last state is not considered"); this
 *    pass takes it into account.
 *
 * 3. The gradients of step t. Since d a_t[i] / d dt_t = A[i] a_t[i], the partial derivatives
 *    of h_t[i] are:
 *      d h_t[i] / d dt_t   = A[i] a_t[i] h_{t-1}[i] + B_t[i] u_t
 *      d h_t[i] / d A[i]   = dt_t a_t[i] h_{t-1}[i]
 *      d h_t[i] / d B_t[i] = dt_t u_t
 *      d h_t[i] / d u_t    = dt_t B_t[i]
 *    Those of pre_t are: d pre_t / d C_t[i] = h_t[i], d pre_t / d u_t = D, d pre_t / d D = u_t.
 *    With lambda_t for h_t and g_t for pre_t, the chain rule gives:
 *      du_t     = g_t D + sum_i lambda_t[i] dt_t B_t[i]
 *      ddt_t    = sum_i lambda_t[i] (A[i] a_t[i] h_{t-1}[i] + B_t[i] u_t)
 *      dA[i]   += lambda_t[i] dt_t a_t[i] h_{t-1}[i]   (summed over b and t)
 *      dB_t[i] += lambda_t[i] dt_t u_t                 (summed over d: every channel reads B_t)
 *      dC_t[i] += g_t h_t[i]                           (summed over d: every channel reads C_t)
 *      dD      += g_t u_t                              (summed over b and t)
 *    h_{t-1} and h_t are rows t - t0 and t - t0 + 1 of `states` (`prev` and `states[row + i]`).
 *
 * 4. The softplus and the bias. raw_t = delta_t + bias, so d raw_t / d delta_t = 1 and
 *    d raw_t / d bias = 1:
 *      ddelta_t = ddt_t softplus'(raw_t) = ddt_t sigmoid(raw_t)
 *      dbias   += ddelta_t                             (summed over b and t)
 *    softplus'(raw_t) is 1 above the threshold 20, where the forward took dt_t = raw_t. Without
 *    softplus, ddelta_t = ddt_t. `ddelta` is therefore the gradient of the raw delta, before the
 *    bias and the softplus, which is what the backend interface promises.
 *
 * 5. Why chunks, and why recompute. Step t needs h_{t-1} and h_t. Keeping all of them would take
 *    B·L·dInner·N numbers, N times the size of the input.
 *    - The forward pass saved only the state before each chunk's first step:
 *      chunkStates[b, c, d] = h_{c·chunk - 1}, which is h0 for c = 0.
 *    - For chunk c, covering steps t0 .. t1-1, this pass reruns the chunk's recurrence from that
 *      state into `states` ((chunk + 1)·N numbers), then walks it backwards.
 *    - dh crosses from one chunk into the one before it unchanged, because chunk boundaries are
 *      not a boundary of the recurrence.
 *    - The price is one more forward pass. This is the recomputation of the Mamba paper (§3.3.2,
 *      Appendix D) and of selective_scan_bwd_kernel, which recomputes each chunk of up to 2048
 *      steps from the running state it saved at the chunk's boundary.
 *    The recomputed states repeat the forward's arithmetic exactly: the same operations, in the
 *    same order, from the same starting value. So with float64 tensors they are the forward's
 *    states. With float32 tensors the saved chunk states were rounded to float32, and the
 *    recomputed ones can differ from the forward's by that rounding.
 */
export function selectiveScanGrad(
  g: ScanGrads,
  gy: View,
  gLast: View | null,
  s: ScanInputs,
  chunkStates: View,
  useSoftplus: boolean,
  chunk: number,
): void {
  const [batch, len, dim] = s.u.shape as [number, number, number];
  const n = s.A.shape[1]!;
  const chunks = Math.ceil(len / chunk);
  const A = data(s.A);
  const dA = new Float64Array(dim * n);
  const dB = new Float64Array(batch * len * n);
  const dC = new Float64Array(batch * len * n);
  const dD = new Float64Array(dim);
  const dBias = new Float64Array(dim);
  const states = new Float64Array((chunk + 1) * n);
  const dh = new Float64Array(n);
  for (let b = 0; b < batch; b++) {
    for (let d = 0; d < dim; d++) {
      // dh enters step L-1 as gLast: the part of lambda_{L-1} that comes through lastState (step 2).
      for (let i = 0; i < n; i++) dh[i] = gLast ? at3(gLast, b, d, i) : 0;
      for (let c = chunks - 1; c >= 0; c--) {
        const t0 = c * chunk;
        const t1 = Math.min(len, t0 + chunk);
        // states[k] holds h_{t0 + k - 1}: row 0 is the saved state before the chunk.
        const saved = chunkStates.offset + ((b * chunks + c) * dim + d) * n;
        for (let i = 0; i < n; i++) states[i] = data(chunkStates)[saved + i]!;
        // Recompute h_{t0} .. h_{t1-1} into rows 1 .. t1-t0, with the forward's arithmetic (step 5).
        for (let t = t0; t < t1; t++) {
          const { dt } = stepDelta(s, b, t, d, useSoftplus);
          const u = at3(s.u, b, t, d);
          const row = (t - t0 + 1) * n;
          for (let i = 0; i < n; i++) {
            states[row + i] =
              Math.exp(dt * A[s.A.offset + d * n + i]!) * states[row - n + i]! + dt * at3(s.B, b, t, i) * u;
          }
        }
        // Walk back through the chunk. On entering step t, dh holds a_{t+1} lambda_{t+1} (step 2).
        for (let t = t1 - 1; t >= t0; t--) {
          const { raw, dt } = stepDelta(s, b, t, d, useSoftplus);
          const u = at3(s.u, b, t, d);
          const row = (t - t0 + 1) * n;
          // Step 1: gpre starts as gy_t; with a gate it becomes g_t = gy_t silu(z_t), after dz_t
          // is written from pre_t (recomputed as C_t . h_t + D u_t).
          let gpre = data(gy)[gy.offset + (b * len + t) * dim + d]!;
          if (s.z) {
            const z = at3(s.z, b, t, d);
            let pre = at1(s.D, d, 0) * u;
            for (let i = 0; i < n; i++) pre += states[row + i]! * at3(s.C, b, t, i);
            data(g.dz!)[g.dz!.offset + (b * len + t) * dim + d] = gpre * pre * siluGrad(z);
            gpre *= silu(z);
          }
          // The skip's share of step 3: dD += g_t u_t, and du_t starts at g_t D.
          dD[d] += gpre * u;
          let du = gpre * at1(s.D, d, 0);
          let ddt = 0;
          // a = a_t[i], prev = h_{t-1}[i], bv = B_t[i]; states[row + i] = h_t[i].
          for (let i = 0; i < n; i++) {
            const a = Math.exp(dt * A[s.A.offset + d * n + i]!);
            const prev = states[row - n + i]!;
            const bv = at3(s.B, b, t, i);
            // Step 2: add the part through this step's output; dh[i] is now lambda_t[i].
            dh[i] += gpre * at3(s.C, b, t, i);
            // Step 3, term by term.
            dC[(b * len + t) * n + i] += gpre * states[row + i]!;
            ddt += dh[i]! * (A[s.A.offset + d * n + i]! * a * prev + bv * u);
            dA[d * n + i] += dh[i]! * dt * a * prev;
            dB[(b * len + t) * n + i] += dh[i]! * dt * u;
            du += dh[i]! * dt * bv;
            // Step 2: pass a_t lambda_t, which is dL/dh_{t-1} through h_t, on to step t-1.
            dh[i] = dh[i]! * a;
          }
          // Step 4: through the softplus (same threshold as the forward) to the raw delta; the
          // bias gets the same gradient, summed over b and t.
          const draw = useSoftplus ? ddt * softplusGrad(raw, 1, 20) : ddt;
          dBias[d] += draw;
          data(g.ddelta)[g.ddelta.offset + (b * len + t) * dim + d] = draw;
          data(g.du)[g.du.offset + (b * len + t) * dim + d] = du;
        }
      }
      // After step 0, dh = a_0 lambda_0 = dL/dh0.
      if (g.dh0) for (let i = 0; i < n; i++) data(g.dh0)[g.dh0.offset + (b * dim + d) * n + i] = dh[i]!;
    }
  }
  data(g.dA).set(dA, g.dA.offset);
  data(g.dB).set(dB, g.dB.offset);
  data(g.dC).set(dC, g.dC.offset);
  if (g.dD) data(g.dD).set(dD, g.dD.offset);
  if (g.ddeltaBias) data(g.ddeltaBias).set(dBias, g.ddeltaBias.offset);
}
