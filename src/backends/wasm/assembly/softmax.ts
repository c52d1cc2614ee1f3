// Softmax, log-softmax and cross-entropy over the last axis of contiguous float32 rows. Each row
// takes one pass for its max and one for the sum of exp(x - max), which accumulates in float64
// so that rows of tens of thousands of classes keep float32 accuracy.
import { shareStart } from './common';
import { expv } from './vmath';

// @ts-ignore: decorator
@inline function at(base: usize, index: i32): usize {
  return base + ((<usize>index) << 2);
}

// @ts-ignore: decorator
@inline function expScalar(v: f32): f32 {
  return f32x4.extract_lane(expv(f32x4.splat(v)), 0);
}

// @ts-ignore: decorator
@inline function addWide(acc: v128, v: v128): v128 {
  return f64x2.add(acc, f64x2.promote_low_f32x4(v));
}

/** Largest element of a row; NaN if the row has one, as in the reference. */
function rowMax(p: usize, n: i32): f32 {
  // pmax is one instruction but passes over NaN, so NaN lanes are tracked on the side.
  let m0 = f32x4.splat(-Infinity);
  let m1 = m0;
  let nan = f32x4.splat(0);
  let i = 0;
  for (; i + 8 <= n; i += 8) {
    const v0 = v128.load(at(p, i));
    const v1 = v128.load(at(p, i), 16);
    m0 = f32x4.pmax(m0, v0);
    m1 = f32x4.pmax(m1, v1);
    nan = v128.or(nan, v128.or(f32x4.ne(v0, v0), f32x4.ne(v1, v1)));
  }
  for (; i + 4 <= n; i += 4) {
    const v = v128.load(at(p, i));
    m0 = f32x4.pmax(m0, v);
    nan = v128.or(nan, f32x4.ne(v, v));
  }
  if (v128.any_true(nan)) return NaN;
  m0 = f32x4.pmax(m0, m1);
  m0 = f32x4.pmax(m0, f32x4.shuffle(m0, m0, 2, 3, 0, 1));
  let m = max<f32>(f32x4.extract_lane(m0, 0), f32x4.extract_lane(m0, 1));
  for (; i < n; i++) m = max<f32>(m, load<f32>(at(p, i)));
  return m;
}

/** Sum of exp(x - m) over a row, in float64; with `keep`, each exp is also written to dst. */
// @ts-ignore: decorator
@inline function rowSumExp(p: usize, dst: usize, n: i32, m: f32, keep: bool): f64 {
  const mv = f32x4.splat(m);
  let a0 = f64x2.splat(0);
  let a1 = a0;
  let i = 0;
  // Float32 partial sums of at most 16 terms a lane (each term at most 1), then float64.
  while (i + 4 <= n) {
    const end = min(n & ~3, i + 128);
    let s0 = f32x4.splat(0);
    let s1 = s0;
    for (; i + 8 <= end; i += 8) {
      const e0 = expv(f32x4.sub(v128.load(at(p, i)), mv));
      const e1 = expv(f32x4.sub(v128.load(at(p, i), 16), mv));
      if (keep) {
        v128.store(at(dst, i), e0);
        v128.store(at(dst, i), e1, 16);
      }
      s0 = f32x4.add(s0, e0);
      s1 = f32x4.add(s1, e1);
    }
    if (i < end) {
      const e0 = expv(f32x4.sub(v128.load(at(p, i)), mv));
      if (keep) v128.store(at(dst, i), e0);
      s0 = f32x4.add(s0, e0);
      i += 4;
    }
    a0 = addWide(addWide(a0, s0), s1);
    a1 = addWide(addWide(a1, f32x4.shuffle(s0, s0, 2, 3, 0, 1)), f32x4.shuffle(s1, s1, 2, 3, 0, 1));
  }
  const a = f64x2.add(a0, a1);
  let s = f64x2.extract_lane(a, 0) + f64x2.extract_lane(a, 1);
  for (; i < n; i++) {
    const e = expScalar(load<f32>(at(p, i)) - m);
    if (keep) store<f32>(at(dst, i), e);
    s += <f64>e;
  }
  return s;
}

