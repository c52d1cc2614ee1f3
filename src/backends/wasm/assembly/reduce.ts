// Reductions (sum, max, min over any axes of a strided view) and arg-reductions.
//
// The JS wrapper writes a layout (see strided.ts) whose dimensions are the kept ones first, in
// output order, then the reduced ones by decreasing |x stride|; operand 0 is the output (stride
// 0 on reduced dimensions), operand 1 is x. Threads take disjoint ranges of output elements, and
// each output is always reduced in the same order, so results do not depend on the thread count.
// Sums accumulate in float64, as the reference does (columns mode first adds up to 16 terms in
// float32).
import { REDUCE_MIN, REDUCE_SUM } from '../abi/ops';
import { shareStart } from './common';
import { layoutDim, layoutRank, layoutStride } from './strided';

// @ts-ignore: decorator
@inline function at(base: usize, index: i32): usize {
  return base + ((<usize>index) << 2);
}

/** Offset of operand `op` at flat position `pos` of the dimensions [d0, d1) of the layout. */
function offsetOver(layout: usize, op: i32, d0: i32, d1: i32, pos: i32): i32 {
  let off = 0;
  let r = pos;
  for (let d = d1 - 1; d >= d0; d--) {
    const size = layoutDim(layout, d);
    off += (r % size) * layoutStride(layout, op, d);
    r /= size;
  }
  return off;
}

function countOver(layout: usize, d0: i32, d1: i32): i32 {
  let n = 1;
  for (let d = d0; d < d1; d++) n *= layoutDim(layout, d);
  return n;
}

/** Number of kept (leading) dimensions: those the output walks. */
function keptDims(layout: usize): i32 {
  const rank = layoutRank(layout);
  let k = 0;
  while (k < rank && layoutStride(layout, 0, k) != 0) k++;
  return k;
}

// @ts-ignore: decorator
@inline function high(v: v128): v128 {
  return f32x4.shuffle(v, v, 2, 3, 0, 1);
}

// @ts-ignore: decorator
@inline function addWide(acc: v128, v: v128): v128 {
  return f64x2.add(acc, f64x2.promote_low_f32x4(v));
}

// @ts-ignore: decorator
@inline function lanesSum(v: v128): f64 {
  return f64x2.extract_lane(v, 0) + f64x2.extract_lane(v, 1);
}

/** Sum of n elements p[0], p[stride], ... in float64. */
export function sumRun(p: usize, n: i32, stride: i32): f64 {
  if (stride != 1) {
    let s: f64 = 0;
    for (let i = 0; i < n; i++) s += <f64>load<f32>(p + ((<usize>(i * stride)) << 2));
    return s;
  }
  let a0 = f64x2.splat(0);
  let a1 = f64x2.splat(0);
  let a2 = f64x2.splat(0);
  let a3 = f64x2.splat(0);
  let i = 0;
  for (; i + 8 <= n; i += 8) {
    const v0 = v128.load(at(p, i));
    const v1 = v128.load(at(p, i), 16);
    a0 = addWide(a0, v0);
    a1 = addWide(a1, high(v0));
    a2 = addWide(a2, v1);
    a3 = addWide(a3, high(v1));
  }
  let s = lanesSum(f64x2.add(f64x2.add(a0, a1), f64x2.add(a2, a3)));
  for (; i < n; i++) s += <f64>load<f32>(at(p, i));
  return s;
}

// max and min as classes, so that one generic body serves both with static dispatch. v(acc, x)
// is the running extreme with NaN sticking, the reference's rule: pmax/pmin are one instruction
// each and keep a NaN acc, and a NaN x is selected explicitly (cheaper than f32x4.max's fix-ups).
// s is the scalar form, where wasm's max/min already return NaN for a NaN operand.
class Max {
  // @ts-ignore: decorator
  @inline v(acc: v128, x: v128): v128 {
    return v128.bitselect(x, f32x4.pmax(acc, x), f32x4.ne(x, x));
  }
  // @ts-ignore: decorator
  @inline s(a: f32, b: f32): f32 {
    return max<f32>(a, b);
  }
  // @ts-ignore: decorator
  @inline identity(): f32 {
    return -Infinity;
  }
}
class Min {
  // @ts-ignore: decorator
  @inline v(acc: v128, x: v128): v128 {
    return v128.bitselect(x, f32x4.pmin(acc, x), f32x4.ne(x, x));
  }
  // @ts-ignore: decorator
  @inline s(a: f32, b: f32): f32 {
    return min<f32>(a, b);
  }
  // @ts-ignore: decorator
  @inline identity(): f32 {
    return Infinity;
  }
}

