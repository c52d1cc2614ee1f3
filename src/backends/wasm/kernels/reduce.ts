import type { ArgReduceOp, ReduceOp, View } from '../../backend.js';
import * as ref from '../../reference/kernels.js';
import type { WasmContext } from '../context.js';
import { coalesce } from '../layout.js';

const REDUCE_OPS: ReduceOp[] = ['sum', 'max', 'min'];

function count(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/**
 * Sum, max or min of a float32 x (any strides) over `axes`. The layout lists the kept dimensions
 * in output order, then the reduced ones by decreasing |stride|, so that the innermost reduced
 * run is the most contiguous one; int32 tensors and layouts beyond the kernels' rank take the
 * reference path.
 */
export function reduce(ctx: WasmContext, op: ReduceOp, out: View, x: View, axes: readonly number[]): void {
  const nOut = count(out.shape);
  if (x.dtype !== 'float32') return ref.reduce(op, ctx.asRef(out), ctx.asRef(x), axes);
  if (nOut === 0) return;
  const rank = x.shape.length;
  const kept: number[] = [];
  const reduced: number[] = [];
  for (let d = 0; d < rank; d++) (axes.includes(d) ? reduced : kept).push(d);
  reduced.sort((a, b) => Math.abs(x.strides[b]!) - Math.abs(x.strides[a]!));
  const order = [...kept, ...reduced];
  const outStrides = new Array<number>(rank).fill(0);
  let s = 1;
  for (let i = kept.length - 1; i >= 0; i--) {
    outStrides[kept[i]!] = s;
    s *= x.shape[kept[i]!]!;
  }
  const shape = order.map((d) => x.shape[d]!);
  const walkOut = order.map((d) => outStrides[d]!);
  const walkX = order.map((d) => x.strides[d]!);
  const merged = coalesce(shape, [walkOut, walkX]);
  const layout = merged ? ctx.layout(shape, { ...out, strides: walkOut }, { ...x, strides: walkX }) : null;
  if (merged === null || layout === null) return ref.reduce(op, ctx.asRef(out), ctx.asRef(x), axes);
  // Columns mode needs the innermost kept dimension (after coalescing) to be contiguous in x.
  const [mergedOut, mergedX] = merged.strides as [number[], number[]];
  const k = mergedOut.findIndex((st) => st === 0);
  const innerKept = (k < 0 ? mergedOut.length : k) - 1;
  const columns = innerKept >= 0 && mergedX[innerKept] === 1;
  // Threads split the outputs, so a single output stays on the calling thread.
  const work = nOut > 1 ? Math.max(count(x.shape), nOut) : 0;
  if (!columns) {
    ctx.run('reduceRows', [REDUCE_OPS.indexOf(op), ctx.addr(out), ctx.addr(x), layout], work);
    return;
  }
  // Column sums keep a float64 running sum per output.
  const acc = op === 'sum' ? ctx.scratch(nOut * 8) : 0;
  try {
    ctx.run('reduceCols', [REDUCE_OPS.indexOf(op), ctx.addr(out), ctx.addr(x), acc, layout], work);
  } finally {
    if (acc) ctx.freeScratch(acc);
  }
}

export function argReduce(ctx: WasmContext, op: ArgReduceOp, out: View, x: View, axis: number): void {
  if (x.dtype !== 'float32') return ref.argReduce(op, ctx.asRef(out), ctx.asRef(x), axis);
  const outer = count(x.shape.slice(0, axis));
  const inner = count(x.shape.slice(axis + 1));
  const size = x.shape[axis]!;
  if (outer * inner === 0) return;
  // An empty axis (which the ops reject) gives index 0, as in the reference, without reading x.
  if (size === 0) {
    const start = ctx.addr(out) / 4;
    ctx.array('int32').fill(0, start, start + outer * inner);
    return;
  }
  const work = outer * inner > 1 ? outer * inner * size : 0;
  ctx.run('argReduce', [op === 'argmax' ? 1 : 0, ctx.addr(out), ctx.addr(x), outer, size, inner], work);
}

/**
 * Sorted top-k of each row of a contiguous x, in JS over wasm memory (topk serves sampling, one
 * row at a time, so it is not worth a kernel): a heap of the k best columns seen so far makes a
 * row O(n log k) against the reference's full sort. A row holding NaN goes to the reference, as
 * its comparator alone defines where NaN lands.
 */
export function topk(ctx: WasmContext, values: View, indices: View, x: View, k: number, largest: boolean): void {
  const cols = x.shape[x.shape.length - 1]!;
  const rows = count(x.shape) / cols;
  if (k === 0 || !(rows > 0)) return;
  const xs = ctx.array(x.dtype);
  const vs = ctx.array(values.dtype);
  const is = ctx.array('int32');
  const xBase = ctx.addr(x) / 4;
  const vBase = ctx.addr(values) / 4;
  const iBase = ctx.addr(indices) / 4;
  // Min-heap under "ranks lower": worse value, or equal value and higher column. The root is the
  // weakest of the k kept, the one a better newcomer replaces.
  const heap = new Int32Array(k);
  let off = 0;
  const lower = (a: number, b: number) => {
    const va = xs[off + a]!;
    const vb = xs[off + b]!;
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
  for (let r = 0; r < rows; r++) {
    off = xBase + r * cols;
    let size = 0;
    let nan = false;
    for (let c = 0; c < cols; c++) {
      const v = xs[off + c]!;
      if (v !== v) {
        nan = true;
        break;
      }
      if (size < k) {
        let i = size++;
        heap[i] = c;
        while (i > 0 && lower(heap[i]!, heap[(i - 1) >> 1]!)) {
          const p = (i - 1) >> 1;
          [heap[p], heap[i]] = [heap[i]!, heap[p]!];
          i = p;
        }
      } else if (largest ? v > xs[off + heap[0]!]! : v < xs[off + heap[0]!]!) {
        // A later column only displaces the root by a strictly better value: ties keep the lower index.
        heap[0] = c;
        siftDown(k);
      }
    }
    if (nan) {
      const row = (v: View, offset: number, n: number): View => ({ ...v, offset, shape: [1, n], strides: [n, 1] });
      const rv = ctx.asRef(values);
      const ri = ctx.asRef(indices);
      ref.topk(row(rv, rv.offset + r * k, k), row(ri, ri.offset + r * k, k), row(ctx.asRef(x), off, cols), k, largest);
      continue;
    }
    for (let j = k - 1; j >= 0; j--) {
      const c = heap[0]!;
      vs[vBase + r * k + j] = xs[off + c]!;
      is[iBase + r * k + j] = c;
      heap[0] = heap[j]!;
      siftDown(j);
    }
  }
}
