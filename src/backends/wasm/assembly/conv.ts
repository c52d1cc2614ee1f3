// Convolution and pooling kernels: Mamba's depthwise causal conv over time (SIMD across
// channels), the im2col / col2im halves of conv2d (the products run through the matmul
// kernels), and max pooling. Float32 only.
import { madd, shareStart } from './common';

// @ts-ignore: decorator
@inline function at(base: usize, index: i32): usize {
  // Negative indices wrap modulo 2^32, which wasm32 addressing turns back into the right byte.
  return base + ((<usize>index) << 2);
}

// @ts-ignore: decorator
@inline function zeroSpan(dst: usize, n: i32): void {
  const z = f32x4.splat(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) v128.store(at(dst, i), z);
  for (; i < n; i++) store<f32>(at(dst, i), 0);
}

// Spans are image rows: memory.copy wins on long ones, its call costs more than it saves on short ones.
// @ts-ignore: decorator
@inline function copySpan(dst: usize, src: usize, n: i32): void {
  if (n >= 64) {
    memory.copy(dst, src, (<usize>n) << 2);
    return;
  }
  let i = 0;
  for (; i + 4 <= n; i += 4) v128.store(at(dst, i), v128.load(at(src, i)));
  for (; i < n; i++) store<f32>(at(dst, i), load<f32>(at(src, i)));
}

// @ts-ignore: decorator
@inline function addSpan(dst: usize, src: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) v128.store(at(dst, i), f32x4.add(v128.load(at(dst, i)), v128.load(at(src, i))));
  for (; i < n; i++) store<f32>(at(dst, i), load<f32>(at(dst, i)) + load<f32>(at(src, i)));
}

// ---- causal depthwise conv over time ------------------------------------------------------
// x [B, L, D] may be strided (Mamba passes a channel slice of a wider tensor). Where channels are
// contiguous (sd == 1) the kernels take sixteen of them per step, four independent SIMD sums
// sharing one pass of the tap loop; the rest go one by one.

/** taps[j * dim + d] = w[d * k + j], so that one load gives tap j of four neighbouring channels. */
export function causalConv1dTaps(taps: usize, w: usize, dim: i32, k: i32, tid: i32, nthreads: i32): void {
  const d1 = shareStart(dim, tid + 1, nthreads);
  for (let d = shareStart(dim, tid, nthreads); d < d1; d++) {
    for (let j = 0; j < k; j++) store<f32>(at(taps, j * dim + d), load<f32>(at(w, d * k + j)));
  }
}

/** out[b,t,d] = bias[d] + sum_j taps[j,d] * x[b, t-k+1+j, d]; threads split the B*L rows. bias 0 means none. */
export function causalConv1d(
  out: usize,
  x: usize,
  sb: i32,
  st: i32,
  sd: i32,
  taps: usize,
  bias: usize,
  batch: i32,
  len: i32,
  dim: i32,
  k: i32,
  tid: i32,
  nthreads: i32,
): void {
  const rows = batch * len;
  const vecEnd = sd == 1 ? dim & ~15 : 0;
  const tapStep = (<usize>dim) << 2;
  const xStep = (<usize>st) << 2;
  const zero = f32x4.splat(0);
  const r1 = shareStart(rows, tid + 1, nthreads);
  for (let r = shareStart(rows, tid, nthreads); r < r1; r++) {
    const b = r / len;
    const t = r - b * len;
    // Taps before j0 would read before t = 0.
    const j0 = max(0, k - 1 - t);
    const xj = at(x, b * sb + (t - k + 1 + j0) * st);
    const tj = at(taps, j0 * dim);
    const o = at(out, r * dim);
    let d = 0;
    for (; d < vecEnd; d += 16) {
      const bp = at(bias, d);
      let a0 = bias ? v128.load(bp) : zero;
      let a1 = bias ? v128.load(bp, 16) : zero;
      let a2 = bias ? v128.load(bp, 32) : zero;
      let a3 = bias ? v128.load(bp, 48) : zero;
      let tp = at(tj, d);
      let xp = at(xj, d);
      for (let j = j0; j < k; j++) {
        a0 = madd(v128.load(tp), v128.load(xp), a0);
        a1 = madd(v128.load(tp, 16), v128.load(xp, 16), a1);
        a2 = madd(v128.load(tp, 32), v128.load(xp, 32), a2);
        a3 = madd(v128.load(tp, 48), v128.load(xp, 48), a3);
        tp += tapStep;
        xp += xStep;
      }
      const op = at(o, d);
      v128.store(op, a0);
      v128.store(op, a1, 16);
      v128.store(op, a2, 32);
      v128.store(op, a3, 48);
    }
    for (; d < dim; d++) {
      let acc: f32 = bias ? load<f32>(at(bias, d)) : 0;
      for (let j = j0; j < k; j++)
        acc += load<f32>(at(tj, (j - j0) * dim + d)) * load<f32>(at(xj, (j - j0) * st + d * sd));
      store<f32>(at(o, d), acc);
    }
  }
}