// @ts-ignore: decorator
@inline function extremeRun<M>(acc: f32, p: usize, n: i32, stride: i32): f32 {
  const m = changetype<M>(0);
  let r = acc;
  let i = 0;
  if (stride == 1 && n >= 8) {
    let a0 = f32x4.splat(r);
    let a1 = a0;
    for (; i + 8 <= n; i += 8) {
      a0 = m.v(a0, v128.load(at(p, i)));
      a1 = m.v(a1, v128.load(at(p, i), 16));
    }
    a0 = m.v(a0, a1);
    a0 = m.v(a0, high(a0));
    r = m.s(f32x4.extract_lane(a0, 0), f32x4.extract_lane(a0, 1));
  }
  for (; i < n; i++) r = m.s(r, load<f32>(p + ((<usize>(i * stride)) << 2)));
  return r;
}

/**
 * Output-major reduction: each output reduces runs along the innermost reduced dimension
 * (vectorised when that run is contiguous). Suits reductions over the fastest-varying axis.
 */
// @ts-ignore: decorator
@inline function rowsOf<M>(op: i32, out: usize, x: usize, layout: usize, tid: i32, nthreads: i32): void {
  const rank = layoutRank(layout);
  const kept = keptDims(layout);
  const nOut = countOver(layout, 0, kept);
  const hasReduced = kept < rank;
  const n = hasReduced ? layoutDim(layout, rank - 1) : 1;
  const stride = hasReduced ? layoutStride(layout, 1, rank - 1) : 0;
  const runs = hasReduced ? countOver(layout, kept, rank - 1) : 1;
  const o1 = shareStart(nOut, tid + 1, nthreads);
  for (let o = shareStart(nOut, tid, nthreads); o < o1; o++) {
    const base = offsetOver(layout, 1, 0, kept, o);
    if (op == REDUCE_SUM) {
      let s: f64 = 0;
      for (let r = 0; r < runs; r++) s += sumRun(at(x, base + offsetOver(layout, 1, kept, rank - 1, r)), n, stride);
      store<f32>(at(out, o), <f32>s);
    } else {
      let e = changetype<M>(0).identity();
      for (let r = 0; r < runs; r++)
        e = extremeRun<M>(e, at(x, base + offsetOver(layout, 1, kept, rank - 1, r)), n, stride);
      store<f32>(at(out, o), e);
    }
  }
}

/** Rows-mode reduction: op is a REDUCE_ code (a sum ignores the class argument). */
export function reduceRows(op: i32, out: usize, x: usize, layout: usize, tid: i32, nthreads: i32): void {
  if (op == REDUCE_MIN) rowsOf<Min>(op, out, x, layout, tid, nthreads);
  else rowsOf<Max>(op, out, x, layout, tid, nthreads);
}

// Columns mode walks x in passes of CHUNK reduced positions: one pass over a block of outputs
// touches few pages, and the block's running results are loaded and stored once per pass. A
// pass sums in float32 (at most CHUNK terms a lane, error ~CHUNK ulp of the terms' magnitude)
// and adds that into the float64 running sums: half the work of widening every element.
const CHUNK: i32 = 16;

// @ts-ignore: decorator
@inline function at64(base: usize, index: i32): usize {
  return base + ((<usize>index) << 3);
}

/** acc[0..4) (float64) += the four lanes of s (float32). */
// @ts-ignore: decorator
@inline function flush(acc: usize, s: v128): void {
  v128.store(acc, addWide(v128.load(acc), s));
  v128.store(acc, addWide(v128.load(acc, 16), high(s)), 16);
}

/** acc[0..16) (float64) += p[k*step + 0..16) for k < n. */
// @ts-ignore: decorator
@inline function sumBlock16(acc: usize, p0: usize, n: i32, step: usize): void {
  let s0 = f32x4.splat(0);
  let s1 = s0;
  let s2 = s0;
  let s3 = s0;
  let p = p0;
  for (let i = 0; i < n; i++, p += step) {
    s0 = f32x4.add(s0, v128.load(p));
    s1 = f32x4.add(s1, v128.load(p, 16));
    s2 = f32x4.add(s2, v128.load(p, 32));
    s3 = f32x4.add(s3, v128.load(p, 48));
  }
  flush(acc, s0);
  flush(acc + 32, s1);
  flush(acc + 64, s2);
  flush(acc + 96, s3);
}

// @ts-ignore: decorator
@inline function sumBlock4(acc: usize, p0: usize, n: i32, step: usize): void {
  let s = f32x4.splat(0);
  let p = p0;
  for (let i = 0; i < n; i++, p += step) s = f32x4.add(s, v128.load(p));
  flush(acc, s);
}

