import type { View } from '../../backend.js';
import type { WasmContext } from '../context.js';
import { aroundAxis, isContiguousLayout, sizeOf } from '../../strides.js';

// The kernels trust their indices, so each wrapper checks them first. A bad index takes the
// reference path, which throws the reference's error for it (and, like the reference, leaves
// index_add's earlier rows added).

/** Whether every entry of a contiguous 1-D int32 index lies in [0, size). */
function rowIndicesValid(ctx: WasmContext, index: View, size: number): boolean {
  const is = ctx.array('int32');
  const base = ctx.addr(index) / 4;
  const n = index.shape[0] ?? 1;
  for (let j = 0; j < n; j++) {
    const i = is[base + j]!;
    if (!(i >= 0 && i < size)) return false;
  }
  return true;
}

/** Whether a (strided) index fits the kernels' layout and every entry lies in [0, size). */
function indicesChecked(ctx: WasmContext, index: View, size: number): boolean {
  const layout = ctx.layout(index.shape, index);
  if (layout === null) return false;
  const result = ctx.scratch(ctx.threads * 4);
  try {
    const counts = ctx.array('int32').subarray(result / 4, result / 4 + ctx.threads);
    counts.fill(0);
    ctx.run('countOutOfRange', [ctx.addr(index), size, result, layout], sizeOf(index.shape));
    return counts.every((bad) => bad === 0);
  } finally {
    ctx.freeScratch(result);
  }
}

export function indexSelect(ctx: WasmContext, out: View, x: View, axis: number, index: View): void {
  const [outer, size, inner] = aroundAxis(x.shape, axis);
  if (!rowIndicesValid(ctx, index, size)) return ctx.reference('indexSelect', [out, x, axis, index]);
  const n = index.shape[0] ?? 1;
  if (outer * n * inner === 0) return;
  // Threads split the copied rows; a single row stays on the calling thread.
  const work = outer * n > 1 ? outer * n * inner : 0;
  ctx.run('indexSelect', [ctx.addr(out), ctx.addr(x), ctx.addr(index), outer, size, inner, n], work);
}

export function indexAdd(ctx: WasmContext, out: View, axis: number, index: View, src: View): void {
  const [outer, size, inner] = aroundAxis(out.shape, axis);
  if (!rowIndicesValid(ctx, index, size)) return ctx.reference('indexAdd', [out, axis, index, src]);
  const n = index.shape[0] ?? 1;
  if (outer * n * inner === 0) return;
  const isInt = out.dtype === 'int32' ? 1 : 0;
  ctx.run('indexAdd', [ctx.addr(out), ctx.addr(src), ctx.addr(index), outer, size, inner, n, isInt], outer * n * inner);
}

export function gather(ctx: WasmContext, out: View, x: View, axis: number, index: View): void {
  if (!indicesChecked(ctx, index, x.shape[axis]!)) return ctx.reference('gather', [out, x, axis, index]);
  const n = sizeOf(index.shape);
  if (n === 0) return;
  // x walks index's shape with no stride on the axis; the kernel adds index * axis stride.
  const walkX = { ...x, strides: x.strides.map((s, d) => (d === axis ? 0 : s)) };
  const layout = ctx.layout(index.shape, out, index, walkX);
  if (layout === null) return ctx.reference('gather', [out, x, axis, index]);
  ctx.run('gather', [ctx.addr(out), ctx.addr(x), ctx.addr(index), x.strides[axis]!, layout], n);
}

export function scatterAdd(ctx: WasmContext, out: View, axis: number, index: View, src: View): void {
  const n = sizeOf(index.shape);
  const fallback = () => ctx.reference('scatterAdd', [out, axis, index, src]);
  // With a contiguous out, distinct positions off the axis address distinct outputs, which is
  // what lets threads split them.
  if (!isContiguousLayout(out.shape, out.strides) || !indicesChecked(ctx, index, out.shape[axis]!)) return fallback();
  if (n === 0) return;
  // The axis goes innermost, so that each row of the walk holds every addition into its outputs.
  const order = [...index.shape.keys()].filter((d) => d !== axis).concat(axis);
  const permuted = (strides: readonly number[]) => order.map((d) => strides[d]!);
  const walkOut = { ...out, strides: permuted(out.strides.map((s, d) => (d === axis ? 0 : s))) };
  const layout = ctx.layout(
    permuted(index.shape),
    walkOut,
    { ...index, strides: permuted(index.strides) },
    { ...src, strides: permuted(src.strides) },
  );
  if (layout === null) return fallback();
  const isInt = out.dtype === 'int32' ? 1 : 0;
  ctx.run('scatterAdd', [ctx.addr(out), ctx.addr(src), ctx.addr(index), out.strides[axis]!, isInt, layout], n);
}