/**
 * dx (contiguous like g), dw [D, K] and db [D] (0 for none) of causalConv1d. Threads own blocks
 * of 16 channels (a cache line) and walk every row for them, so each channel's weight and bias
 * sums have one owner and the same order on any thread count. acc is scratch of (k + 1) * dim
 * floats: the running weight sums as [k, D], then the bias sums.
 */
export function causalConv1dGrad(
  dx: usize,
  dw: usize,
  db: usize,
  g: usize,
  x: usize,
  sb: i32,
  st: i32,
  sd: i32,
  taps: usize,
  acc: usize,
  batch: i32,
  len: i32,
  dim: i32,
  k: i32,
  tid: i32,
  nthreads: i32,
): void {
  const blocks = (dim + 15) >> 4;
  const d0 = shareStart(blocks, tid, nthreads) << 4;
  const d1 = min(dim, shareStart(blocks, tid + 1, nthreads) << 4);
  if (d0 >= d1) return;
  for (let j = 0; j <= k; j++) zeroSpan(at(acc, j * dim + d0), d1 - d0);
  const sums = at(acc, k * dim);
  const vecEnd = sd == 1 ? d0 + ((d1 - d0) & ~15) : d0;
  const rowStep = (<usize>dim) << 2;
  const xStep = (<usize>st) << 2;
  for (let b = 0; b < batch; b++) {
    for (let s = 0; s < len; s++) {
      const r = b * len + s;
      const gr = at(g, r * dim);
      // dx[s] gathers g[s + k - 1 - j] over the taps j from jg on, which stay before the end.
      const jg = max(0, s + k - len);
      const gj = at(g, (r + k - 1 - jg) * dim);
      const tg = at(taps, jg * dim);
      // dw[j] gathers g[s] * x[s - k + 1 + j] over the taps j from jx on, which stay after the start.
      const jx = max(0, k - 1 - s);
      const xj = at(x, b * sb + (s - k + 1 + jx) * st);
      const aj = at(acc, jx * dim);
      const dxr = at(dx, r * dim);
      let d = d0;
      for (; d < vecEnd; d += 16) {
        const gd = at(gr, d);
        const g0 = v128.load(gd);
        const g1 = v128.load(gd, 16);
        const g2 = v128.load(gd, 32);
        const g3 = v128.load(gd, 48);
        let v0 = f32x4.splat(0);
        let v1 = f32x4.splat(0);
        let v2 = f32x4.splat(0);
        let v3 = f32x4.splat(0);
        let tp = at(tg, d);
        let gp = at(gj, d);
        for (let j = jg; j < k; j++) {
          v0 = madd(v128.load(tp), v128.load(gp), v0);
          v1 = madd(v128.load(tp, 16), v128.load(gp, 16), v1);
          v2 = madd(v128.load(tp, 32), v128.load(gp, 32), v2);
          v3 = madd(v128.load(tp, 48), v128.load(gp, 48), v3);
          tp += rowStep;
          gp -= rowStep;
        }
        const o = at(dxr, d);
        v128.store(o, v0);
        v128.store(o, v1, 16);
        v128.store(o, v2, 32);
        v128.store(o, v3, 48);
        const sp = at(sums, d);
        v128.store(sp, f32x4.add(v128.load(sp), g0));
        v128.store(sp, f32x4.add(v128.load(sp, 16), g1), 16);
        v128.store(sp, f32x4.add(v128.load(sp, 32), g2), 32);
        v128.store(sp, f32x4.add(v128.load(sp, 48), g3), 48);
        let ap = at(aj, d);
        let xp = at(xj, d);
        for (let j = jx; j < k; j++) {
          v128.store(ap, madd(g0, v128.load(xp), v128.load(ap)));
          v128.store(ap, madd(g1, v128.load(xp, 16), v128.load(ap, 16)), 16);
          v128.store(ap, madd(g2, v128.load(xp, 32), v128.load(ap, 32)), 32);
          v128.store(ap, madd(g3, v128.load(xp, 48), v128.load(ap, 48)), 48);
          ap += rowStep;
          xp += xStep;
        }
      }
      for (; d < d1; d++) {
        const gv = load<f32>(at(gr, d));
        let v: f32 = 0;
        for (let j = jg; j < k; j++) v += load<f32>(at(tg, (j - jg) * dim + d)) * load<f32>(at(gj, d - (j - jg) * dim));
        store<f32>(at(dxr, d), v);
        store<f32>(at(sums, d), load<f32>(at(sums, d)) + gv);
        for (let j = jx; j < k; j++) {
          const a = at(aj, (j - jx) * dim + d);
          store<f32>(a, load<f32>(a) + gv * load<f32>(at(xj, (j - jx) * st + d * sd)));
        }
      }
    }
  }
  for (let d = d0; d < d1; d++) {
    for (let j = 0; j < k; j++) store<f32>(at(dw, d * k + j), load<f32>(at(acc, j * dim + d)));
    if (db) store<f32>(at(db, d), load<f32>(at(sums, d)));
  }
}

