import type { View } from '../../backend.js';
import * as ref from '../../reference/kernels.js';
import type { WasmContext } from '../context.js';

// Run the reference code on wasm memory until they get wasm versions.
export function indexSelect(ctx: WasmContext, out: View, x: View, axis: number, index: View): void {
  ref.indexSelect(ctx.asRef(out), ctx.asRef(x), axis, ctx.asRef(index));
}

export function indexAdd(ctx: WasmContext, out: View, axis: number, index: View, src: View): void {
  ref.indexAdd(ctx.asRef(out), axis, ctx.asRef(index), ctx.asRef(src));
}

export function gather(ctx: WasmContext, out: View, x: View, axis: number, index: View): void {
  ref.gather(ctx.asRef(out), ctx.asRef(x), axis, ctx.asRef(index));
}

export function scatterAdd(ctx: WasmContext, out: View, axis: number, index: View, src: View): void {
  ref.scatterAdd(ctx.asRef(out), axis, ctx.asRef(index), ctx.asRef(src));
}
