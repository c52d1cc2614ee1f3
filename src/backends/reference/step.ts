import type { View } from '../backend.js';
import { silu, softplus } from './scalar-math.js';
import { data } from './strided.js';

/** Element [i, j] of a rank-2 view with any strides. */
function at2(v: View, i: number, j: number): number {
  return data(v)[v.offset + i * v.strides[0]! + j * v.strides[1]!]!;
}

function at1(v: View | null, i: number): number {
  return v ? data(v)[v.offset + i * v.strides[0]!]! : 0;
}

/**
 * One recurrent step of the Mamba mixer (see Kernels.mambaStep), written from the equations in
 * float64: the oracle of the fused wasm kernel and the unfused path's twin.
 */
export function mambaStep(
  y: View,
  convState: View,
  ssmState: View,
  x: View,
  z: View,
  convWeight: View,
  convBias: View | null,
  xProjWeight: View,
  dtProjWeight: View,
  dtBias: View | null,
  ALog: View,
  D: View | null,
): void {
  const [batch, dInner] = x.shape as [number, number];
  const K = convWeight.shape[1]!;
  const [R, N] = [dtProjWeight.shape[1]!, ALog.shape[1]!];
  const conv = data(convState);
  const h = data(ssmState);
  const u = new Float64Array(dInner);
  const xdbc = new Float64Array(R + 2 * N);
  for (let b = 0; b < batch; b++) {
    // Causal conv over the last K inputs (the state's K-1 and this token's), then the window moves on.
    for (let d = 0; d < dInner; d++) {
      let acc = at1(convBias, d);
      const row = (k: number) => convState.offset + (b * (K - 1) + k) * dInner + d;
      for (let k = 0; k < K - 1; k++) acc += at2(convWeight, d, k) * conv[row(k)]!;
      const xd = at2(x, b, d);
      acc += at2(convWeight, d, K - 1) * xd;
      for (let k = 0; k + 1 < K - 1; k++) conv[row(k)] = conv[row(k + 1)]!;
      if (K > 1) conv[row(K - 2)] = xd;
      u[d] = silu(acc);
    }
    // x_proj: dt_low, B and C of this token (docs/mamba-spec.md §1.3).
    for (let j = 0; j < R + 2 * N; j++) {
      let acc = 0;
      for (let d = 0; d < dInner; d++) acc += at2(xProjWeight, j, d) * u[d]!;
      xdbc[j] = acc;
    }
    for (let d = 0; d < dInner; d++) {
      let raw = at1(dtBias, d);
      for (let r = 0; r < R; r++) raw += at2(dtProjWeight, d, r) * xdbc[r]!;
      const delta = softplus(raw, 1, 20);
      let acc = 0;
      for (let n = 0; n < N; n++) {
        // h_t = exp(delta A) h_{t-1} + delta B u (§1.4), A = -exp(A_log).
        const A = -Math.exp(at2(ALog, d, n));
        const i = ssmState.offset + (b * dInner + d) * N + n;
        h[i] = Math.exp(delta * A) * h[i]! + delta * xdbc[R + n]! * u[d]!;
        acc += h[i]! * xdbc[R + N + n]!;
      }
      data(y)[y.offset + b * y.strides[0]! + d * y.strides[1]!] = (acc + at1(D, d) * u[d]!) * silu(at2(z, b, d));
    }
  }
}