// ---- conv2d: im2col and col2im ------------------------------------------------------------
// The column matrix of `planes` contiguous input planes [P, H, W] is [P * kh * kw, ho * wo]:
// row (p, i, j) holds, for every output position, the input under tap (i, j), 0 in padding.

// @ts-ignore: decorator
@inline function firstInside(off: i32, sw: i32, wo: i32): i32 {
  return off >= 0 ? 0 : min(wo, (sw - 1 - off) / sw);
}

// @ts-ignore: decorator
@inline function endInside(off: i32, w: i32, sw: i32, wo: i32): i32 {
  return w - off <= 0 ? 0 : min(wo, (w - off + sw - 1) / sw);
}

/** Fills col from x; threads split the rows. */
export function im2col(
  col: usize,
  x: usize,
  h: i32,
  w: i32,
  kh: i32,
  kw: i32,
  sh: i32,
  sw: i32,
  ph: i32,
  pw: i32,
  dh: i32,
  dw: i32,
  ho: i32,
  wo: i32,
  planes: i32,
  tid: i32,
  nthreads: i32,
): void {
  const taps = kh * kw;
  const n = ho * wo;
  const rows = planes * taps;
  const r1 = shareStart(rows, tid + 1, nthreads);
  for (let r = shareStart(rows, tid, nthreads); r < r1; r++) {
    const p = r / taps;
    const i = (r - p * taps) / kw;
    const j = r - p * taps - i * kw;
    // Input column of output column ow is ow * sw + off; [lo, hi) are the ones inside the plane.
    const off = j * dw - pw;
    const lo = firstInside(off, sw, wo);
    const hi = max(lo, endInside(off, w, sw, wo));
    const src = at(x, p * h * w);
    const dst = at(col, r * n);
    for (let oh = 0; oh < ho; oh++) {
      const ih = oh * sh - ph + i * dh;
      const o = at(dst, oh * wo);
      if (ih < 0 || ih >= h) {
        zeroSpan(o, wo);
        continue;
      }
      zeroSpan(o, lo);
      const s = at(src, ih * w + off);
      if (sw == 1) copySpan(at(o, lo), at(s, lo), hi - lo);
      else for (let ow = lo; ow < hi; ow++) store<f32>(at(o, ow), load<f32>(at(s, ow * sw)));
      zeroSpan(at(o, hi), wo - hi);
    }
  }
}

