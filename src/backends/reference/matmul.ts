import type { View } from '../backend.js';
import { data } from './strided.js';

/** Batched matmul over arbitrary strides, accumulating each output in float64. */
export function matmul(out: View, a: View, b: View): void {
  const rank = out.shape.length;
  const m = out.shape[rank - 2]!;
  const n = out.shape[rank - 1]!;
  const k = a.shape[rank - 1]!;
  const batchShape = out.shape.slice(0, rank - 2);
  let batches = 1;
  for (const d of batchShape) batches *= d;
  const as = data(a);
  const bs = data(b);
  const o = data(out);
  const [sam, sak] = [a.strides[rank - 2]!, a.strides[rank - 1]!];
  const [sbk, sbn] = [b.strides[rank - 2]!, b.strides[rank - 1]!];
  const acc = new Float64Array(n);
  const index = new Array<number>(batchShape.length).fill(0);
  for (let bt = 0; bt < batches; bt++) {
    let aBase = a.offset;
    let bBase = b.offset;
    for (let i = 0; i < batchShape.length; i++) {
      aBase += index[i]! * a.strides[i]!;
      bBase += index[i]! * b.strides[i]!;
    }
    for (let i = 0; i < m; i++) {
      acc.fill(0);
      for (let p = 0; p < k; p++) {
        const av = as[aBase + i * sam + p * sak]!;
        const bRow = bBase + p * sbk;
        for (let j = 0; j < n; j++) acc[j] += av * bs[bRow + j * sbn]!;
      }
      const oRow = out.offset + (bt * m + i) * n;
      for (let j = 0; j < n; j++) o[oRow + j] = acc[j]!;
    }
    for (let i = batchShape.length - 1; i >= 0; i--) {
      if (++index[i]! < batchShape[i]!) break;
      index[i] = 0;
    }
  }
}
