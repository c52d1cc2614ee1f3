import type { View } from '../../backend.js';
import type { WasmContext } from '../context.js';
import { rowsOf } from '../../strides.js';

/** Work to report for a kernel whose threads split rows: a single row stays on the calling thread. */
function rowWork(rows: number, cols: number): number {
  return rows > 1 ? rows * cols : 0;
}

/** Address of an optional view; 0 tells a kernel it is absent. */
function addrOr0(ctx: WasmContext, v: View | null): number {
  return v ? ctx.addr(v) : 0;
}

/**
 * Runs a norm gradient whose parameter gradients are sums over rows: every thread adds its rows
 * into its own zeroed float64 block of `perThread` values, then normParamsSum adds the blocks in
 * thread order into each requested output (`targets`: output and offset within a block).
 */
function withParamSums(
  ctx: WasmContext,
  cols: number,
  perThread: number,
  targets: [View | null, number][],
  kernel: (partials: number) => number,
): void {
  if (targets.every(([v]) => v === null)) {
    kernel(0);
    return;
  }
  const bytes = ctx.threads * perThread * 8;
  const partials = ctx.scratch(bytes);
  try {
    ctx.array('int32').fill(0, partials / 4, (partials + bytes) / 4);
    const used = kernel(partials);
    for (const [v, offset] of targets) {
      if (v) ctx.run('normParamsSum', [ctx.addr(v), partials + offset * 8, used, perThread, cols], cols * used);
    }
  } finally {
    ctx.freeScratch(partials);
  }
}

export function layerNorm(
  ctx: WasmContext,
  out: View,
  mean: View,
  rstd: View,
  x: View,
  weight: View | null,
  bias: View | null,
  eps: number,
): void {
  const [rows, cols] = rowsOf(x.shape);
  if (rows === 0) return;
  const args = [
    ctx.addr(out),
    ctx.addr(mean),
    ctx.addr(rstd),
    ctx.addr(x),
    addrOr0(ctx, weight),
    addrOr0(ctx, bias),
    rows,
    cols,
    eps,
  ];
  ctx.run('layerNorm', args, rowWork(rows, cols));
}

export function layerNormGrad(
  ctx: WasmContext,
  dx: View,
  dweight: View | null,
  dbias: View | null,
  g: View,
  x: View,
  mean: View,
  rstd: View,
  weight: View | null,
): void {
  const [rows, cols] = rowsOf(x.shape);
  withParamSums(
    ctx,
    cols,
    2 * cols,
    [
      [dweight, 0],
      [dbias, cols],
    ],
    (partials) => {
      const args = [
        ctx.addr(dx),
        partials,
        ctx.addr(g),
        ctx.addr(x),
        ctx.addr(mean),
        ctx.addr(rstd),
        addrOr0(ctx, weight),
        rows,
        cols,
      ];
      return ctx.run('layerNormGrad', args, rowWork(rows, cols));
    },
  );
}

export function rmsNorm(ctx: WasmContext, out: View, rstd: View, x: View, weight: View | null, eps: number): void {
  const [rows, cols] = rowsOf(x.shape);
  if (rows === 0) return;
  ctx.run(
    'rmsNorm',
    [ctx.addr(out), ctx.addr(rstd), ctx.addr(x), addrOr0(ctx, weight), rows, cols, eps],
    rowWork(rows, cols),
  );
}

export function rmsNormGrad(
  ctx: WasmContext,
  dx: View,
  dweight: View | null,
  g: View,
  x: View,
  rstd: View,
  weight: View | null,
): void {
  const [rows, cols] = rowsOf(x.shape);
  withParamSums(ctx, cols, cols, [[dweight, 0]], (partials) => {
    const args = [ctx.addr(dx), partials, ctx.addr(g), ctx.addr(x), ctx.addr(rstd), addrOr0(ctx, weight), rows, cols];
    return ctx.run('rmsNormGrad', args, rowWork(rows, cols));
  });
}
