// Layer norm and RMS norm over the last axis of contiguous float32 rows, and their gradients.
// Row statistics accumulate in float64. Threads split rows; the weight and bias gradients (sums
// over rows) go to per-thread float64 partials that normParamsSum adds up in thread order.
import { shareStart } from './common';
import { sumRun } from './reduce';

// @ts-ignore: decorator
@inline function at(base: usize, index: i32): usize {
  return base + ((<usize>index) << 2);
}

// @ts-ignore: decorator
@inline function at64(base: usize, index: i32): usize {
  return base + ((<usize>index) << 3);
}

// @ts-ignore: decorator
@inline function addWide(acc: v128, v: v128): v128 {
  return f64x2.add(acc, f64x2.promote_low_f32x4(v));
}

// @ts-ignore: decorator
@inline function high(v: v128): v128 {
  return f32x4.shuffle(v, v, 2, 3, 0, 1);
}

// @ts-ignore: decorator
@inline function lanesSum(a0: v128, a1: v128): f64 {
  const a = f64x2.add(a0, a1);
  return f64x2.extract_lane(a, 0) + f64x2.extract_lane(a, 1);
}

/** Adds the four lanes of v (float32) to the float64 accumulators at p[0..4). */
// @ts-ignore: decorator
@inline function accumulate(p: usize, v: v128): void {
  v128.store(p, addWide(v128.load(p), v));
  v128.store(p, addWide(v128.load(p, 16), high(v)), 16);
}

// @ts-ignore: decorator
@inline function accumulateScalar(p: usize, v: f32): void {
  store<f64>(p, load<f64>(p) + <f64>v);
}

/** Sum of squares of (x - hi - lo) over a row, in float64 (hi + lo is the row mean). */
function centredSquares(p: usize, n: i32, hi: f32, lo: f32): f64 {
  const hv = f32x4.splat(hi);
  const lv = f32x4.splat(lo);
  let a0 = f64x2.splat(0);
  let a1 = a0;
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const d = f32x4.sub(f32x4.sub(v128.load(at(p, i)), hv), lv);
    const d2 = f32x4.mul(d, d);
    a0 = addWide(a0, d2);
    a1 = addWide(a1, high(d2));
  }
  let s = lanesSum(a0, a1);
  for (; i < n; i++) {
    const d = load<f32>(at(p, i)) - hi - lo;
    s += <f64>(d * d);
  }
  return s;
}

/**
 * out = (x - mean) * rstd [* weight] [+ bias] per row of x [rows, cols]; weight and bias are 0
 * when absent. Writes each row's mean and rstd.
 */
export function layerNorm(
  out: usize,
  mean: usize,
  rstd: usize,
  x: usize,
  weight: usize,
  bias: usize,
  rows: i32,
  cols: i32,
  eps: f64,
  tid: i32,
  nthreads: i32,
): void {
  const r1 = shareStart(rows, tid + 1, nthreads);
  for (let r = shareStart(rows, tid, nthreads); r < r1; r++) {
    const p = at(x, r * cols);
    const q = at(out, r * cols);
    const mu = sumRun(p, cols, 1) / <f64>cols;
    // The mean as a float32 pair, so that x - mean stays accurate when the mean dwarfs the spread.
    const hi = <f32>mu;
    const lo = <f32>(mu - <f64>hi);
    const rs = 1 / Math.sqrt(centredSquares(p, cols, hi, lo) / <f64>cols + eps);
    store<f32>(at(mean, r), hi);
    store<f32>(at(rstd, r), <f32>rs);
    const hv = f32x4.splat(hi);
    const lv = f32x4.splat(lo);
    const sv = f32x4.splat(<f32>rs);
    let c = 0;
    for (; c + 4 <= cols; c += 4) {
      let v = f32x4.mul(f32x4.sub(f32x4.sub(v128.load(at(p, c)), hv), lv), sv);
      if (weight) v = f32x4.mul(v, v128.load(at(weight, c)));
      if (bias) v = f32x4.add(v, v128.load(at(bias, c)));
      v128.store(at(q, c), v);
    }
    for (; c < cols; c++) {
      let v = (load<f32>(at(p, c)) - hi - lo) * <f32>rs;
      if (weight) v *= load<f32>(at(weight, c));
      if (bias) v += load<f32>(at(bias, c));
      store<f32>(at(q, c), v);
    }
  }
}