/** e[0..16) (float32) = extreme of itself and p[k*step + 0..16) for k < n. */
// @ts-ignore: decorator
@inline function extremeBlock16<M>(e: usize, p0: usize, n: i32, step: usize): void {
  const m = changetype<M>(0);
  let a0 = v128.load(e);
  let a1 = v128.load(e, 16);
  let a2 = v128.load(e, 32);
  let a3 = v128.load(e, 48);
  let p = p0;
  for (let i = 0; i < n; i++, p += step) {
    a0 = m.v(a0, v128.load(p));
    a1 = m.v(a1, v128.load(p, 16));
    a2 = m.v(a2, v128.load(p, 32));
    a3 = m.v(a3, v128.load(p, 48));
  }
  v128.store(e, a0);
  v128.store(e, a1, 16);
  v128.store(e, a2, 32);
  v128.store(e, a3, 48);
}

// @ts-ignore: decorator
@inline function extremeBlock4<M>(e: usize, p0: usize, n: i32, step: usize): void {
  const m = changetype<M>(0);
  let a = v128.load(e);
  let p = p0;
  for (let i = 0; i < n; i++, p += step) a = m.v(a, v128.load(p));
  v128.store(e, a);
}

/**
 * Column-major reduction for layouts whose innermost kept dimension is contiguous in x: blocks
 * of adjacent outputs are reduced together, one vector load per reduced position and block.
 * Running sums live in acc (float64, indexed like out); running extremes in out itself.
 */
// @ts-ignore: decorator
@inline function colsOf<M>(op: i32, out: usize, x: usize, acc: usize, layout: usize, tid: i32, nthreads: i32): void {
  const m = changetype<M>(0);
  const rank = layoutRank(layout);
  const kept = keptDims(layout);
  const nOut = countOver(layout, 0, kept);
  const width = layoutDim(layout, kept - 1);
  const hasReduced = kept < rank;
  const n = hasReduced ? layoutDim(layout, rank - 1) : 1;
  const stride = hasReduced ? layoutStride(layout, 1, rank - 1) : 0;
  const runs = hasReduced ? countOver(layout, kept, rank - 1) : 1;
  const step = (<usize>stride) << 2;
  const o0 = shareStart(nOut, tid, nthreads);
  const o1 = shareStart(nOut, tid + 1, nthreads);
  for (let o = o0; o < o1; o++) {
    if (op == REDUCE_SUM) store<f64>(at64(acc, o), 0);
    else store<f32>(at(out, o), m.identity());
  }
  for (let r = 0; r < runs; r++) {
    const runOffset = offsetOver(layout, 1, kept, rank - 1, r);
    for (let i0 = 0; i0 < n; i0 += CHUNK) {
      const count = min(CHUNK, n - i0);
      let o = o0;
      while (o < o1) {
        const row = o / width;
        const first = row * width;
        let c = o - first;
        const c1 = min(width, c + (o1 - o));
        const base = at(x, offsetOver(layout, 1, 0, kept - 1, row) + runOffset + i0 * stride);
        for (; c + 16 <= c1; c += 16) {
          if (op == REDUCE_SUM) sumBlock16(at64(acc, first + c), at(base, c), count, step);
          else extremeBlock16<M>(at(out, first + c), at(base, c), count, step);
        }
        for (; c + 4 <= c1; c += 4) {
          if (op == REDUCE_SUM) sumBlock4(at64(acc, first + c), at(base, c), count, step);
          else extremeBlock4<M>(at(out, first + c), at(base, c), count, step);
        }
        for (; c < c1; c++) {
          let p = at(base, c);
          if (op == REDUCE_SUM) {
            let s = load<f64>(at64(acc, first + c));
            for (let i = 0; i < count; i++, p += step) s += <f64>load<f32>(p);
            store<f64>(at64(acc, first + c), s);
          } else {
            let e = load<f32>(at(out, first + c));
            for (let i = 0; i < count; i++, p += step) e = m.s(e, load<f32>(p));
            store<f32>(at(out, first + c), e);
          }
        }
        o = first + c1;
      }
    }
  }
  if (op == REDUCE_SUM) for (let o = o0; o < o1; o++) store<f32>(at(out, o), <f32>load<f64>(at64(acc, o)));
}

/**
 * Column-mode reduction (the innermost kept dimension has x stride 1): op is a REDUCE_ code.
 * Sums need acc, a float64 scratch of one value per output.
 */
export function reduceCols(op: i32, out: usize, x: usize, acc: usize, layout: usize, tid: i32, nthreads: i32): void {
  if (op == REDUCE_MIN) colsOf<Min>(op, out, x, acc, layout, tid, nthreads);
  else colsOf<Max>(op, out, x, acc, layout, tid, nthreads);
}

