import type { View } from '../backend.js';
import { sigmoid } from './scalar-math.js';
import { data } from './strided.js';
import { rowsOf, sizeOf } from '../strides.js';

/** sum = x + residual; out = rmsNorm(sum) * weight (Mamba's add-then-norm between blocks). */
export function addRmsNorm(
  out: View,
  sum: View,
  rstd: View,
  x: View,
  residual: View,
  weight: View | null,
  eps: number,
): void {
  const [n, cols] = rowsOf(x.shape);
  const xs = data(x);
  const rs = data(residual);
  const s = data(sum);
  const o = data(out);
  const w = weight ? data(weight) : null;
  const row = new Float64Array(cols);
  for (let r = 0; r < n; r++) {
    let ms = 0;
    for (let c = 0; c < cols; c++) {
      // The sum is rounded to the storage type first, so that the norm sees what is stored.
      s[sum.offset + r * cols + c] = xs[x.offset + r * cols + c]! + rs[residual.offset + r * cols + c]!;
      row[c] = s[sum.offset + r * cols + c]!;
      ms += row[c]! * row[c]!;
    }
    const inv = 1 / Math.sqrt(ms / cols + eps);
    data(rstd)[rstd.offset + r] = inv;
    for (let c = 0; c < cols; c++) o[out.offset + r * cols + c] = row[c]! * inv * (w ? w[weight!.offset + c]! : 1);
  }
}

/** out = y * silu(z): the output gate of the Mamba mixer. */
export function siluMul(out: View, y: View, z: View): void {
  const n = sizeOf(out.shape);
  const ys = data(y);
  const zs = data(z);
  const o = data(out);
  for (let i = 0; i < n; i++) {
    const zv = zs[z.offset + i]!;
    o[out.offset + i] = ys[y.offset + i]! * zv * sigmoid(zv);
  }
}

/** dy = g * silu(z); dz = g * y * silu'(z). */
export function siluMulGrad(dy: View, dz: View, g: View, y: View, z: View): void {
  const n = sizeOf(g.shape);
  const gs = data(g);
  const ys = data(y);
  const zs = data(z);
  for (let i = 0; i < n; i++) {
    const zv = zs[z.offset + i]!;
    const s = sigmoid(zv);
    const gv = gs[g.offset + i]!;
    data(dy)[dy.offset + i] = gv * zv * s;
    data(dz)[dz.offset + i] = gv * ys[y.offset + i]! * s * (1 + zv * (1 - s));
  }
}
