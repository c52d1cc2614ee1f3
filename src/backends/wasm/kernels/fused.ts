import type { View } from '../../backend.js';
import type { WasmContext } from '../context.js';

function count(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export function addRmsNorm(
  ctx: WasmContext,
  out: View,
  sum: View,
  rstd: View,
  x: View,
  residual: View,
  weight: View | null,
  eps: number,
): void {
  const cols = x.shape[x.shape.length - 1] ?? 1;
  const rows = count(x.shape) / Math.max(cols, 1);
  ctx.run(
    'addRmsNorm',
    [
      ctx.addr(out),
      ctx.addr(sum),
      ctx.addr(rstd),
      ctx.addr(x),
      ctx.addr(residual),
      weight ? ctx.addr(weight) : 0,
      weight ? 1 : 0,
      cols === 0 ? 0 : rows,
      cols,
      eps,
    ],
    count(x.shape),
  );
}

export function siluMul(ctx: WasmContext, out: View, y: View, z: View): void {
  ctx.run('siluMul', [ctx.addr(out), ctx.addr(y), ctx.addr(z), count(out.shape)], count(out.shape));
}

export function siluMulGrad(ctx: WasmContext, dy: View, dz: View, g: View, y: View, z: View): void {
  ctx.run(
    'siluMulGrad',
    [ctx.addr(dy), ctx.addr(dz), ctx.addr(g), ctx.addr(y), ctx.addr(z), count(g.shape)],
    count(g.shape),
  );
}
