import { MambaError } from '../util/errors.js';
import { checkLimit } from './limits.js';

/**
 * Element types as checkpoint files name them: safetensors' codes, which torch's storage types
 * (FloatStorage, HalfStorage, ...) map onto one for one.
 */
export type StoredDType =
  | 'BOOL'
  | 'U8'
  | 'I8'
  | 'F8_E5M2'
  | 'F8_E4M3'
  | 'I16'
  | 'U16'
  | 'F16'
  | 'BF16'
  | 'I32'
  | 'U32'
  | 'F32'
  | 'F64'
  | 'I64'
  | 'U64';

/** What `read()` returns: every float dtype as Float32Array, every readable integer dtype as Int32Array. */
export type ReadArray = Float32Array | Int32Array;

/** One tensor of a checkpoint. Nothing is read from its source until `read()` is called. */
export interface TensorEntry {
  readonly name: string;
  /** The dtype stored in the file, before any conversion. */
  readonly dtype: StoredDType;
  readonly shape: readonly number[];
  /** The name of the source the data lives in (a file's path), for messages and for telling shards apart. */
  readonly file: string;
  /**
   * Reads the data as a new contiguous row-major array. F32, F16, BF16 and F64 become Float32Array
   * (F64 rounded to nearest); BOOL, U8, I8, I16, U16, I32 and I64 become Int32Array (I64 only when
   * every value fits in int32, otherwise a MambaError). U32, U64 and FP8 are refused.
   */
  read(): Promise<ReadArray>;
}

// Safetensors' Dtype enum in its own order, which is increasing alignment: its writer sorts tensors
// by this rank (largest first) and then by name, and so does ours, so that the files are identical.
const DTYPE_SIZES: ReadonlyMap<StoredDType, number> = new Map<StoredDType, number>([
  ['BOOL', 1],
  ['U8', 1],
  ['I8', 1],
  ['F8_E5M2', 1],
  ['F8_E4M3', 1],
  ['I16', 2],
  ['U16', 2],
  ['F16', 2],
  ['BF16', 2],
  ['I32', 4],
  ['U32', 4],
  ['F32', 4],
  ['F64', 8],
  ['I64', 8],
  ['U64', 8],
]);
const DTYPE_RANK = new Map([...DTYPE_SIZES.keys()].map((dtype, rank) => [dtype, rank]));

export function isStoredDType(value: string): value is StoredDType {
  return DTYPE_SIZES.has(value as StoredDType);
}

export function dtypeSize(dtype: StoredDType): number {
  return DTYPE_SIZES.get(dtype)!;
}

export function dtypeRank(dtype: StoredDType): number {
  return DTYPE_RANK.get(dtype)!;
}

export function isFloatDType(dtype: StoredDType): boolean {
  return dtype === 'F32' || dtype === 'F16' || dtype === 'BF16' || dtype === 'F64';
}

/** Number of elements of a shape; the shape must already be validated as non-negative integers. */
export function numelOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/**
 * Checks, before anything is allocated, what reading a tensor of `numel` elements would take: its
 * elements against maxElements, and against maxBytes the larger of the `storedBytes` read and the
 * array `read()` returns (4 bytes an element). `what` names the file and tensor.
 */
export function checkTensorSize(numel: number, storedBytes: number, what: string): void {
  checkLimit('maxElements', numel, `${what}: elements`);
  checkLimit('maxBytes', Math.max(storedBytes, numel * 4), `${what}: bytes to read`);
}

export function isShape(value: unknown): value is number[] {
  return Array.isArray(value) && value.every((d) => Number.isSafeInteger(d) && d >= 0);
}

const LITTLE_ENDIAN_HOST = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

/** Checkpoints are little-endian and so are the typed arrays we view their bytes through. */
export function assertLittleEndianHost(): void {
  if (!LITTLE_ENDIAN_HOST) throw new MambaError('mamba-ts reads and writes checkpoints only on little-endian machines');
}

let halfTable: Float32Array | undefined;

/** Every float16 bit pattern decoded once: a lookup is faster than decoding per element. */
function halfToFloatTable(): Float32Array {
  if (halfTable) return halfTable;
  halfTable = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exponent = (h >> 10) & 0x1f;
    const mantissa = h & 0x3ff;
    if (exponent === 0) halfTable[h] = sign * mantissa * 2 ** -24;
    else if (exponent === 0x1f) halfTable[h] = mantissa ? NaN : sign * Infinity;
    else halfTable[h] = sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
  }
  return halfTable;
}

/** `bytes`, copied only when its offset does not suit elements of `size` bytes. */
function aligned(bytes: Uint8Array, size: number): Uint8Array {
  return bytes.byteOffset % size === 0 ? bytes : bytes.slice();
}

