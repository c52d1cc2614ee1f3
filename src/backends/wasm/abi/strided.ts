// The layout block of strided operands walked together, written by the wrappers (../layout.ts)
// and read by the kernels (../assembly/strided.ts), in i32 words:
//   [rank, shape[MAX_RANK], strides of operand 0 .. MAX_OPERANDS - 1 (MAX_RANK each)]
// Files in abi/ hold plain constants only, so that AssemblyScript and TypeScript both compile them.
export const MAX_RANK = 8;
export const MAX_OPERANDS = 4;
export const LAYOUT_SHAPE = 1;
export const LAYOUT_STRIDES = LAYOUT_SHAPE + MAX_RANK;
export const LAYOUT_WORDS = LAYOUT_STRIDES + MAX_OPERANDS * MAX_RANK;
