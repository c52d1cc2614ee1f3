import type { StoredDType } from './dtypes.js';

/**
 * One ggml tensor type as GGUF files number it: `blockSize` elements are stored in `blockBytes`
 * bytes (1 and the element size for plain types, a quantization block otherwise). `stored` is the
 * safetensors-style dtype of a plain type, which the element decoders of dtypes.ts read.
 */
export interface GgmlType {
  readonly id: number;
  readonly name: string;
  readonly blockSize: number;
  readonly blockBytes: number;
  readonly stored?: StoredDType;
}

// ggml.h's enum ggml_type with the block sizes of ggml.c's type_traits (as ggml_blck_size and
// ggml_type_size report them in the libggml that node-llama-cpp 3.21.1 ships). Ids 4, 5, 31..33
// and 36..38 were removed from GGUF and are refused.
const TYPES: readonly GgmlType[] = [
  { id: 0, name: 'F32', blockSize: 1, blockBytes: 4, stored: 'F32' },
  { id: 1, name: 'F16', blockSize: 1, blockBytes: 2, stored: 'F16' },
  { id: 2, name: 'Q4_0', blockSize: 32, blockBytes: 18 },
  { id: 3, name: 'Q4_1', blockSize: 32, blockBytes: 20 },
  { id: 6, name: 'Q5_0', blockSize: 32, blockBytes: 22 },
  { id: 7, name: 'Q5_1', blockSize: 32, blockBytes: 24 },
  { id: 8, name: 'Q8_0', blockSize: 32, blockBytes: 34 },
  { id: 9, name: 'Q8_1', blockSize: 32, blockBytes: 36 },
  { id: 10, name: 'Q2_K', blockSize: 256, blockBytes: 84 },
  { id: 11, name: 'Q3_K', blockSize: 256, blockBytes: 110 },
  { id: 12, name: 'Q4_K', blockSize: 256, blockBytes: 144 },
  { id: 13, name: 'Q5_K', blockSize: 256, blockBytes: 176 },
  { id: 14, name: 'Q6_K', blockSize: 256, blockBytes: 210 },
  { id: 15, name: 'Q8_K', blockSize: 256, blockBytes: 292 },
  { id: 16, name: 'IQ2_XXS', blockSize: 256, blockBytes: 66 },
  { id: 17, name: 'IQ2_XS', blockSize: 256, blockBytes: 74 },
  { id: 18, name: 'IQ3_XXS', blockSize: 256, blockBytes: 98 },
  { id: 19, name: 'IQ1_S', blockSize: 256, blockBytes: 50 },
  { id: 20, name: 'IQ4_NL', blockSize: 32, blockBytes: 18 },
  { id: 21, name: 'IQ3_S', blockSize: 256, blockBytes: 110 },
  { id: 22, name: 'IQ2_S', blockSize: 256, blockBytes: 82 },
  { id: 23, name: 'IQ4_XS', blockSize: 256, blockBytes: 136 },
  { id: 24, name: 'I8', blockSize: 1, blockBytes: 1, stored: 'I8' },
  { id: 25, name: 'I16', blockSize: 1, blockBytes: 2, stored: 'I16' },
  { id: 26, name: 'I32', blockSize: 1, blockBytes: 4, stored: 'I32' },
  { id: 27, name: 'I64', blockSize: 1, blockBytes: 8, stored: 'I64' },
  { id: 28, name: 'F64', blockSize: 1, blockBytes: 8, stored: 'F64' },
  { id: 29, name: 'IQ1_M', blockSize: 256, blockBytes: 56 },
  { id: 30, name: 'BF16', blockSize: 1, blockBytes: 2, stored: 'BF16' },
  { id: 34, name: 'TQ1_0', blockSize: 256, blockBytes: 54 },
  { id: 35, name: 'TQ2_0', blockSize: 256, blockBytes: 66 },
  { id: 39, name: 'MXFP4', blockSize: 32, blockBytes: 17 },
  { id: 40, name: 'NVFP4', blockSize: 64, blockBytes: 36 },
  { id: 41, name: 'Q1_0', blockSize: 128, blockBytes: 18 },
  { id: 42, name: 'Q2_0', blockSize: 64, blockBytes: 18 },
];

const BY_ID: ReadonlyMap<number, GgmlType> = new Map(TYPES.map((t) => [t.id, t]));
const BY_NAME: ReadonlyMap<string, GgmlType> = new Map(TYPES.map((t) => [t.name, t]));

/** The type with this id, or undefined for an unknown or removed one. */
export function ggmlTypeById(id: number): GgmlType | undefined {
  return BY_ID.get(id);
}

/** The type named so (`F32`, `Q8_0`, ...). */
export function ggmlType(name: string): GgmlType | undefined {
  return BY_NAME.get(name);
}
