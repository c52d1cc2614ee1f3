import type { View } from '../../backend.js';
import * as ref from '../../reference/kernels.js';
import type { WasmContext } from '../context.js';

// Runs the reference code on wasm memory until the SIMD GEMM lands.
export function matmul(ctx: WasmContext, out: View, a: View, b: View): void {
  ref.matmul(ctx.asRef(out), ctx.asRef(a), ctx.asRef(b));
}