/** dx = the adjoint of im2col applied to col (overwrites dx); threads split the planes. */
export function col2im(
  dx: usize,
  col: usize,
  h: i32,
  w: i32,
  kh: i32,
  kw: i32,
  sh: i32,
  sw: i32,
  ph: i32,
  pw: i32,
  dh: i32,
  dw: i32,
  ho: i32,
  wo: i32,
  planes: i32,
  tid: i32,
  nthreads: i32,
): void {
  const n = ho * wo;
  const p1 = shareStart(planes, tid + 1, nthreads);
  for (let p = shareStart(planes, tid, nthreads); p < p1; p++) {
    const dst = at(dx, p * h * w);
    zeroSpan(dst, h * w);
    for (let i = 0; i < kh; i++) {
      for (let j = 0; j < kw; j++) {
        const off = j * dw - pw;
        const lo = firstInside(off, sw, wo);
        const hi = max(lo, endInside(off, w, sw, wo));
        const src = at(col, ((p * kh + i) * kw + j) * n);
        for (let oh = 0; oh < ho; oh++) {
          const ih = oh * sh - ph + i * dh;
          if (ih < 0 || ih >= h) continue;
          const d = at(dst, ih * w + off);
          const s = at(src, oh * wo);
          if (sw == 1) addSpan(at(d, lo), at(s, lo), hi - lo);
          else
            for (let ow = lo; ow < hi; ow++)
              store<f32>(at(d, ow * sw), load<f32>(at(d, ow * sw)) + load<f32>(at(s, ow)));
        }
      }
    }
  }
}

/** out[p, :] += bias[p % channels] over `planes` planes of `size` floats. */
export function convAddBias(
  out: usize,
  bias: usize,
  planes: i32,
  channels: i32,
  size: i32,
  tid: i32,
  nthreads: i32,
): void {
  const p1 = shareStart(planes, tid + 1, nthreads);
  for (let p = shareStart(planes, tid, nthreads); p < p1; p++) {
    const o = at(out, p * size);
    const bv = f32x4.splat(load<f32>(at(bias, p % channels)));
    let i = 0;
    for (; i + 4 <= size; i += 4) v128.store(at(o, i), f32x4.add(v128.load(at(o, i)), bv));
    for (; i < size; i++) store<f32>(at(o, i), load<f32>(at(o, i)) + f32x4.extract_lane(bv, 0));
  }
}

/** dst[i] (+)= sum over r < count of src[r * n + i]; adds to dst when accumulate, else overwrites. */
export function convSumBatch(
  dst: usize,
  src: usize,
  count: i32,
  n: i32,
  accumulate: i32,
  tid: i32,
  nthreads: i32,
): void {
  const quads = (n + 3) >> 2;
  const i0 = shareStart(quads, tid, nthreads) << 2;
  const i1 = min(n, shareStart(quads, tid + 1, nthreads) << 2);
  let i = i0;
  for (; i + 4 <= i1; i += 4) {
    let v = accumulate ? v128.load(at(dst, i)) : f32x4.splat(0);
    for (let r = 0; r < count; r++) v = f32x4.add(v, v128.load(at(src, r * n + i)));
    v128.store(at(dst, i), v);
  }
  for (; i < i1; i++) {
    let v: f32 = accumulate ? load<f32>(at(dst, i)) : 0;
    for (let r = 0; r < count; r++) v += load<f32>(at(src, r * n + i));
    store<f32>(at(dst, i), v);
  }
}

// ---- max pooling --------------------------------------------------------------------------
// The scan order and NaN rule are the reference's, so that indices (which route the gradient)
// agree exactly: taps row by row, the first maximum wins, and a NaN wins and ends its row.
// Compares are data-dependent coin flips, so both paths select instead of branching.

