import type { View } from '../backend.js';
import { data } from './strided.js';
import { rowsOf } from '../strides.js';

export function layerNorm(
  out: View,
  mean: View,
  rstd: View,
  x: View,
  weight: View | null,
  bias: View | null,
  eps: number,
): void {
  const [n, cols] = rowsOf(x.shape);
  const xs = data(x);
  const o = data(out);
  const w = weight ? data(weight) : null;
  const b = bias ? data(bias) : null;
  for (let r = 0; r < n; r++) {
    const base = x.offset + r * cols;
    let mu = 0;
    for (let c = 0; c < cols; c++) mu += xs[base + c]!;
    mu /= cols;
    let variance = 0;
    for (let c = 0; c < cols; c++) variance += (xs[base + c]! - mu) ** 2;
    variance /= cols;
    const rs = 1 / Math.sqrt(variance + eps);
    data(mean)[mean.offset + r] = mu;
    data(rstd)[rstd.offset + r] = rs;
    for (let c = 0; c < cols; c++) {
      let v = (xs[base + c]! - mu) * rs;
      if (w) v *= w[weight!.offset + c]!;
      if (b) v += b[bias!.offset + c]!;
      o[out.offset + r * cols + c] = v;
    }
  }
}

export function layerNormGrad(
  dx: View,
  dweight: View | null,
  dbias: View | null,
  g: View,
  x: View,
  mean: View,
  rstd: View,
  weight: View | null,
): void {
  const [n, cols] = rowsOf(x.shape);
  const xs = data(x);
  const gs = data(g);
  const w = weight ? data(weight) : null;
  const dws = new Float64Array(cols);
  const dbs = new Float64Array(cols);
  const xhat = new Float64Array(cols);
  const gw = new Float64Array(cols);
  for (let r = 0; r < n; r++) {
    const base = x.offset + r * cols;
    const gBase = g.offset + r * cols;
    const mu = data(mean)[mean.offset + r]!;
    const rs = data(rstd)[rstd.offset + r]!;
    let sumGw = 0;
    let sumGwX = 0;
    for (let c = 0; c < cols; c++) {
      xhat[c] = (xs[base + c]! - mu) * rs;
      const gv = gs[gBase + c]!;
      gw[c] = w ? gv * w[weight!.offset + c]! : gv;
      sumGw += gw[c]!;
      sumGwX += gw[c]! * xhat[c]!;
      dws[c] += gv * xhat[c]!;
      dbs[c] += gv;
    }
    const d = data(dx);
    for (let c = 0; c < cols; c++) {
      d[dx.offset + r * cols + c] = rs * (gw[c]! - sumGw / cols - (xhat[c]! * sumGwX) / cols);
    }
  }
  if (dweight) for (let c = 0; c < cols; c++) data(dweight)[dweight.offset + c] = dws[c]!;
  if (dbias) for (let c = 0; c < cols; c++) data(dbias)[dbias.offset + c] = dbs[c]!;
}

export function rmsNorm(out: View, rstd: View, x: View, weight: View | null, eps: number): void {
  const [n, cols] = rowsOf(x.shape);
  const xs = data(x);
  const o = data(out);
  const w = weight ? data(weight) : null;
  for (let r = 0; r < n; r++) {
    const base = x.offset + r * cols;
    let ms = 0;
    for (let c = 0; c < cols; c++) ms += xs[base + c]! ** 2;
    const rs = 1 / Math.sqrt(ms / cols + eps);
    data(rstd)[rstd.offset + r] = rs;
    for (let c = 0; c < cols; c++) {
      const v = xs[base + c]! * rs;
      o[out.offset + r * cols + c] = w ? v * w[weight!.offset + c]! : v;
    }
  }
}

export function rmsNormGrad(dx: View, dweight: View | null, g: View, x: View, rstd: View, weight: View | null): void {
  const [n, cols] = rowsOf(x.shape);
  const xs = data(x);
  const gs = data(g);
  const w = weight ? data(weight) : null;
  const dws = new Float64Array(cols);
  for (let r = 0; r < n; r++) {
    const base = x.offset + r * cols;
    const gBase = g.offset + r * cols;
    const rs = data(rstd)[rstd.offset + r]!;
    let dot = 0;
    for (let c = 0; c < cols; c++) {
      const gv = gs[gBase + c]!;
      const gw = w ? gv * w[weight!.offset + c]! : gv;
      dot += gw * xs[base + c]!;
      dws[c] += gv * xs[base + c]! * rs;
    }
    const d = data(dx);
    const k = (rs * rs * rs * dot) / cols;
    for (let c = 0; c < cols; c++) {
      const gv = gs[gBase + c]!;
      const gw = w ? gv * w[weight!.offset + c]! : gv;
      d[dx.offset + r * cols + c] = gw * rs - xs[base + c]! * k;
    }
  }
  if (dweight) for (let c = 0; c < cols; c++) data(dweight)[dweight.offset + c] = dws[c]!;
}
