import type { View } from '../../backend.js';
import * as ref from '../../reference/kernels.js';
import type { WasmContext } from '../context.js';

// Run the reference code on wasm memory until they get wasm versions.
export function softmax(ctx: WasmContext, out: View, x: View, log: boolean): void {
  ref.softmax(ctx.asRef(out), ctx.asRef(x), log);
}

export function crossEntropy(ctx: WasmContext, loss: View, logSumExp: View, logits: View, targets: View, ignoreIndex: number): void {
  ref.crossEntropy(ctx.asRef(loss), ctx.asRef(logSumExp), ctx.asRef(logits), ctx.asRef(targets), ignoreIndex);
}

export function crossEntropyGrad(ctx: WasmContext, dlogits: View, logits: View, logSumExp: View, targets: View, gLoss: View, ignoreIndex: number): void {
  ref.crossEntropyGrad(ctx.asRef(dlogits), ctx.asRef(logits), ctx.asRef(logSumExp), ctx.asRef(targets), ctx.asRef(gLoss), ignoreIndex);
}
