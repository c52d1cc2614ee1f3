import type { ArgReduceOp, ReduceOp, View } from '../backend.js';
import type { TypedArray } from '../dtype.js';
import { data, offsets } from './strided.js';
import { aroundAxis, rowsOf } from '../strides.js';

/** Reduces x over axes into out (keepdim shape), accumulating in float64. */
export function reduce(op: ReduceOp, out: View, x: View, axes: readonly number[]): void {
  const rank = x.shape.length;
  const reduced = new Array<boolean>(rank).fill(false);
  for (const a of axes) reduced[a] = true;
  // Output position of every input element: walk x in row-major order with the out strides.
  const outStrides = new Array<number>(rank);
  let s = 1;
  for (let i = rank - 1; i >= 0; i--) {
    outStrides[i] = reduced[i] ? 0 : s;
    s *= reduced[i] ? 1 : x.shape[i]!;
  }
  const nOut = s;
  const acc = new Float64Array(nOut).fill(op === 'sum' ? 0 : op === 'max' ? -Infinity : Infinity);
  const seenNaN = new Uint8Array(nOut);
  const xs = data(x);
  const xo = offsets(x);
  const index = new Array<number>(rank).fill(0);
  let pos = 0;
  for (let i = 0; i < xo.length; i++) {
    const v = xs[xo[i]!]!;
    if (op === 'sum') acc[pos] += v;
    else if (Number.isNaN(v)) seenNaN[pos] = 1;
    else if (op === 'max' ? v > acc[pos]! : v < acc[pos]!) acc[pos] = v;
    for (let a = rank - 1; a >= 0; a--) {
      index[a]!++;
      pos += outStrides[a]!;
      if (index[a]! < x.shape[a]!) break;
      pos -= outStrides[a]! * x.shape[a]!;
      index[a] = 0;
    }
  }
  const o = data(out);
  for (let i = 0; i < nOut; i++) o[out.offset + i] = seenNaN[i] ? NaN : acc[i]!;
}

export function argReduce(op: ArgReduceOp, out: View, x: View, axis: number): void {
  const [outer, size, inner] = aroundAxis(x.shape, axis);
  const xs = data(x);
  const o = data(out);
  const better = op === 'argmax' ? (a: number, b: number) => a > b : (a: number, b: number) => a < b;
  for (let i = 0; i < outer; i++) {
    for (let j = 0; j < inner; j++) {
      let best = 0;
      let bestValue = xs[x.offset + i * size * inner + j]!;
      for (let k = 1; k < size && !Number.isNaN(bestValue); k++) {
        const v = xs[x.offset + (i * size + k) * inner + j]!;
        if (Number.isNaN(v) || better(v, bestValue)) {
          best = k;
          bestValue = v;
        }
      }
      o[out.offset + i * inner + j] = best;
    }
  }
}

/**
 * The k best columns of the row at xs[base..base+cols), best first; ties keep the lower column.
 * A min-heap of the k best seen so far ("ranks lower": worse value, or equal value and higher
 * column; the root is the one a better newcomer replaces) makes a row O(cols log k) where a sort
 * is O(cols log cols): topk over a vocabulary is a sampling step. Returns null at a NaN.
 */
function heapTopk(xs: TypedArray, base: number, cols: number, k: number, largest: boolean): Int32Array | null {
  const heap = new Int32Array(k);
  const lower = (a: number, b: number) => {
    const va = xs[base + a]!;
    const vb = xs[base + b]!;
    return (largest ? va < vb : va > vb) || (va === vb && a > b);
  };
  const siftDown = (size: number) => {
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= size) return;
      const c = l + 1 < size && lower(heap[l + 1]!, heap[l]!) ? l + 1 : l;
      if (!lower(heap[c]!, heap[i]!)) return;
      [heap[c], heap[i]] = [heap[i]!, heap[c]!];
      i = c;
    }
  };
  let size = 0;
  for (let c = 0; c < cols; c++) {
    const v = xs[base + c]!;
    if (v !== v) return null;
    if (size < k) {
      let i = size++;
      heap[i] = c;
      while (i > 0 && lower(heap[i]!, heap[(i - 1) >> 1]!)) {
        const p = (i - 1) >> 1;
        [heap[p], heap[i]] = [heap[i]!, heap[p]!];
        i = p;
      }
    } else if (largest ? v > xs[base + heap[0]!]! : v < xs[base + heap[0]!]!) {
      // A later column displaces the root only by a strictly better value: ties keep the lower column.
      heap[0] = c;
      siftDown(k);
    }
  }
  const best = new Int32Array(k);
  for (let j = k - 1; j >= 0; j--) {
    best[j] = heap[0]!;
    heap[0] = heap[j]!;
    siftDown(j);
  }
  return best;
}

/** The row's columns fully sorted, best first, ties by column: defines where NaN lands. */
function sortedColumns(xs: TypedArray, base: number, cols: number, largest: boolean): number[] {
  const sign = largest ? -1 : 1;
  return Array.from({ length: cols }, (_, c) => c).sort((a, b) => sign * (xs[base + a]! - xs[base + b]!) || a - b);
}

/** Sorted top-k along the last axis; ties keep the lower index first. */
export function topk(values: View, indices: View, x: View, k: number, largest: boolean): void {
  const [n, cols] = rowsOf(x.shape);
  const xs = data(x);
  const vs = data(values);
  const is = data(indices);
  if (k === 0) return;
  for (let r = 0; r < n; r++) {
    const base = x.offset + r * cols;
    const best = heapTopk(xs, base, cols, k, largest) ?? sortedColumns(xs, base, cols, largest);
    for (let j = 0; j < k; j++) {
      vs[values.offset + r * k + j] = xs[base + best[j]!]!;
      is[indices.offset + r * k + j] = best[j]!;
    }
  }
}