/** Softmax (log = 0) or log-softmax (log = 1) of each row of x [rows, cols]; threads split rows. */
export function softmax(out: usize, x: usize, rows: i32, cols: i32, log: i32, tid: i32, nthreads: i32): void {
  const r1 = shareStart(rows, tid + 1, nthreads);
  for (let r = shareStart(rows, tid, nthreads); r < r1; r++) {
    const p = at(x, r * cols);
    const q = at(out, r * cols);
    const m = rowMax(p, cols);
    const mv = f32x4.splat(m);
    if (log) {
      // (x - max) - log(sum) keeps the small differences near the max exact.
      const l = <f32>Math.log(rowSumExp(p, 0, cols, m, false));
      const lv = f32x4.splat(l);
      let c = 0;
      for (; c + 4 <= cols; c += 4) v128.store(at(q, c), f32x4.sub(f32x4.sub(v128.load(at(p, c)), mv), lv));
      for (; c < cols; c++) store<f32>(at(q, c), load<f32>(at(p, c)) - m - l);
    } else {
      const inv = <f32>(1 / rowSumExp(p, q, cols, m, true));
      const iv = f32x4.splat(inv);
      let c = 0;
      for (; c + 4 <= cols; c += 4) v128.store(at(q, c), f32x4.mul(v128.load(at(q, c)), iv));
      for (; c < cols; c++) store<f32>(at(q, c), load<f32>(at(q, c)) * inv);
    }
  }
}

/** log(sum(exp(row))), -inf for a row of -inf (or an empty row), as the reference defines it. */
function rowLogSumExp(p: usize, n: i32): f64 {
  const m = rowMax(p, n);
  if (m == -Infinity) return -Infinity;
  return <f64>m + Math.log(rowSumExp(p, 0, n, m, false));
}

/**
 * Per-row loss and log-sum-exp of logits [rows, cols] against int32 targets (checked by the
 * caller); rows whose target is ignoreIndex get loss 0. Threads split rows.
 */
export function crossEntropy(
  loss: usize,
  lse: usize,
  logits: usize,
  targets: usize,
  rows: i32,
  cols: i32,
  ignoreIndex: i32,
  tid: i32,
  nthreads: i32,
): void {
  const r1 = shareStart(rows, tid + 1, nthreads);
  for (let r = shareStart(rows, tid, nthreads); r < r1; r++) {
    const p = at(logits, r * cols);
    const l = rowLogSumExp(p, cols);
    store<f32>(at(lse, r), <f32>l);
    const t = load<i32>(at(targets, r));
    store<f32>(at(loss, r), t == ignoreIndex ? 0 : <f32>(l - <f64>load<f32>(at(p, t))));
  }
}

/**
 * dlogits = (softmax(logits) - onehot(target)) * gLoss[row], zero on ignored rows. The work is
 * elementwise once lse is known, so threads split the flattened [rows, cols] range: a few rows
 * of a large vocabulary still use every thread.
 */
export function crossEntropyGrad(
  dlogits: usize,
  logits: usize,
  lse: usize,
  targets: usize,
  gLoss: usize,
  rows: i32,
  cols: i32,
  ignoreIndex: i32,
  tid: i32,
  nthreads: i32,
): void {
  const n = rows * cols;
  let e = shareStart(n, tid, nthreads);
  const e1 = shareStart(n, tid + 1, nthreads);
  while (e < e1) {
    const r = e / cols;
    const c0 = e - r * cols;
    const c1 = min(cols, c0 + (e1 - e));
    const t = load<i32>(at(targets, r));
    const p = at(logits, r * cols);
    const q = at(dlogits, r * cols);
    if (t == ignoreIndex) {
      memory.fill(at(q, c0), 0, (<usize>(c1 - c0)) << 2);
    } else {
      const g = load<f32>(at(gLoss, r));
      const l = load<f32>(at(lse, r));
      const gv = f32x4.splat(g);
      const lv = f32x4.splat(l);
      let c = c0;
      for (; c + 4 <= c1; c += 4) v128.store(at(q, c), f32x4.mul(gv, expv(f32x4.sub(v128.load(at(p, c)), lv))));
      for (; c < c1; c++) store<f32>(at(q, c), g * expScalar(load<f32>(at(p, c)) - l));
      if (t >= c0 && t < c1) store<f32>(at(q, t), g * (expScalar(load<f32>(at(p, t)) - l) - 1));
    }
    e = r * cols + c1;
  }
}
