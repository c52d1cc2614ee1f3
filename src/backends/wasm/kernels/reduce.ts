import type { ArgReduceOp, ReduceOp, View } from '../../backend.js';
import * as ref from '../../reference/kernels.js';
import type { WasmContext } from '../context.js';

// Run the reference code on wasm memory until they get wasm versions.
export function reduce(ctx: WasmContext, op: ReduceOp, out: View, x: View, axes: readonly number[]): void {
  ref.reduce(op, ctx.asRef(out), ctx.asRef(x), axes);
}

export function argReduce(ctx: WasmContext, op: ArgReduceOp, out: View, x: View, axis: number): void {
  ref.argReduce(op, ctx.asRef(out), ctx.asRef(x), axis);
}

export function topk(ctx: WasmContext, values: View, indices: View, x: View, k: number, largest: boolean): void {
  ref.topk(ctx.asRef(values), ctx.asRef(indices), ctx.asRef(x), k, largest);
}
