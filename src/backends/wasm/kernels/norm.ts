import type { View } from '../../backend.js';
import * as ref from '../../reference/kernels.js';
import type { WasmContext } from '../context.js';

// Run the reference code on wasm memory until they get wasm versions.
export function layerNorm(ctx: WasmContext, out: View, mean: View, rstd: View, x: View, weight: View | null, bias: View | null, eps: number): void {
  ref.layerNorm(ctx.asRef(out), ctx.asRef(mean), ctx.asRef(rstd), ctx.asRef(x), ctx.asRef(weight), ctx.asRef(bias), eps);
}

export function layerNormGrad(ctx: WasmContext, dx: View, dweight: View | null, dbias: View | null, g: View, x: View, mean: View, rstd: View, weight: View | null): void {
  ref.layerNormGrad(ctx.asRef(dx), ctx.asRef(dweight), ctx.asRef(dbias), ctx.asRef(g), ctx.asRef(x), ctx.asRef(mean), ctx.asRef(rstd), ctx.asRef(weight));
}

export function rmsNorm(ctx: WasmContext, out: View, rstd: View, x: View, weight: View | null, eps: number): void {
  ref.rmsNorm(ctx.asRef(out), ctx.asRef(rstd), ctx.asRef(x), ctx.asRef(weight), eps);
}

export function rmsNormGrad(ctx: WasmContext, dx: View, dweight: View | null, g: View, x: View, rstd: View, weight: View | null): void {
  ref.rmsNormGrad(ctx.asRef(dx), ctx.asRef(dweight), ctx.asRef(g), ctx.asRef(x), ctx.asRef(rstd), ctx.asRef(weight));
}
