// The GEMM micro-tile (../assembly/gemm.ts), whose whole numbers the wrapper's cache blocks are
// (../kernels/matmul.ts). Plain constants: see strided.ts.
export const MR = 4;
export const NR = 8;
