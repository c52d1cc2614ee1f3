// Layout facts that kernels and the tensor layer both need; here, below tensor/, so that
// backends need not import from the layer above them.

/** True when shape/strides walk memory densely in row-major order (size-1 axes may have any stride). */
export function isContiguousLayout(shape: readonly number[], strides: readonly number[]): boolean {
  let expected = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    const d = shape[i]!;
    if (d !== 1 && strides[i] !== expected) return false;
    expected *= d;
  }
  return true;
}
