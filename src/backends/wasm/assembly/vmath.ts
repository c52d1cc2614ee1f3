// Vectorised float32 math (four lanes): exp and log after Cephes, tanh, sigmoid, erf, log1p.
// Accuracy is a few ulp in the normal range; the tests hold them to the float64 reference.
import { madd } from './common';

// @ts-ignore: decorator
@inline function splat(v: f32): v128 {
  return f32x4.splat(v);
}

// @ts-ignore: decorator
@inline export function expv(x0: v128): v128 {
  // pmin/pmax are one instruction each (min/max carry NaN and -0 fix-ups) and keep a NaN x.
  const x1 = f32x4.pmax(f32x4.pmin(x0, splat(88.376262664795)), splat(-88.3762626647949));
  const fx = f32x4.nearest(f32x4.mul(x1, splat(1.44269504088896341)));
  // x - fx*ln2 in two steps (ln2 = C1 + C2) to keep the reduction exact.
  let x = f32x4.sub(x1, f32x4.mul(fx, splat(0.693359375)));
  x = f32x4.sub(x, f32x4.mul(fx, splat(-2.1219444e-4)));
  const z = f32x4.mul(x, x);
  let y = splat(1.98756915e-4);
  y = madd(y, x, splat(1.3981999507e-3));
  y = madd(y, x, splat(8.3334519073e-3));
  y = madd(y, x, splat(4.1665795894e-2));
  y = madd(y, x, splat(1.6666665459e-1));
  y = madd(y, x, splat(5.0000001201e-1));
  y = f32x4.add(madd(y, z, x), splat(1));
  // 2^fx built in the exponent bits. fx is an integer in [-127, 128]: adding 1.5 * 2^23 puts it
  // in the low mantissa bits, cheaper than a saturating float-to-int conversion.
  const magic = splat(12582912);
  const n = i32x4.sub(f32x4.add(fx, magic), magic);
  const pow2n = i32x4.shl(i32x4.add(n, i32x4.splat(127)), 23);
  return f32x4.mul(y, pow2n);
}

/** log2(e): exp(x) = exp2(x log2(e)); the scans fold it into delta once per step. */
export const LOG2E: f32 = 1.4426950408889634;

/**
 * 2^x. Cheaper than expv where the caller has the argument in base 2 already: the reduction is one
 * subtraction (x - round(x) is exact) instead of two Cody-Waite steps, and 2^f on [-1/2, 1/2] is a
 * degree-6 polynomial (a relative-error fit: 2e-9 in float64, under 2 ulp evaluated in float32 by
 * Horner, checked with numpy when it was written; the scan tests hold the kernels to float64).
 * Under -127 the result flushes to 0, from 127.5 on it is infinity, and NaN stays NaN.
 */
// @ts-ignore: decorator
@inline export function exp2v(x0: v128): v128 {
  const x = f32x4.pmax(f32x4.pmin(x0, splat(128)), splat(-127));
  const fx = f32x4.nearest(x);
  const f = f32x4.sub(x, fx);
  let y = splat(1.5345215797424316e-4);
  y = madd(y, f, splat(1.3399876188486814e-3));
  y = madd(y, f, splat(9.618490934371948e-3));
  y = madd(y, f, splat(5.550329014658928e-2));
  y = madd(y, f, splat(2.4022646248340607e-1));
  y = madd(y, f, splat(6.931471824645996e-1));
  y = madd(y, f, splat(1));
  // fx is an integer in [-127, 128]: see expv for building 2^fx in the exponent bits.
  const magic = splat(12582912);
  const n = i32x4.sub(f32x4.add(fx, magic), magic);
  return f32x4.mul(y, i32x4.shl(i32x4.add(n, i32x4.splat(127)), 23));
}

