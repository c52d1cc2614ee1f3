// Fused kernels that save passes over memory in the Mamba block: residual add + RMS norm, and
// the SiLU output gate with its gradient. All operands are contiguous.
import { madd, shareStart } from './common';
import { sigmoidv } from './vmath';

// @ts-ignore: decorator
@inline function at(base: usize, index: i32): usize {
  return base + ((<usize>index) << 2);
}

/** sum = x + residual; out = sum / rms(sum) * weight, row by row; rows split across threads. */
export function addRmsNorm(
  out: usize,
  sum: usize,
  rstd: usize,
  x: usize,
  residual: usize,
  weight: usize,
  hasWeight: i32,
  rows: i32,
  cols: i32,
  eps: f32,
  tid: i32,
  nthreads: i32,
): void {
  const r0 = shareStart(rows, tid, nthreads);
  const r1 = shareStart(rows, tid + 1, nthreads);
  for (let r = r0; r < r1; r++) {
    const base = r * cols;
    let acc = f32x4.splat(0);
    let c = 0;
    for (; c + 4 <= cols; c += 4) {
      const s = f32x4.add(v128.load(at(x, base + c)), v128.load(at(residual, base + c)));
      v128.store(at(sum, base + c), s);
      acc = madd(s, s, acc);
    }
    let ms =
      <f64>f32x4.extract_lane(acc, 0) +
      <f64>f32x4.extract_lane(acc, 1) +
      <f64>f32x4.extract_lane(acc, 2) +
      <f64>f32x4.extract_lane(acc, 3);
    for (; c < cols; c++) {
      const s = load<f32>(at(x, base + c)) + load<f32>(at(residual, base + c));
      store<f32>(at(sum, base + c), s);
      ms += <f64>s * <f64>s;
    }
    const inv = <f32>(1.0 / Math.sqrt(ms / <f64>cols + <f64>eps));
    store<f32>(at(rstd, r), inv);
    const iv = f32x4.splat(inv);
    c = 0;
    for (; c + 4 <= cols; c += 4) {
      let v = f32x4.mul(v128.load(at(sum, base + c)), iv);
      if (hasWeight) v = f32x4.mul(v, v128.load(at(weight, c)));
      v128.store(at(out, base + c), v);
    }
    for (; c < cols; c++) {
      let v = load<f32>(at(sum, base + c)) * inv;
      if (hasWeight) v *= load<f32>(at(weight, c));
      store<f32>(at(out, base + c), v);
    }
  }
}

// @ts-ignore: decorator
@inline function gate(y: v128, z: v128): v128 {
  return f32x4.mul(y, f32x4.mul(z, sigmoidv(z)));
}

// @ts-ignore: decorator
@inline function gateDy(g: v128, z: v128): v128 {
  return f32x4.mul(g, f32x4.mul(z, sigmoidv(z)));
}

// @ts-ignore: decorator
@inline function gateDz(g: v128, y: v128, z: v128): v128 {
  const s = sigmoidv(z);
  const one = f32x4.splat(1);
  return f32x4.mul(f32x4.mul(g, y), f32x4.mul(s, madd(z, f32x4.sub(one, s), one)));
}

/** out = y * silu(z) over n elements, split across threads. */
export function siluMul(out: usize, y: usize, z: usize, n: i32, tid: i32, nthreads: i32): void {
  const i0 = shareStart(n, tid, nthreads);
  const i1 = shareStart(n, tid + 1, nthreads);
  let i = i0;
  for (; i + 4 <= i1; i += 4) v128.store(at(out, i), gate(v128.load(at(y, i)), v128.load(at(z, i))));
  for (; i < i1; i++) {
    store<f32>(at(out, i), f32x4.extract_lane(gate(v128.load32_splat(at(y, i)), v128.load32_splat(at(z, i))), 0));
  }
}

/** dy = g * silu(z), dz = g * y * silu'(z). */
export function siluMulGrad(dy: usize, dz: usize, g: usize, y: usize, z: usize, n: i32, tid: i32, nthreads: i32): void {
  const i0 = shareStart(n, tid, nthreads);
  const i1 = shareStart(n, tid + 1, nthreads);
  let i = i0;
  for (; i + 4 <= i1; i += 4) {
    const gv = v128.load(at(g, i));
    const zv = v128.load(at(z, i));
    v128.store(at(dy, i), gateDy(gv, zv));
    v128.store(at(dz, i), gateDz(gv, v128.load(at(y, i)), zv));
  }
  for (; i < i1; i++) {
    const gv = v128.load32_splat(at(g, i));
    const zv = v128.load32_splat(at(z, i));
    store<f32>(at(dy, i), f32x4.extract_lane(gateDy(gv, zv), 0));
    store<f32>(at(dz, i), f32x4.extract_lane(gateDz(gv, v128.load32_splat(at(y, i)), zv), 0));
  }
}
