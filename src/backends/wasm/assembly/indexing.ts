// Moves of rows and elements by int32 indices: index_select, index_add, gather, scatter_add. The
// JS wrapper checks the indices first (countOutOfRange for strided ones), so these trust them.
// Copies move 32-bit words and serve float32 and int32 alike; the adds take an isInt flag.
import { shareStart } from './common';
import { innerSize, innerStride, layoutSize, rowOffset } from './strided';

// @ts-ignore: decorator
@inline function at(base: usize, index: i32): usize {
  return base + ((<usize>index) << 2);
}

/** dst[0..n) += src[0..n), float32 or int32. */
// @ts-ignore: decorator
@inline function addRun(dst: usize, src: usize, n: i32, isInt: bool): void {
  let c = 0;
  for (; c + 4 <= n; c += 4) {
    const a = v128.load(at(dst, c));
    const b = v128.load(at(src, c));
    v128.store(at(dst, c), isInt ? i32x4.add(a, b) : f32x4.add(a, b));
  }
  for (; c < n; c++) {
    if (isInt) store<i32>(at(dst, c), load<i32>(at(dst, c)) + load<i32>(at(src, c)));
    else store<f32>(at(dst, c), load<f32>(at(dst, c)) + load<f32>(at(src, c)));
  }
}

/** out[i, j, :] = x[i, index[j], :] for x [outer, size, inner] and out [outer, count, inner]. */
export function indexSelect(
  out: usize,
  x: usize,
  index: usize,
  outer: i32,
  size: i32,
  inner: i32,
  count: i32,
  tid: i32,
  nthreads: i32,
): void {
  const rows = outer * count;
  const row1 = shareStart(rows, tid + 1, nthreads);
  const bytes = (<usize>inner) << 2;
  for (let row = shareStart(rows, tid, nthreads); row < row1; row++) {
    const i = row / count;
    const src = load<i32>(at(index, row - i * count));
    const from = at(x, (i * size + src) * inner);
    const to = at(out, row * inner);
    if (inner == 1) store<i32>(to, load<i32>(from));
    else memory.copy(to, from, bytes);
  }
}

/**
 * out[i, index[j], :] += src[i, j, :] for out [outer, size, inner] and src [outer, count, inner].
 * Threads split the (i, column) pairs, so repeated indices never meet on two threads, and each
 * output element takes its additions in order of j, as the reference does.
 */
export function indexAdd(
  out: usize,
  src: usize,
  index: usize,
  outer: i32,
  size: i32,
  inner: i32,
  count: i32,
  isInt: bool,
  tid: i32,
  nthreads: i32,
): void {
  const n = outer * inner;
  let e = shareStart(n, tid, nthreads);
  const e1 = shareStart(n, tid + 1, nthreads);
  while (e < e1) {
    const i = e / inner;
    const t0 = e - i * inner;
    const t1 = min(inner, t0 + (e1 - e));
    for (let j = 0; j < count; j++) {
      const dst = load<i32>(at(index, j));
      addRun(at(out, (i * size + dst) * inner + t0), at(src, (i * count + j) * inner + t0), t1 - t0, isInt);
    }
    e = i * inner + t1;
  }
}

/** Writes to result[tid] how many elements of thread tid's share of the index (operand 0 of the layout) lie outside [0, size). */
export function countOutOfRange(index: usize, size: i32, result: usize, layout: usize, tid: i32, nthreads: i32): void {
  const n = layoutSize(layout);
  const inner = innerSize(layout);
  const stride = innerStride(layout, 0);
  let bad = 0;
  let e = n == 0 ? 0 : shareStart(n, tid, nthreads);
  const e1 = n == 0 ? 0 : shareStart(n, tid + 1, nthreads);
  while (e < e1) {
    const row = e / inner;
    const c0 = e - row * inner;
    const c1 = min(inner, c0 + (e1 - e));
    const base = rowOffset(layout, 0, row);
    for (let c = c0; c < c1; c++) {
      const i = load<i32>(at(index, base + c * stride));
      // One unsigned comparison covers both i < 0 and i >= size.
      bad += <i32>(<u32>i >= <u32>size);
    }
    e = row * inner + c1;
  }
  store<i32>(at(result, tid), bad);
}

/**
 * out = x.gather(axis, index) over the layout of index's shape: operand 0 is out, 1 the index,
 * 2 is x with a zero stride on the axis, which the index value times axisStride replaces.
 */
export function gather(
  out: usize,
  x: usize,
  index: usize,
  axisStride: i32,
  layout: usize,
  tid: i32,
  nthreads: i32,
): void {
  const n = layoutSize(layout);
  if (n == 0) return;
  const inner = innerSize(layout);
  const so = innerStride(layout, 0);
  const si = innerStride(layout, 1);
  const sx = innerStride(layout, 2);
  let e = shareStart(n, tid, nthreads);
  const e1 = shareStart(n, tid + 1, nthreads);
  while (e < e1) {
    const row = e / inner;
    const c0 = e - row * inner;
    const c1 = min(inner, c0 + (e1 - e));
    const o = rowOffset(layout, 0, row);
    const ix = rowOffset(layout, 1, row);
    const xo = rowOffset(layout, 2, row);
    for (let c = c0; c < c1; c++) {
      const i = load<i32>(at(index, ix + c * si));
      store<i32>(at(out, o + c * so), load<i32>(at(x, xo + c * sx + i * axisStride)));
    }
    e = row * inner + c1;
  }
}

/**
 * out.scatter_add_(axis, index, src) over a layout of index's shape with the axis innermost:
 * operand 0 is out (zero stride on the axis), 1 the index, 2 src. Threads take whole rows, so
 * all the additions into one output element happen on one thread, in order along the axis.
 */
export function scatterAdd(
  out: usize,
  src: usize,
  index: usize,
  axisStride: i32,
  isInt: bool,
  layout: usize,
  tid: i32,
  nthreads: i32,
): void {
  const inner = innerSize(layout);
  if (inner == 0) return;
  const rows = layoutSize(layout) / inner;
  const so = innerStride(layout, 0);
  const si = innerStride(layout, 1);
  const ss = innerStride(layout, 2);
  const row1 = shareStart(rows, tid + 1, nthreads);
  for (let row = shareStart(rows, tid, nthreads); row < row1; row++) {
    const o = rowOffset(layout, 0, row);
    const ix = rowOffset(layout, 1, row);
    const s = rowOffset(layout, 2, row);
    for (let c = 0; c < inner; c++) {
      const dst = at(out, o + c * so + load<i32>(at(index, ix + c * si)) * axisStride);
      if (isInt) store<i32>(dst, load<i32>(dst) + load<i32>(at(src, s + c * ss)));
      else store<f32>(dst, load<f32>(dst) + load<f32>(at(src, s + c * ss)));
    }
  }
}
