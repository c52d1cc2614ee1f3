import type { Conv2dParams, Pool2dParams, View } from '../../backend.js';
import * as ref from '../../reference/kernels.js';
import type { WasmContext } from '../context.js';

// Run the reference code on wasm memory until they get wasm versions.
export function causalConv1d(ctx: WasmContext, out: View, x: View, weight: View, bias: View | null): void {
  ref.causalConv1d(ctx.asRef(out), ctx.asRef(x), ctx.asRef(weight), ctx.asRef(bias));
}

export function causalConv1dGrad(ctx: WasmContext, dx: View, dweight: View, dbias: View | null, g: View, x: View, weight: View): void {
  ref.causalConv1dGrad(ctx.asRef(dx), ctx.asRef(dweight), ctx.asRef(dbias), ctx.asRef(g), ctx.asRef(x), ctx.asRef(weight));
}

export function conv2d(ctx: WasmContext, out: View, x: View, weight: View, bias: View | null, p: Conv2dParams): void {
  ref.conv2d(ctx.asRef(out), ctx.asRef(x), ctx.asRef(weight), ctx.asRef(bias), p);
}

export function conv2dGradInput(ctx: WasmContext, dx: View, g: View, weight: View, p: Conv2dParams): void {
  ref.conv2dGradInput(ctx.asRef(dx), ctx.asRef(g), ctx.asRef(weight), p);
}

export function conv2dGradWeight(ctx: WasmContext, dweight: View, x: View, g: View, p: Conv2dParams): void {
  ref.conv2dGradWeight(ctx.asRef(dweight), ctx.asRef(x), ctx.asRef(g), p);
}

export function maxPool2d(ctx: WasmContext, out: View, indices: View, x: View, p: Pool2dParams): void {
  ref.maxPool2d(ctx.asRef(out), ctx.asRef(indices), ctx.asRef(x), p);
}
