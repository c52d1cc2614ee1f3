import type { ArgReduceOp, ReduceOp, View } from '../../backend.js';
import { REDUCE_MAX, REDUCE_MIN, REDUCE_SUM } from '../abi/ops.js';
import type { WasmContext } from '../context.js';
import { coalesce } from '../layout.js';
import { sizeOf } from '../../strides.js';

const REDUCE_CODES: Record<ReduceOp, number> = { sum: REDUCE_SUM, max: REDUCE_MAX, min: REDUCE_MIN };

/**
 * Sum, max or min of a float32 x (any strides) over `axes`. The layout lists the kept dimensions
 * in output order, then the reduced ones by decreasing |stride|, so that the innermost reduced
 * run is the most contiguous one; int32 tensors and layouts beyond the kernels' rank take the
 * reference path.
 */
export function reduce(ctx: WasmContext, op: ReduceOp, out: View, x: View, axes: readonly number[]): void {
  const nOut = sizeOf(out.shape);
  if (x.dtype !== 'float32') return ctx.reference('reduce', [op, out, x, axes]);
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
  if (merged === null || layout === null) return ctx.reference('reduce', [op, out, x, axes]);
  // Columns mode needs the innermost kept dimension (after coalescing) to be contiguous in x.
  const [mergedOut, mergedX] = merged.strides as [number[], number[]];
  const k = mergedOut.findIndex((st) => st === 0);
  const innerKept = (k < 0 ? mergedOut.length : k) - 1;
  const columns = innerKept >= 0 && mergedX[innerKept] === 1;
  // Threads split the outputs, so a single output stays on the calling thread.
  const work = nOut > 1 ? Math.max(sizeOf(x.shape), nOut) : 0;
  if (!columns) {
    ctx.run('reduceRows', [REDUCE_CODES[op], ctx.addr(out), ctx.addr(x), layout], work);
    return;
  }
  // Column sums keep a float64 running sum per output.
  const acc = op === 'sum' ? ctx.scratch(nOut * 8) : 0;
  try {
    ctx.run('reduceCols', [REDUCE_CODES[op], ctx.addr(out), ctx.addr(x), acc, layout], work);
  } finally {
    if (acc) ctx.freeScratch(acc);
  }
}

export function argReduce(ctx: WasmContext, op: ArgReduceOp, out: View, x: View, axis: number): void {
  if (x.dtype !== 'float32') return ctx.reference('argReduce', [op, out, x, axis]);
  const outer = sizeOf(x.shape.slice(0, axis));
  const inner = sizeOf(x.shape.slice(axis + 1));
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