/** One output: the window's rows [ih0, ih1) and columns [iw0, iw1) of the plane at src. */
// @ts-ignore: decorator
@inline function poolOne(
  out: usize,
  indices: usize,
  e: i32,
  src: usize,
  w: i32,
  ih0: i32,
  ih1: i32,
  iw0: i32,
  iw1: i32,
): void {
  let best = -Infinity as f32;
  let bestAt = -1;
  for (let ih = ih0; ih < ih1; ih++) {
    for (let iw = iw0; iw < iw1; iw++) {
      const v = load<f32>(at(src, ih * w + iw));
      const take = (v > best) | (bestAt < 0) | (v != v);
      best = select<f32>(v, best, take);
      bestAt = select<i32>(ih * w + iw, bestAt, take);
      if (v != v) break;
    }
  }
  store<f32>(at(out, e), best);
  store<i32>(at(indices, e), bestAt);
}

/** x[p], x[p + sw], x[p + 2 sw], x[p + 3 sw], reading nothing outside them. */
// @ts-ignore: decorator
@inline function strided4(p: usize, sw: i32): v128 {
  if (sw == 1) return v128.load(p);
  if (sw == 2) return f32x4.shuffle(v128.load(p), v128.load(at(p, 3)), 0, 2, 5, 7);
  let v = f32x4.splat(load<f32>(p));
  v = f32x4.replace_lane(v, 1, load<f32>(at(p, sw)));
  v = f32x4.replace_lane(v, 2, load<f32>(at(p, 2 * sw)));
  return f32x4.replace_lane(v, 3, load<f32>(at(p, 3 * sw)));
}

/**
 * out and indices (flat position in the plane) of max pooling over contiguous planes; threads
 * split the output rows. Four neighbouring outputs whose windows lie inside the row go at once;
 * a lane's NaN masks it for the rest of that window row, as the reference's break does.
 */
export function maxPool2d(
  out: usize,
  indices: usize,
  x: usize,
  h: i32,
  w: i32,
  kh: i32,
  kw: i32,
  sh: i32,
  sw: i32,
  ph: i32,
  pw: i32,
  ho: i32,
  wo: i32,
  planes: i32,
  tid: i32,
  nthreads: i32,
): void {
  // Outputs [owA, owB) have their whole window inside the columns of the plane.
  const owA = min(wo, (pw + sw - 1) / sw);
  const owB = w + pw - kw < 0 ? owA : max(owA, min(wo, (w + pw - kw) / sw + 1));
  const lanes = i32x4(0, sw, 2 * sw, 3 * sw);
  const rows = planes * ho;
  const r1 = shareStart(rows, tid + 1, nthreads);
  for (let r = shareStart(rows, tid, nthreads); r < r1; r++) {
    const p = r / ho;
    const oh = r - p * ho;
    const src = at(x, p * h * w);
    const ih0 = max(0, oh * sh - ph);
    const ih1 = min(h, oh * sh - ph + kh);
    const e = r * wo;
    let ow = 0;
    for (; ow < owA; ow++)
      poolOne(out, indices, e + ow, src, w, ih0, ih1, max(0, ow * sw - pw), min(w, ow * sw - pw + kw));
    for (; ow + 4 <= owB; ow += 4) {
      const iw0 = ow * sw - pw;
      let best = f32x4.splat(-Infinity);
      let bestAt = i32x4.splat(-1);
      for (let ih = ih0; ih < ih1; ih++) {
        let ended = i32x4.splat(0);
        for (let iw = iw0; iw < iw0 + kw; iw++) {
          const v = strided4(at(src, ih * w + iw), sw);
          const nan = f32x4.ne(v, v);
          const take = v128.andnot(v128.or(v128.or(f32x4.gt(v, best), nan), i32x4.lt_s(bestAt, i32x4.splat(0))), ended);
          best = v128.bitselect(v, best, take);
          bestAt = v128.bitselect(i32x4.add(i32x4.splat(ih * w + iw), lanes), bestAt, take);
          ended = v128.or(ended, nan);
        }
      }
      v128.store(at(out, e + ow), best);
      v128.store(at(indices, e + ow), bestAt);
    }
    for (; ow < wo; ow++)
      poolOne(out, indices, e + ow, src, w, ih0, ih1, max(0, ow * sw - pw), min(w, ow * sw - pw + kw));
  }
}
