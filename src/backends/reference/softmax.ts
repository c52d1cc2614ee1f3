import type { View } from '../backend.js';
import { MambaError } from '../../util/errors.js';
import { data } from './strided.js';
import { rowsOf } from '../strides.js';

function rowLogSumExp(xs: ArrayLike<number>, base: number, cols: number): number {
  let max = -Infinity;
  for (let c = 0; c < cols; c++) max = Math.max(max, xs[base + c]!);
  if (max === -Infinity) return -Infinity;
  let sum = 0;
  for (let c = 0; c < cols; c++) sum += Math.exp(xs[base + c]! - max);
  return max + Math.log(sum);
}

export function softmax(out: View, x: View, log: boolean): void {
  const [n, cols] = rowsOf(x.shape);
  const xs = data(x);
  const o = data(out);
  for (let r = 0; r < n; r++) {
    const base = x.offset + r * cols;
    const lse = rowLogSumExp(xs, base, cols);
    for (let c = 0; c < cols; c++) {
      const v = xs[base + c]! - lse;
      o[out.offset + r * cols + c] = log ? v : Math.exp(v);
    }
  }
}

function target(ts: ArrayLike<number>, view: View, r: number, cols: number, ignoreIndex: number): number {
  const t = ts[view.offset + r]!;
  if (t !== ignoreIndex && !(t >= 0 && t < cols)) {
    throw new MambaError(`crossEntropy: target ${t} is out of range for ${cols} classes (row ${r})`);
  }
  return t;
}

export function crossEntropy(loss: View, logSumExp: View, logits: View, targets: View, ignoreIndex: number): void {
  const [n, cols] = rowsOf(logits.shape);
  const xs = data(logits);
  const ts = data(targets);
  const l = data(loss);
  const s = data(logSumExp);
  for (let r = 0; r < n; r++) {
    const base = logits.offset + r * cols;
    const lse = rowLogSumExp(xs, base, cols);
    s[logSumExp.offset + r] = lse;
    const t = target(ts, targets, r, cols, ignoreIndex);
    l[loss.offset + r] = t === ignoreIndex ? 0 : lse - xs[base + t]!;
  }
}

export function crossEntropyGrad(
  dlogits: View,
  logits: View,
  logSumExp: View,
  targets: View,
  gLoss: View,
  ignoreIndex: number,
): void {
  const [n, cols] = rowsOf(logits.shape);
  const xs = data(logits);
  const ts = data(targets);
  const s = data(logSumExp);
  const g = data(gLoss);
  const d = data(dlogits);
  for (let r = 0; r < n; r++) {
    const t = target(ts, targets, r, cols, ignoreIndex);
    const out = dlogits.offset + r * cols;
    if (t === ignoreIndex) {
      for (let c = 0; c < cols; c++) d[out + c] = 0;
      continue;
    }
    const gr = g[gLoss.offset + r]!;
    const lse = s[logSumExp.offset + r]!;
    const base = logits.offset + r * cols;
    for (let c = 0; c < cols; c++) d[out + c] = gr * (Math.exp(xs[base + c]! - lse) - (c === t ? 1 : 0));
  }
}