/**
 * Decodes little-endian elements to the array `read()` returns. `what` names the file and tensor
 * for errors. The result may share memory with `bytes` (F32, I32), which a ByteSource hands over fresh.
 */
export function decodeElements(bytes: Uint8Array, dtype: StoredDType, what: string): ReadArray {
  const size = dtypeSize(dtype);
  const n = bytes.byteLength / size;
  const b = aligned(bytes, size);
  switch (dtype) {
    case 'F32':
      return new Float32Array(b.buffer, b.byteOffset, n);
    case 'F16': {
      const table = halfToFloatTable();
      const src = new Uint16Array(b.buffer, b.byteOffset, n);
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = table[src[i]];
      return out;
    }
    case 'BF16': {
      const src = new Uint16Array(b.buffer, b.byteOffset, n);
      const out = new Float32Array(n);
      const bits = new Uint32Array(out.buffer);
      for (let i = 0; i < n; i++) bits[i] = src[i] << 16;
      return out;
    }
    case 'F64':
      return Float32Array.from(new Float64Array(b.buffer, b.byteOffset, n));
    case 'I32':
      return new Int32Array(b.buffer, b.byteOffset, n);
    case 'I64': {
      const words = new Int32Array(b.buffer, b.byteOffset, 2 * n);
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        const low = words[2 * i];
        // An int64 fits in int32 exactly when its high word is the sign extension of its low word.
        if (words[2 * i + 1] !== low >> 31) {
          const value = new BigInt64Array(b.buffer, b.byteOffset + 8 * i, 1)[0];
          throw new MambaError(
            `${what}: I64 element ${i} is ${value}, outside the int32 range mamba-ts reads integers into`,
          );
        }
        out[i] = low;
      }
      return out;
    }
    case 'BOOL':
    case 'U8':
      return Int32Array.from(b);
    case 'I8':
      return Int32Array.from(new Int8Array(b.buffer, b.byteOffset, n));
    case 'I16':
      return Int32Array.from(new Int16Array(b.buffer, b.byteOffset, n));
    case 'U16':
      return Int32Array.from(new Uint16Array(b.buffer, b.byteOffset, n));
    default:
      throw new MambaError(
        `${what}: mamba-ts cannot read dtype ${dtype} (it reads F32, F16, BF16, F64 and the integer types up to 32 bits, and I64 within the int32 range); convert the tensor to one of them`,
      );
  }
}

/**
 * float32 bits to float16 bits, rounding to nearest with ties to even as torch does; overflow
 * gives infinity, NaN gives a quiet NaN of the same sign.
 */
export function floatBitsToHalf(bits: number): number {
  const sign = (bits >>> 16) & 0x8000;
  const exponent = (bits >>> 23) & 0xff;
  const mantissa = bits & 0x7fffff;
  if (exponent === 0xff) return sign | (mantissa ? 0x7e00 : 0x7c00);
  const e = exponent - 112; // rebias from 127 to 15
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    // Subnormal in float16 (or zero): shift the full significand down by the missing exponent.
    if (e < -10) return sign;
    const significand = mantissa | 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    const rest = significand & ((1 << shift) - 1);
    let h = significand >>> shift;
    if (rest > half || (rest === half && h & 1)) h++;
    return sign | h;
  }
  let h = (e << 10) | (mantissa >>> 13);
  const rest = mantissa & 0x1fff;
  // A carry out of the mantissa correctly bumps the exponent, up to infinity.
  if (rest > 0x1000 || (rest === 0x1000 && h & 1)) h++;
  return sign | h;
}

/** float32 bits to bfloat16 bits, ties to even as torch does; NaN stays a quiet NaN of the same sign. */
export function floatBitsToBfloat16(bits: number): number {
  if ((bits & 0x7fffffff) > 0x7f800000) return ((bits >>> 16) | 0x40) & 0xffff;
  return ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16) & 0xffff;
}

/** Dtypes float data can be written as. */
export type FloatWriteDType = 'F32' | 'F16' | 'BF16';

/** Dtypes the writer produces: integer data is always written as I32. */
export type WriteDType = FloatWriteDType | 'I32';

/** Encodes `count` elements of `data` from `start` as little-endian `dtype` bytes. */
export function encodeElements(
  data: Float32Array | Int32Array,
  dtype: WriteDType,
  start: number,
  count: number,
): Uint8Array {
  if (dtype === 'F32' || dtype === 'I32') return new Uint8Array(data.buffer, data.byteOffset + 4 * start, 4 * count);
  const bits = new Uint32Array(data.buffer, data.byteOffset + 4 * start, count);
  const out = new Uint16Array(count);
  const convert = dtype === 'F16' ? floatBitsToHalf : floatBitsToBfloat16;
  for (let i = 0; i < count; i++) out[i] = convert(bits[i]);
  return new Uint8Array(out.buffer);
}
