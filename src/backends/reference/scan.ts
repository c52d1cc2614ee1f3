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

/** Forward scan, written from the equations (Mamba §3, Algorithm 2; mamba-spec.md §1.4), in float64. */
export function selectiveScan(y: View, lastState: View, chunkStates: View | null, s: ScanInputs, useSoftplus: boolean, chunk: number): void {
  const [batch, len, dim] = s.u.shape as [number, number, number];
  const n = s.A.shape[1]!;
  const chunks = Math.ceil(len / chunk);
  const A = data(s.A);
  const h = new Float64Array(n);
  for (let b = 0; b < batch; b++) {
    for (let d = 0; d < dim; d++) {
      for (let i = 0; i < n; i++) h[i] = s.h0 ? at3(s.h0, b, d, i) : 0;
      for (let t = 0; t < len; t++) {
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
 * Backward scan: for each chunk, last to first, recompute the states from the saved state at the
 * chunk's start, then walk back through time carrying dL/dh.
 */
export function selectiveScanGrad(g: ScanGrads, gy: View, gLast: View | null, s: ScanInputs, chunkStates: View, useSoftplus: boolean, chunk: number): void {
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
      for (let i = 0; i < n; i++) dh[i] = gLast ? at3(gLast, b, d, i) : 0;
      for (let c = chunks - 1; c >= 0; c--) {
        const t0 = c * chunk;
        const t1 = Math.min(len, t0 + chunk);
        // states[k] holds h_{t0 + k - 1}: row 0 is the saved state before the chunk.
        const saved = chunkStates.offset + ((b * chunks + c) * dim + d) * n;
        for (let i = 0; i < n; i++) states[i] = data(chunkStates)[saved + i]!;
        for (let t = t0; t < t1; t++) {
          const { dt } = stepDelta(s, b, t, d, useSoftplus);
          const u = at3(s.u, b, t, d);
          const row = (t - t0 + 1) * n;
          for (let i = 0; i < n; i++) {
            states[row + i] = Math.exp(dt * A[s.A.offset + d * n + i]!) * states[row - n + i]! + dt * at3(s.B, b, t, i) * u;
          }
        }
        for (let t = t1 - 1; t >= t0; t--) {
          const { raw, dt } = stepDelta(s, b, t, d, useSoftplus);
          const u = at3(s.u, b, t, d);
          const row = (t - t0 + 1) * n;
          let gpre = data(gy)[gy.offset + (b * len + t) * dim + d]!;
          if (s.z) {
            const z = at3(s.z, b, t, d);
            let pre = at1(s.D, d, 0) * u;
            for (let i = 0; i < n; i++) pre += states[row + i]! * at3(s.C, b, t, i);
            data(g.dz!)[g.dz!.offset + (b * len + t) * dim + d] = gpre * pre * siluGrad(z);
            gpre *= silu(z);
          }
          dD[d] += gpre * u;
          let du = gpre * at1(s.D, d, 0);
          let ddt = 0;
          for (let i = 0; i < n; i++) {
            const a = Math.exp(dt * A[s.A.offset + d * n + i]!);
            const prev = states[row - n + i]!;
            const bv = at3(s.B, b, t, i);
            dh[i] += gpre * at3(s.C, b, t, i);
            dC[(b * len + t) * n + i] += gpre * states[row + i]!;
            ddt += dh[i]! * (A[s.A.offset + d * n + i]! * a * prev + bv * u);
            dA[d * n + i] += dh[i]! * dt * a * prev;
            dB[(b * len + t) * n + i] += dh[i]! * dt * u;
            du += dh[i]! * dt * bv;
            dh[i] = dh[i]! * a;
          }
          const draw = useSoftplus ? ddt * softplusGrad(raw, 1, 20) : ddt;
          dBias[d] += draw;
          data(g.ddelta)[g.ddelta.offset + (b * len + t) * dim + d] = draw;
          data(g.du)[g.du.offset + (b * len + t) * dim + d] = du;
        }
      }
      if (g.dh0) for (let i = 0; i < n; i++) data(g.dh0)[g.dh0.offset + (b * dim + d) * n + i] = dh[i]!;
    }
  }
  data(g.dA).set(dA, g.dA.offset);
  data(g.dB).set(dB, g.dB.offset);
  data(g.dC).set(dC, g.dC.offset);
  if (g.dD) data(g.dD).set(dD, g.dD.offset);
  if (g.ddeltaBias) data(g.ddeltaBias).set(dBias, g.ddeltaBias.offset);
}

