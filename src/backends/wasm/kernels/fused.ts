import type { View } from '../../backend.js';
import type { WasmContext } from '../context.js';
import { sizeOf } from '../../strides.js';

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
  const rows = sizeOf(x.shape) / Math.max(cols, 1);
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
    sizeOf(x.shape),
  );
}

export function siluMul(ctx: WasmContext, out: View, y: View, z: View): void {
  ctx.run('siluMul', [ctx.addr(out), ctx.addr(y), ctx.addr(z), sizeOf(out.shape)], sizeOf(out.shape));
}

export function siluMulGrad(ctx: WasmContext, dy: View, dz: View, g: View, y: View, z: View): void {
  ctx.run(
    'siluMulGrad',
    [ctx.addr(dy), ctx.addr(dz), ctx.addr(g), ctx.addr(y), ctx.addr(z), sizeOf(g.shape)],
    sizeOf(g.shape),
  );
}