// @ts-ignore: decorator
@inline export function logv(x0: v128): v128 {
  const x1 = f32x4.pmax(x0, splat(1.17549435e-38));
  let e = f32x4.convert_i32x4_s(i32x4.sub(i32x4.shr_u(x1, 23), i32x4.splat(126)));
  let m = v128.or(v128.and(x1, i32x4.splat(0x807fffff)), i32x4.splat(0x3f000000));
  // m in [0.5, 1): fold to [sqrt(1/2), sqrt(2)) so that the polynomial argument stays small.
  const small = f32x4.lt(m, splat(0.707106781186547524));
  e = f32x4.sub(e, v128.and(small, splat(1)));
  let x = f32x4.sub(f32x4.add(m, v128.and(small, m)), splat(1));
  const z = f32x4.mul(x, x);
  let y = splat(7.0376836292e-2);
  y = madd(y, x, splat(-1.151461031e-1));
  y = madd(y, x, splat(1.167699874e-1));
  y = madd(y, x, splat(-1.2420140846e-1));
  y = madd(y, x, splat(1.4249322787e-1));
  y = madd(y, x, splat(-1.6668057665e-1));
  y = madd(y, x, splat(2.0000714765e-1));
  y = madd(y, x, splat(-2.4999993993e-1));
  y = madd(y, x, splat(3.3333331174e-1));
  y = f32x4.mul(f32x4.mul(y, x), z);
  y = madd(e, splat(-2.1219444e-4), y);
  y = madd(z, splat(-0.5), y);
  x = f32x4.add(x, y);
  x = madd(e, splat(0.693359375), x);
  // Special values: log(0) = -inf, log(negative) = NaN, log(inf) = inf, NaN stays NaN.
  x = v128.bitselect(splat(-Infinity), x, f32x4.eq(x0, splat(0)));
  x = v128.bitselect(splat(NaN), x, f32x4.lt(x0, splat(0)));
  x = v128.bitselect(splat(Infinity), x, f32x4.eq(x0, splat(Infinity)));
  return v128.bitselect(x0, x, f32x4.ne(x0, x0));
}

/** log(1 + u) for u > -1, accurate for tiny u: log(w) * u / (w - 1) with w = 1 + u. */
// @ts-ignore: decorator
@inline export function log1pv(u: v128): v128 {
  const w = f32x4.add(u, splat(1));
  const d = f32x4.sub(w, splat(1));
  const r = f32x4.mul(logv(w), f32x4.div(u, d));
  return v128.bitselect(u, r, f32x4.eq(d, splat(0)));
}

// @ts-ignore: decorator
@inline export function sigmoidv(x: v128): v128 {
  return f32x4.div(splat(1), f32x4.add(splat(1), expv(f32x4.neg(x))));
}

// @ts-ignore: decorator
@inline export function tanhv(x: v128): v128 {
  const ax = f32x4.abs(x);
  // Small |x|: odd polynomial (Cephes tanhf); otherwise 1 - 2/(exp(2|x|) + 1) with x's sign.
  const z = f32x4.mul(x, x);
  let p = splat(-5.70498872745e-3);
  p = madd(p, z, splat(2.06390887954e-2));
  p = madd(p, z, splat(-5.37397155531e-2));
  p = madd(p, z, splat(1.33314422036e-1));
  p = madd(p, z, splat(-3.33332819422e-1));
  const small = madd(f32x4.mul(p, z), x, x);
  const e = expv(f32x4.add(ax, ax));
  const big = f32x4.sub(splat(1), f32x4.div(splat(2), f32x4.add(e, splat(1))));
  const signed = v128.or(big, v128.and(x, i32x4.splat(0x80000000)));
  return v128.bitselect(small, signed, f32x4.lt(ax, splat(0.625)));
}

/** erf: a Taylor series below 0.5, Abramowitz-Stegun 7.1.26 (error < 1.5e-7) above. */
// @ts-ignore: decorator
@inline export function erfv(x: v128): v128 {
  const ax = f32x4.abs(x);
  const z = f32x4.mul(x, x);
  let s = splat(1.0 / 216.0);
  s = madd(s, f32x4.neg(z), splat(1.0 / 42.0));
  s = madd(s, f32x4.neg(z), splat(1.0 / 10.0));
  s = madd(s, f32x4.neg(z), splat(1.0 / 3.0));
  s = madd(s, f32x4.neg(z), splat(1.0));
  const series = f32x4.mul(f32x4.mul(s, x), splat(1.1283791670955126));
  const t = f32x4.div(splat(1), madd(ax, splat(0.3275911), splat(1)));
  let q = splat(1.061405429);
  q = madd(q, t, splat(-1.453152027));
  q = madd(q, t, splat(1.421413741));
  q = madd(q, t, splat(-0.284496736));
  q = madd(q, t, splat(0.254829592));
  const tail = f32x4.sub(splat(1), f32x4.mul(f32x4.mul(q, t), expv(f32x4.neg(z))));
  const signed = v128.or(tail, v128.and(x, i32x4.splat(0x80000000)));
  return v128.bitselect(series, signed, f32x4.lt(ax, splat(0.5)));
}

/** log(1 + exp(beta x)) / beta, or x where beta x > threshold (PyTorch's softplus). */
// @ts-ignore: decorator
@inline export function softplusv(x: v128, beta: v128, threshold: v128): v128 {
  const bx = f32x4.mul(x, beta);
  const soft = f32x4.div(f32x4.add(f32x4.max(bx, splat(0)), log1pv(expv(f32x4.neg(f32x4.abs(bx))))), beta);
  return v128.bitselect(x, soft, f32x4.gt(bx, threshold));
}
