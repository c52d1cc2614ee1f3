import type { ArgReduceOp, ReduceOp, View } from '../backend.js';
import { aroundAxis, data, offsets, rows } from './strided.js';

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

/** Sorted top-k along the last axis; ties keep the lower index first. */
export function topk(values: View, indices: View, x: View, k: number, largest: boolean): void {
  const [n, cols] = rows(x.shape);
  const xs = data(x);
  const vs = data(values);
  const is = data(indices);
  const order = new Array<number>(cols);
  const sign = largest ? -1 : 1;
  for (let r = 0; r < n; r++) {
    const base = x.offset + r * cols;
    for (let c = 0; c < cols; c++) order[c] = c;
    order.sort((a, b) => sign * (xs[base + a]! - xs[base + b]!) || a - b);
    for (let j = 0; j < k; j++) {
      vs[values.offset + r * k + j] = xs[base + order[j]!]!;
      is[indices.offset + r * k + j] = order[j]!;
    }
  }
}

