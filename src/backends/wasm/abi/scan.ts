// Word offsets of the selective scan's parameter block, written by the wrapper
// (../kernels/scan.ts) because the arguments outnumber what a call can carry, and read by the
// kernels (../assembly/scan.ts). Addresses are byte addresses, 0 for an absent optional view;
// each *_STRIDES slot starts the three strides of a [B, L, D] or [B, L, N] view. Plain
// constants: see strided.ts.
export const Y = 0;
export const LAST = 1;
export const STATES = 2;
export const U = 3;
export const DELTA = 4;
export const A = 5;
export const BMAT = 6;
export const CMAT = 7;
export const DSKIP = 8;
export const Z = 9;
export const BIAS = 10;
export const H0 = 11;
export const BATCH = 12;
export const LEN = 13;
export const DIM = 14;
export const NSTATE = 15;
export const U_STRIDES = 16;
export const DELTA_STRIDES = 19;
export const Z_STRIDES = 22;
export const B_STRIDES = 25;
export const C_STRIDES = 28;
export const SOFTPLUS = 31;
export const CHUNK = 32;
export const SCRATCH = 33;
export const SCRATCH_BYTES = 34;
// The backward pass's slots.
export const GY = 35;
export const GLAST = 36;
export const DU = 37;
export const DDELTA = 38;
export const DA = 39;
export const DB = 40;
export const DC = 41;
export const DD = 42;
export const DZ = 43;
export const DBIAS = 44;
export const DH0 = 45;
export const PARTS = 46;
export const WORDS = 47;
