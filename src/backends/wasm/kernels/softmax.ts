import type { View } from '../../backend.js';
import type { WasmContext } from '../context.js';
import { rowsOf } from '../../strides.js';

/** Work to report for a kernel whose threads split rows: a single row stays on the calling thread. */
function rowWork(rows: number, cols: number): number {
  return rows > 1 ? rows * cols : 0;
}

/**
 * ignoreIndex as the kernels' int32 argument. A value that is no int32 matches no target, and
 * neither does -1 once the targets are known to be classes.
 */
function ignoreArg(ignoreIndex: number): number {
  return (ignoreIndex | 0) === ignoreIndex ? ignoreIndex : -1;
}

/** Whether every target is ignoreIndex or a class in [0, cols). */
function targetsValid(ctx: WasmContext, targets: View, n: number, cols: number, ignoreIndex: number): boolean {
  const ts = ctx.array('int32');
  const base = ctx.addr(targets) / 4;
  for (let r = 0; r < n; r++) {
    const t = ts[base + r]!;
    if (t !== ignoreIndex && !(t >= 0 && t < cols)) return false;
  }
  return true;
}

export function softmax(ctx: WasmContext, out: View, x: View, log: boolean): void {
  const [rows, cols] = rowsOf(x.shape);
  if (rows * cols === 0) return;
  ctx.run('softmax', [ctx.addr(out), ctx.addr(x), rows, cols, log ? 1 : 0], rowWork(rows, cols));
}

// A bad target takes the reference path, which throws its own error for it.
export function crossEntropy(
  ctx: WasmContext,
  loss: View,
  logSumExp: View,
  logits: View,
  targets: View,
  ignoreIndex: number,
): void {
  const [rows, cols] = rowsOf(logits.shape);
  if (!targetsValid(ctx, targets, rows, cols, ignoreIndex)) {
    return ctx.reference('crossEntropy', [loss, logSumExp, logits, targets, ignoreIndex]);
  }
  if (rows === 0) return;
  ctx.run(
    'crossEntropy',
    [ctx.addr(loss), ctx.addr(logSumExp), ctx.addr(logits), ctx.addr(targets), rows, cols, ignoreArg(ignoreIndex)],
    rowWork(rows, cols),
  );
}

export function crossEntropyGrad(
  ctx: WasmContext,
  dlogits: View,
  logits: View,
  logSumExp: View,
  targets: View,
  gLoss: View,
  ignoreIndex: number,
): void {
  const [rows, cols] = rowsOf(logits.shape);
  if (!targetsValid(ctx, targets, rows, cols, ignoreIndex)) {
    return ctx.reference('crossEntropyGrad', [dlogits, logits, logSumExp, targets, gLoss, ignoreIndex]);
  }
  if (rows * cols === 0) return;
  const args = [
    ctx.addr(dlogits),
    ctx.addr(logits),
    ctx.addr(logSumExp),
    ctx.addr(targets),
    ctx.addr(gLoss),
    rows,
    cols,
    ignoreArg(ignoreIndex),
  ];
  ctx.run('crossEntropyGrad', args, rows * cols);
}
