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

/** Elements of a tensor of this shape. */
export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Rows of the last axis: (number of rows, row length). */
export function rowsOf(shape: readonly number[]): [number, number] {
  const cols = shape.length === 0 ? 1 : shape[shape.length - 1]!;
  return [sizeOf(shape.slice(0, -1)), cols];
}

/** Splits a contiguous shape around an axis into (outer, size, inner) extents. */
export function aroundAxis(shape: readonly number[], axis: number): [number, number, number] {
  return [sizeOf(shape.slice(0, axis)), shape[axis]!, sizeOf(shape.slice(axis + 1))];
}
