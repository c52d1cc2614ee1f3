// Walking strided operands. The JS side writes a layout block into wasm memory (its words in
// ../abi/strided.ts; strides in elements) after merging the dimensions it can, so the innermost
// dimension is as long as possible. Each thread takes a contiguous range of the flattened index
// space.
import { LAYOUT_SHAPE, LAYOUT_STRIDES, MAX_RANK } from '../abi/strided';

// @ts-ignore: decorator
@inline export function layoutRank(layout: usize): i32 {
  return load<i32>(layout);
}

// The byte offsets are local constants: so written, -O3 emits the same code as for literal
// offsets (written inline, the shifts of imported constants changed the reductions' code).

// @ts-ignore: decorator
@inline export function layoutDim(layout: usize, d: i32): i32 {
  const shape: usize = LAYOUT_SHAPE << 2;
  return load<i32>(layout + shape + ((<usize>d) << 2));
}

// @ts-ignore: decorator
@inline export function layoutStride(layout: usize, operand: i32, d: i32): i32 {
  const strides: usize = LAYOUT_STRIDES << 2;
  return load<i32>(layout + strides + ((<usize>(operand * MAX_RANK + d)) << 2));
}

/** Number of elements the layout addresses. */
export function layoutSize(layout: usize): i32 {
  let n = 1;
  for (let d = 0; d < layoutRank(layout); d++) n *= layoutDim(layout, d);
  return n;
}

/** Element offset of (row, 0) for an operand, where rows enumerate all but the last dimension. */
export function rowOffset(layout: usize, operand: i32, row: i32): i32 {
  const rank = layoutRank(layout);
  let off = 0;
  let r = row;
  for (let d = rank - 2; d >= 0; d--) {
    const size = layoutDim(layout, d);
    off += (r % size) * layoutStride(layout, operand, d);
    r /= size;
  }
  return off;
}

// @ts-ignore: decorator
@inline export function innerSize(layout: usize): i32 {
  const rank = layoutRank(layout);
  return rank == 0 ? 1 : layoutDim(layout, rank - 1);
}

// @ts-ignore: decorator
@inline export function innerStride(layout: usize, operand: i32): i32 {
  const rank = layoutRank(layout);
  return rank == 0 ? 0 : layoutStride(layout, operand, rank - 1);
}
