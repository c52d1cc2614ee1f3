// Codes of the operations the elementwise, reduction and copy kernels switch on, passed by the
// wrappers (../kernels/) to the kernels (../assembly/). Plain constants: see strided.ts.
export const UNARY_NEG = 0;
export const UNARY_EXP = 1;
export const UNARY_LOG = 2;
export const UNARY_SQRT = 3;
export const UNARY_RSQRT = 4;
export const UNARY_ABS = 5;
export const UNARY_RELU = 6;
export const UNARY_LEAKY_RELU = 7;
export const UNARY_GELU = 8;
export const UNARY_GELU_TANH = 9;
export const UNARY_SILU = 10;
export const UNARY_SIGMOID = 11;
export const UNARY_TANH = 12;
export const UNARY_SOFTPLUS = 13;
export const UNARY_CLAMP = 14;
export const UNARY_POW = 15;
export const UNARY_AFFINE = 16;

export const BINARY_ADD = 0;
export const BINARY_SUB = 1;
export const BINARY_MUL = 2;
export const BINARY_DIV = 3;
export const BINARY_POW = 4;
export const BINARY_MAXIMUM = 5;
export const BINARY_MINIMUM = 6;
export const BINARY_EQ = 7;
export const BINARY_NE = 8;
export const BINARY_LT = 9;
export const BINARY_LE = 10;
export const BINARY_GT = 11;
export const BINARY_GE = 12;

export const REDUCE_SUM = 0;
export const REDUCE_MAX = 1;
export const REDUCE_MIN = 2;

/** copy: the bits as they are, float32 to int32 (toward zero), or int32 to float32. */
export const COPY_BITS = 0;
export const COPY_F32_TO_I32 = 1;
export const COPY_I32_TO_F32 = 2;