/**
 * dx of layer norm per row; with `partials` (else 0), thread tid also adds g * xhat and g into
 * its float64 block partials[tid * 2 cols ..], dweight's sums then dbias's.
 */
export function layerNormGrad(
  dx: usize,
  partials: usize,
  g: usize,
  x: usize,
  mean: usize,
  rstd: usize,
  weight: usize,
  rows: i32,
  cols: i32,
  tid: i32,
  nthreads: i32,
): void {
  const dw = partials ? at64(partials, tid * 2 * cols) : 0;
  const db = partials ? at64(dw, cols) : 0;
  const r1 = shareStart(rows, tid + 1, nthreads);
  for (let r = shareStart(rows, tid, nthreads); r < r1; r++) {
    const p = at(x, r * cols);
    const gp = at(g, r * cols);
    const q = at(dx, r * cols);
    const mu = load<f32>(at(mean, r));
    const rs = load<f32>(at(rstd, r));
    const mv = f32x4.splat(mu);
    const sv = f32x4.splat(rs);
    let s0 = f64x2.splat(0);
    let s1 = s0;
    let t0 = s0;
    let t1 = s0;
    let c = 0;
    for (; c + 4 <= cols; c += 4) {
      const xhat = f32x4.mul(f32x4.sub(v128.load(at(p, c)), mv), sv);
      let gw = v128.load(at(gp, c));
      if (weight) gw = f32x4.mul(gw, v128.load(at(weight, c)));
      const gx = f32x4.mul(gw, xhat);
      s0 = addWide(s0, gw);
      s1 = addWide(s1, high(gw));
      t0 = addWide(t0, gx);
      t1 = addWide(t1, high(gx));
    }
    let sumGw = lanesSum(s0, s1);
    let sumGwX = lanesSum(t0, t1);
    for (; c < cols; c++) {
      const xhat = (load<f32>(at(p, c)) - mu) * rs;
      let gw = load<f32>(at(gp, c));
      if (weight) gw *= load<f32>(at(weight, c));
      sumGw += <f64>gw;
      sumGwX += <f64>(gw * xhat);
    }
    const a = <f32>(sumGw / <f64>cols);
    const b = <f32>(sumGwX / <f64>cols);
    const av = f32x4.splat(a);
    const bv = f32x4.splat(b);
    c = 0;
    for (; c + 4 <= cols; c += 4) {
      const gv = v128.load(at(gp, c));
      const xhat = f32x4.mul(f32x4.sub(v128.load(at(p, c)), mv), sv);
      const gw = weight ? f32x4.mul(gv, v128.load(at(weight, c))) : gv;
      v128.store(at(q, c), f32x4.mul(sv, f32x4.sub(f32x4.sub(gw, av), f32x4.mul(xhat, bv))));
      if (partials) {
        accumulate(at64(dw, c), f32x4.mul(gv, xhat));
        accumulate(at64(db, c), gv);
      }
    }
    for (; c < cols; c++) {
      const gv = load<f32>(at(gp, c));
      const xhat = (load<f32>(at(p, c)) - mu) * rs;
      const gw = weight ? gv * load<f32>(at(weight, c)) : gv;
      store<f32>(at(q, c), rs * (gw - a - xhat * b));
      if (partials) {
        accumulateScalar(at64(dw, c), gv * xhat);
        accumulateScalar(at64(db, c), gv);
      }
    }
  }
}

