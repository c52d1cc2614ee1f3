import type { View } from '../backend.js';
import type { TypedArray } from '../dtype.js';
import { isContiguousLayout } from '../strides.js';

export function data(view: View): TypedArray {
  return view.handle as TypedArray;
}

export function viewSize(view: View): number {
  let n = 1;
  for (const d of view.shape) n *= d;
  return n;
}

/**
 * Storage offset of every element of a view, in row-major order of its shape. The reference
 * backend trades this memory for obviously-correct indexing of any strided view.
 */
export function offsets(view: View): Int32Array {
  const n = viewSize(view);
  const out = new Int32Array(n);
  if (isContiguousLayout(view.shape, view.strides)) {
    for (let i = 0; i < n; i++) out[i] = view.offset + i;
    return out;
  }
  const rank = view.shape.length;
  const index = new Array<number>(rank).fill(0);
  let off = view.offset;
  for (let i = 0; i < n; i++) {
    out[i] = off;
    for (let a = rank - 1; a >= 0; a--) {
      index[a]!++;
      off += view.strides[a]!;
      if (index[a]! < view.shape[a]!) break;
      off -= view.strides[a]! * view.shape[a]!;
      index[a] = 0;
    }
  }
  return out;
}