// ---- argmax / argmin -------------------------------------------------------------------------

// Per lane, the running best moves to v when the best is not yet NaN and v is NaN or strictly
// better: each lane keeps its first extreme (or first NaN), as the reference's scan does.
// @ts-ignore: decorator
@inline function takes(isMax: bool, v: v128, best: v128): v128 {
  const better = isMax ? f32x4.gt(v, best) : f32x4.lt(v, best);
  return v128.andnot(v128.or(better, f32x4.ne(v, v)), f32x4.ne(best, best));
}

// @ts-ignore: decorator
@inline function takesScalar(isMax: bool, v: f32, best: f32): bool {
  return best == best && (v != v || (isMax ? v > best : v < best));
}

// Lanes hold the first extreme of interleaved subsequences: prefer NaN, then the extreme, then
// the lowest index.
// @ts-ignore: decorator
@inline function laneWins(isMax: bool, v: f32, k: i32, best: f32, bestAt: i32): bool {
  const vNaN = v != v;
  const bNaN = best != best;
  if (vNaN || bNaN) return vNaN && (!bNaN || k < bestAt);
  return (isMax ? v > best : v < best) || (v == best && k < bestAt);
}

function argRow(isMax: bool, p: usize, n: i32): i32 {
  let best: f32 = load<f32>(p);
  let bestAt = 0;
  let i = 1;
  if (n >= 8) {
    let bv = f32x4.splat(isMax ? -Infinity : Infinity);
    let bi = i32x4.splat(0);
    let ci = i32x4(0, 1, 2, 3);
    for (i = 0; i + 4 <= n; i += 4) {
      const v = v128.load(at(p, i));
      const t = takes(isMax, v, bv);
      bv = v128.bitselect(v, bv, t);
      bi = v128.bitselect(ci, bi, t);
      ci = i32x4.add(ci, i32x4.splat(4));
    }
    best = f32x4.extract_lane(bv, 0);
    bestAt = i32x4.extract_lane(bi, 0);
    let v = f32x4.extract_lane(bv, 1);
    let k = i32x4.extract_lane(bi, 1);
    if (laneWins(isMax, v, k, best, bestAt)) {
      best = v;
      bestAt = k;
    }
    v = f32x4.extract_lane(bv, 2);
    k = i32x4.extract_lane(bi, 2);
    if (laneWins(isMax, v, k, best, bestAt)) {
      best = v;
      bestAt = k;
    }
    v = f32x4.extract_lane(bv, 3);
    k = i32x4.extract_lane(bi, 3);
    if (laneWins(isMax, v, k, best, bestAt)) {
      best = v;
      bestAt = k;
    }
  }
  for (; i < n; i++) {
    const v = load<f32>(at(p, i));
    if (takesScalar(isMax, v, best)) {
      best = v;
      bestAt = i;
    }
  }
  return bestAt;
}

/**
 * Index of the extreme along the middle axis of a contiguous [outer, size, inner] x; out is
 * [outer, inner] int32. Threads split the outputs.
 */
export function argReduce(
  isMax: bool,
  out: usize,
  x: usize,
  outer: i32,
  size: i32,
  inner: i32,
  tid: i32,
  nthreads: i32,
): void {
  const nOut = outer * inner;
  let o = shareStart(nOut, tid, nthreads);
  const o1 = shareStart(nOut, tid + 1, nthreads);
  if (inner == 1) {
    for (; o < o1; o++) store<i32>(at(out, o), argRow(isMax, at(x, o * size), size));
    return;
  }
  const step = (<usize>inner) << 2;
  while (o < o1) {
    const i = o / inner;
    const j1 = min(inner, o - i * inner + (o1 - o));
    let j = o - i * inner;
    const base = at(x, i * size * inner);
    for (; j + 4 <= j1; j += 4) {
      let p = at(base, j);
      let bv = v128.load(p);
      let bi = i32x4.splat(0);
      for (let k = 1; k < size; k++) {
        p += step;
        const v = v128.load(p);
        const t = takes(isMax, v, bv);
        bv = v128.bitselect(v, bv, t);
        bi = v128.bitselect(i32x4.splat(k), bi, t);
      }
      v128.store(at(out, i * inner + j), bi);
    }
    for (; j < j1; j++) {
      let p = at(base, j);
      let best = load<f32>(p);
      let bestAt = 0;
      for (let k = 1; k < size; k++) {
        p += step;
        const v = load<f32>(p);
        if (takesScalar(isMax, v, best)) {
          best = v;
          bestAt = k;
        }
      }
      store<i32>(at(out, i * inner + j), bestAt);
    }
    o = i * inner + j1;
  }
}
