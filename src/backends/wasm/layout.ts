// Shape and strides of several operands walked together, in the form the kernels read.
import { LAYOUT_SHAPE, LAYOUT_STRIDES, MAX_RANK } from './abi/strided.js';

/**
 * Drops size-1 dimensions and merges neighbours that every operand walks contiguously, so that
 * the innermost dimension is as long as possible. Returns null when the result still has more
 * than MAX_RANK dimensions.
 */
export function coalesce(
  shape: readonly number[],
  strides: readonly (readonly number[])[],
): { shape: number[]; strides: number[][] } | null {
  const dims: { size: number; strides: number[] }[] = [];
  for (let i = 0; i < shape.length; i++) {
    if (shape[i] === 1) continue;
    dims.push({ size: shape[i]!, strides: strides.map((s) => s[i]!) });
  }
  for (let j = dims.length - 1; j > 0; j--) {
    const outer = dims[j - 1]!;
    const inner = dims[j]!;
    if (outer.strides.every((s, o) => s === inner.strides[o]! * inner.size)) {
      inner.size *= outer.size;
      dims.splice(j - 1, 1);
    }
  }
  if (dims.length > MAX_RANK) return null;
  return { shape: dims.map((d) => d.size), strides: strides.map((_, o) => dims.map((d) => d.strides[o]!)) };
}

/** Writes a coalesced layout into `words` (an Int32Array view of the layout block). */
export function writeLayout(
  words: Int32Array,
  shape: readonly number[],
  strides: readonly (readonly number[])[],
): void {
  words.fill(0);
  words[0] = shape.length;
  shape.forEach((d, i) => (words[LAYOUT_SHAPE + i] = d));
  strides.forEach((s, o) => s.forEach((v, i) => (words[LAYOUT_STRIDES + o * MAX_RANK + i] = v)));
}