/** out = x * rstd [* weight] per row, rstd = 1 / sqrt(mean(x^2) + eps); writes each row's rstd. */
export function rmsNorm(
  out: usize,
  rstd: usize,
  x: usize,
  weight: usize,
  rows: i32,
  cols: i32,
  eps: f64,
  tid: i32,
  nthreads: i32,
): void {
  const r1 = shareStart(rows, tid + 1, nthreads);
  for (let r = shareStart(rows, tid, nthreads); r < r1; r++) {
    const p = at(x, r * cols);
    const q = at(out, r * cols);
    const rs = <f32>(1 / Math.sqrt(centredSquares(p, cols, 0, 0) / <f64>cols + eps));
    store<f32>(at(rstd, r), rs);
    const sv = f32x4.splat(rs);
    let c = 0;
    for (; c + 4 <= cols; c += 4) {
      let v = f32x4.mul(v128.load(at(p, c)), sv);
      if (weight) v = f32x4.mul(v, v128.load(at(weight, c)));
      v128.store(at(q, c), v);
    }
    for (; c < cols; c++) {
      let v = load<f32>(at(p, c)) * rs;
      if (weight) v *= load<f32>(at(weight, c));
      store<f32>(at(q, c), v);
    }
  }
}

/** dx of RMS norm per row; with `partials` (else 0), adds g * x * rstd into thread tid's block of cols float64. */
export function rmsNormGrad(
  dx: usize,
  partials: usize,
  g: usize,
  x: usize,
  rstd: usize,
  weight: usize,
  rows: i32,
  cols: i32,
  tid: i32,
  nthreads: i32,
): void {
  const dw = partials ? at64(partials, tid * cols) : 0;
  const r1 = shareStart(rows, tid + 1, nthreads);
  for (let r = shareStart(rows, tid, nthreads); r < r1; r++) {
    const p = at(x, r * cols);
    const gp = at(g, r * cols);
    const q = at(dx, r * cols);
    const rs = load<f32>(at(rstd, r));
    let d0 = f64x2.splat(0);
    let d1 = d0;
    let c = 0;
    for (; c + 4 <= cols; c += 4) {
      let gw = v128.load(at(gp, c));
      if (weight) gw = f32x4.mul(gw, v128.load(at(weight, c)));
      const gx = f32x4.mul(gw, v128.load(at(p, c)));
      d0 = addWide(d0, gx);
      d1 = addWide(d1, high(gx));
    }
    let dot = lanesSum(d0, d1);
    for (; c < cols; c++) {
      let gw = load<f32>(at(gp, c));
      if (weight) gw *= load<f32>(at(weight, c));
      dot += <f64>(gw * load<f32>(at(p, c)));
    }
    const rs64 = <f64>rs;
    const k = <f32>((rs64 * rs64 * rs64 * dot) / <f64>cols);
    const kv = f32x4.splat(k);
    const sv = f32x4.splat(rs);
    c = 0;
    for (; c + 4 <= cols; c += 4) {
      const gv = v128.load(at(gp, c));
      const xv = v128.load(at(p, c));
      const gw = weight ? f32x4.mul(gv, v128.load(at(weight, c))) : gv;
      v128.store(at(q, c), f32x4.sub(f32x4.mul(gw, sv), f32x4.mul(xv, kv)));
      if (partials) accumulate(at64(dw, c), f32x4.mul(f32x4.mul(gv, xv), sv));
    }
    for (; c < cols; c++) {
      const gv = load<f32>(at(gp, c));
      const xv = load<f32>(at(p, c));
      const gw = weight ? gv * load<f32>(at(weight, c)) : gv;
      store<f32>(at(q, c), gw * rs - xv * k);
      if (partials) accumulateScalar(at64(dw, c), gv * xv * rs);
    }
  }
}

/** dst[c] = sum over t < count of partials[t * stride + c] (float64, in thread order) as float32. */
export function normParamsSum(
  dst: usize,
  partials: usize,
  count: i32,
  stride: i32,
  cols: i32,
  tid: i32,
  nthreads: i32,
): void {
  const c1 = shareStart(cols, tid + 1, nthreads);
  for (let c = shareStart(cols, tid, nthreads); c < c1; c++) {
    let s: f64 = 0;
    for (let t = 0; t < count; t++) s += load<f64>(at64(partials, t * stride + c));
    store<f32>(at(dst, c), <f32>s);
  }
}
