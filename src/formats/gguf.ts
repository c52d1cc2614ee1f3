import { MambaError } from '../util/errors.js';
import { readExactly, type ByteSink, type ByteSource } from './byte-source.js';
import { assertLittleEndianHost, checkTensorSize, decodeElements, isShape, numelOf, type ReadArray } from './dtypes.js';
import { ggmlType, ggmlTypeById, type GgmlType } from './ggml-types.js';
import { checkLimit } from './limits.js';

// GGUF (llama.cpp's model file), version 3 as ggml/src/gguf.cpp reads and writes it: the magic
// "GGUF", the version, tensor and key/value counts, the key/values, the tensor infos, then the
// tensor data from the next multiple of the alignment, each tensor padded to that multiple.
// Everything is little-endian; counts and lengths are uint64.

const MAGIC = 0x46554747; // "GGUF" read as a little-endian uint32
const VERSION = 3;
/** gguf.cpp's GGUF_DEFAULT_ALIGNMENT, used when `general.alignment` is absent. */
export const GGUF_DEFAULT_ALIGNMENT = 32;
/** ggml's GGML_MAX_NAME: a tensor name is shorter than this many bytes. */
const MAX_NAME_BYTES = 64;
/** ggml's GGML_MAX_DIMS. */
const MAX_DIMS = 4;

/** GGUF's value types, at the index that is their id in the file. */
const VALUE_TYPES = [
  'uint8',
  'int8',
  'uint16',
  'int16',
  'uint32',
  'int32',
  'float32',
  'bool',
  'string',
  'array',
  'uint64',
  'int64',
  'float64',
] as const;

export type GgufNumberType = 'uint8' | 'int8' | 'uint16' | 'int16' | 'uint32' | 'int32' | 'float32' | 'float64';
export type GgufBigIntType = 'uint64' | 'int64';
/** The types of a metadata value other than an array, which holds items of one of these. */
export type GgufScalarType = GgufNumberType | GgufBigIntType | 'bool' | 'string';

/** One metadata value with its GGUF type, so that a value read can be written back unchanged. */
export type GgufValue =
  | { readonly type: GgufNumberType; readonly value: number }
  | { readonly type: GgufBigIntType; readonly value: bigint }
  | { readonly type: 'bool'; readonly value: boolean }
  | { readonly type: 'string'; readonly value: string }
  | { readonly type: 'array'; readonly itemType: GgufNumberType; readonly value: readonly number[] }
  | { readonly type: 'array'; readonly itemType: GgufBigIntType; readonly value: readonly bigint[] }
  | { readonly type: 'array'; readonly itemType: 'bool'; readonly value: readonly boolean[] }
  | { readonly type: 'array'; readonly itemType: 'string'; readonly value: readonly string[] };

type Scalar = number | bigint | boolean | string;

const SCALAR_BYTES: Readonly<Record<GgufScalarType, number>> = {
  uint8: 1,
  int8: 1,
  bool: 1,
  uint16: 2,
  int16: 2,
  uint32: 4,
  int32: 4,
  float32: 4,
  uint64: 8,
  int64: 8,
  float64: 8,
  string: 8, // its uint64 length; the bytes follow
};

/** Integer ranges of the number types; floats are any number. */
const INTEGER_RANGES: Partial<Record<GgufNumberType, readonly [number, number]>> = {
  uint8: [0, 2 ** 8 - 1],
  int8: [-(2 ** 7), 2 ** 7 - 1],
  uint16: [0, 2 ** 16 - 1],
  int16: [-(2 ** 15), 2 ** 15 - 1],
  uint32: [0, 2 ** 32 - 1],
  int32: [-(2 ** 31), 2 ** 31 - 1],
};

const utf8 = new TextEncoder();
const utf8Strict = new TextDecoder('utf-8', { fatal: true });

// ---------------------------------------------------------------------------------------------
// Writing

/** One tensor to write as F32. `shape` is row-major (outermost first), as elsewhere in mamba-ts; the file lists it reversed. */
export interface GgufTensorInput {
  readonly name: string;
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

/** A growing little-endian buffer for the header. */
class HeaderBytes {
  private bytes = new Uint8Array(1 << 16);
  private view = new DataView(this.bytes.buffer);
  length = 0;

  private room(n: number): DataView {
    if (this.length + n > this.bytes.length) {
      const grown = new Uint8Array(Math.max(this.bytes.length * 2, this.length + n));
      grown.set(this.bytes.subarray(0, this.length));
      this.bytes = grown;
      this.view = new DataView(grown.buffer);
    }
    return this.view;
  }

  u32(v: number): void {
    this.room(4).setUint32(this.length, v, true);
    this.length += 4;
  }

  u64(v: number | bigint): void {
    this.room(8).setBigUint64(this.length, BigInt(v), true);
    this.length += 8;
  }

  string(s: string): void {
    const encoded = utf8.encode(s);
    this.u64(encoded.byteLength);
    this.room(encoded.byteLength);
    this.bytes.set(encoded, this.length);
    this.length += encoded.byteLength;
  }

  scalar(type: GgufScalarType, v: Scalar): void {
    const at = this.length;
    if (type === 'string') return this.string(v as string);
    const view = this.room(SCALAR_BYTES[type]);
    switch (type) {
      case 'uint8':
        view.setUint8(at, v as number);
        break;
      case 'int8':
        view.setInt8(at, v as number);
        break;
      case 'bool':
        view.setUint8(at, v ? 1 : 0);
        break;
      case 'uint16':
        view.setUint16(at, v as number, true);
        break;
      case 'int16':
        view.setInt16(at, v as number, true);
        break;
      case 'uint32':
        view.setUint32(at, v as number, true);
        break;
      case 'int32':
        view.setInt32(at, v as number, true);
        break;
      case 'float32':
        view.setFloat32(at, v as number, true);
        break;
      case 'float64':
        view.setFloat64(at, v as number, true);
        break;
      case 'uint64':
        view.setBigUint64(at, v as bigint, true);
        break;
      case 'int64':
        view.setBigInt64(at, v as bigint, true);
        break;
    }
    this.length += SCALAR_BYTES[type];
  }

  /** Zeros up to the next multiple of `alignment`. */
  pad(alignment: number): void {
    const padding = paddingAfter(this.length, alignment);
    this.room(padding);
    this.bytes.fill(0, this.length, this.length + padding);
    this.length += padding;
  }

  result(): Uint8Array {
    return this.bytes.subarray(0, this.length);
  }
}

/** Bytes from `offset` to the next multiple of `alignment`. */
function paddingAfter(offset: number, alignment: number): number {
  return (alignment - (offset % alignment)) % alignment;
}

/** Refuses a value its type cannot hold, naming the key. */
function checkScalar(type: GgufScalarType, v: unknown, what: string): void {
  const bad = (expected: string) =>
    new MambaError(`${what}: ${JSON.stringify(String(v))} is not ${expected}, which a GGUF ${type} holds`);
  if (type === 'string') {
    if (typeof v !== 'string') throw bad('a string');
  } else if (type === 'bool') {
    if (typeof v !== 'boolean') throw bad('a boolean');
  } else if (type === 'uint64' || type === 'int64') {
    const [low, high] = type === 'uint64' ? [0n, 2n ** 64n - 1n] : [-(2n ** 63n), 2n ** 63n - 1n];
    if (typeof v !== 'bigint' || v < low || v > high) throw bad(`a bigint in ${low}..${high}`);
  } else if (typeof v !== 'number') {
    throw bad('a number');
  } else {
    const range = INTEGER_RANGES[type];
    if (range && !(Number.isInteger(v) && v >= range[0] && v <= range[1]))
      throw bad(`an integer in ${range[0]}..${range[1]}`);
  }
}

function isScalarType(type: unknown): type is GgufScalarType {
  return typeof type === 'string' && type !== 'array' && (VALUE_TYPES as readonly string[]).includes(type);
}

/** The alignment `general.alignment` asks for, checked as gguf.cpp does; the default when absent. */
function alignmentOf(metadata: ReadonlyMap<string, GgufValue>, what: string): number {
  const entry = metadata.get('general.alignment');
  if (entry === undefined) return GGUF_DEFAULT_ALIGNMENT;
  if (entry.type !== 'uint32')
    throw new MambaError(`${what}: general.alignment must be a uint32, but it is a ${entry.type}`);
  const alignment = entry.value;
  if (!(alignment > 0 && (alignment & (alignment - 1)) === 0))
    throw new MambaError(`${what}: general.alignment ${alignment} is not a power of 2`);
  return alignment;
}

/**
 * Writes a GGUF v3 file into `sink`: the metadata in the map's order, then the tensors as F32 in
 * the order given, at offsets padded to `general.alignment` (32 when the metadata sets none).
 * The checks are those gguf.cpp applies when it reads, so that llama.cpp opens what this writes.
 */
export async function writeGguf(
  sink: ByteSink,
  metadata: ReadonlyMap<string, GgufValue>,
  tensors: readonly GgufTensorInput[],
): Promise<void> {
  assertLittleEndianHost();
  const alignment = alignmentOf(metadata, sink.name);
  const header = new HeaderBytes();
  header.u32(MAGIC);
  header.u32(VERSION);
  header.u64(tensors.length);
  header.u64(metadata.size);
  for (const [key, entry] of metadata) {
    const what = `${sink.name}: metadata "${key}"`;
    if (key === '') throw new MambaError(`${sink.name}: a metadata key is empty; GGUF keys are non-empty strings`);
    header.string(key);
    if (entry.type === 'array') {
      if (!isScalarType(entry.itemType))
        throw new MambaError(`${what}: array item type ${JSON.stringify(entry.itemType)} is not a GGUF scalar type`);
      header.u32(VALUE_TYPES.indexOf('array'));
      header.u32(VALUE_TYPES.indexOf(entry.itemType));
      header.u64(entry.value.length);
      for (const item of entry.value) {
        checkScalar(entry.itemType, item, what);
        header.scalar(entry.itemType, item);
      }
    } else {
      if (!isScalarType(entry.type))
        throw new MambaError(`${what}: ${JSON.stringify(entry.type)} is not a GGUF value type`);
      checkScalar(entry.type, entry.value, what);
      header.u32(VALUE_TYPES.indexOf(entry.type));
      header.scalar(entry.type, entry.value);
    }
  }
  const f32 = ggmlType('F32')!;
  const seen = new Set<string>();
  let offset = 0;
  for (const tensor of tensors) {
    const what = `${sink.name}: tensor "${tensor.name}"`;
    const nameBytes = utf8.encode(tensor.name).byteLength;
    if (nameBytes === 0 || nameBytes >= MAX_NAME_BYTES)
      throw new MambaError(
        `${what}: a GGUF tensor name is 1 to ${MAX_NAME_BYTES - 1} bytes of UTF-8, this is ${nameBytes}`,
      );
    if (seen.has(tensor.name)) throw new MambaError(`${what} is given twice`);
    seen.add(tensor.name);
    if (!isShape(tensor.shape) || tensor.shape.length < 1 || tensor.shape.length > MAX_DIMS)
      throw new MambaError(
        `${what}: shape ${JSON.stringify(tensor.shape)} is not a list of 1 to ${MAX_DIMS} non-negative integers`,
      );
    if (numelOf(tensor.shape) !== tensor.data.length)
      throw new MambaError(
        `${what}: shape [${tensor.shape.join(', ')}] holds ${numelOf(tensor.shape)} elements but the data has ${tensor.data.length}`,
      );
    header.string(tensor.name);
    header.u32(tensor.shape.length);
    for (const d of [...tensor.shape].reverse()) header.u64(d);
    header.u32(f32.id);
    header.u64(offset);
    offset += tensor.data.byteLength + paddingAfter(tensor.data.byteLength, alignment);
  }
  header.pad(alignment);
  await sink.write(header.result());
  const zeros = new Uint8Array(alignment);
  for (const { data } of tensors) {
    await sink.write(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    const padding = paddingAfter(data.byteLength, alignment);
    if (padding > 0) await sink.write(zeros.subarray(0, padding));
  }
}

// ---------------------------------------------------------------------------------------------
// Reading

/** One tensor of a GGUF file. Nothing is read from the source until `read()` is called. */
export interface GgufTensorInfo {
  readonly name: string;
  readonly type: GgmlType;
  /** The dimensions as the file lists them: innermost (contiguous) first. */
  readonly dims: readonly number[];
  /** The same reversed: row-major, outermost first, as TensorEntry.shape. */
  readonly shape: readonly number[];
  /** Where the data starts in the source. */
  readonly offset: number;
  readonly bytes: number;
  /** The data as TensorEntry.read gives it; for the plain types (F32, F16, BF16, F64, I8..I64) only. */
  read(): Promise<ReadArray>;
}

/** What openGguf read: the header, the key/values and the tensor infos of a GGUF file. */
export interface GgufFile {
  readonly name: string;
  readonly version: number;
  readonly alignment: number;
  /** The key/values in file order. */
  readonly metadata: ReadonlyMap<string, GgufValue>;
  /** The tensor infos in file order. */
  readonly tensors: ReadonlyMap<string, GgufTensorInfo>;
}

/** Bytes of the header read from the source at a time. */
const WINDOW = 1 << 20;
/** The fewest bytes a key/value takes: a length, a 1-byte key, a type, a 1-byte value. */
const MIN_KV_BYTES = 8 + 1 + 4 + 1;
/** The fewest bytes a tensor info takes: a length, a 1-byte name, n_dims 0, a type, an offset. */
const MIN_TENSOR_INFO_BYTES = 8 + 1 + 4 + 4 + 8;

/** Reads the header front to back through a window of the source, checking each length against the bytes left. */
class HeaderReader {
  private window: Uint8Array = new Uint8Array(0);
  private view = new DataView(this.window.buffer);
  private windowStart = 0;
  pos = 0;

  constructor(
    private readonly source: ByteSource,
    readonly bad: (message: string) => MambaError,
  ) {}

  get name(): string {
    return this.source.name;
  }

  get remaining(): number {
    return this.source.size - this.pos;
  }

  private async need(n: number, what: string): Promise<number> {
    if (n > this.remaining)
      throw this.bad(
        `${what} needs bytes ${this.pos}..${this.pos + n}, but the file ends at byte ${this.source.size}: it is truncated or not a GGUF file`,
      );
    if (this.pos + n > this.windowStart + this.window.byteLength) {
      this.windowStart = this.pos;
      this.window = await readExactly(
        this.source,
        this.pos,
        Math.min(Math.max(n, WINDOW), this.remaining),
        this.source.name,
      );
      this.view = new DataView(this.window.buffer, this.window.byteOffset, this.window.byteLength);
    }
    const at = this.pos - this.windowStart;
    this.pos += n;
    return at;
  }

  async u32(what: string): Promise<number> {
    const at = await this.need(4, what); // before reading this.view, which need() may replace
    return this.view.getUint32(at, true);
  }

  /** A uint64 that must be a safe integer (every count, length, dimension and offset). */
  async count(what: string): Promise<number> {
    const at = await this.need(8, what);
    const v = this.view.getBigUint64(at, true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw this.bad(`${what} is ${v}, past any file this reader can hold`);
    return Number(v);
  }

  async string(what: string): Promise<string> {
    const length = await this.count(`${what}'s length`);
    if (length > this.remaining)
      throw this.bad(
        `${what} is ${length} bytes long, but only ${this.remaining} bytes follow: the file is truncated or damaged`,
      );
    checkLimit('maxBytes', length, `${this.source.name}: ${what}`);
    const at = await this.need(length, what);
    try {
      return utf8Strict.decode(this.window.subarray(at, at + length));
    } catch {
      throw this.bad(`${what} is not UTF-8: the file is damaged`);
    }
  }

  async scalar(type: GgufScalarType, what: string): Promise<Scalar> {
    if (type === 'string') return this.string(what);
    const at = await this.need(SCALAR_BYTES[type], what);
    const view = this.view;
    switch (type) {
      case 'uint8':
        return view.getUint8(at);
      case 'int8':
        return view.getInt8(at);
      case 'bool': {
        const b = view.getUint8(at);
        if (b > 1) throw this.bad(`${what} is a bool of value ${b}; GGUF bools are 0 or 1`);
        return b === 1;
      }
      case 'uint16':
        return view.getUint16(at, true);
      case 'int16':
        return view.getInt16(at, true);
      case 'uint32':
        return view.getUint32(at, true);
      case 'int32':
        return view.getInt32(at, true);
      case 'float32':
        return view.getFloat32(at, true);
      case 'float64':
        return view.getFloat64(at, true);
      case 'uint64':
        return view.getBigUint64(at, true);
      case 'int64':
        return view.getBigInt64(at, true);
    }
  }

  async valueType(what: string): Promise<GgufScalarType | 'array'> {
    const id = await this.u32(what);
    const type = VALUE_TYPES[id];
    if (type === undefined) throw this.bad(`${what} is ${id}, not a GGUF value type (0..${VALUE_TYPES.length - 1})`);
    return type;
  }
}

async function readValue(reader: HeaderReader, key: string): Promise<GgufValue> {
  const what = `metadata "${key}"`;
  const type = await reader.valueType(`${what}'s type`);
  if (type !== 'array') return { type, value: await reader.scalar(type, what) } as GgufValue;
  const itemType = await reader.valueType(`${what}'s item type`);
  if (itemType === 'array') throw reader.bad(`${what} is an array of arrays, which GGUF readers do not take`);
  const count = await reader.count(`${what}'s item count`);
  const minItemBytes = SCALAR_BYTES[itemType];
  if (count * minItemBytes > reader.remaining)
    throw reader.bad(
      `${what} claims ${count} items of ${itemType}, more than the ${reader.remaining} bytes left can hold: the file is truncated or damaged`,
    );
  checkLimit('maxElements', count, `${reader.name}: ${what}: items`);
  const items: Scalar[] = new Array<Scalar>(count);
  for (let i = 0; i < count; i++) items[i] = await reader.scalar(itemType, `${what} item ${i}`);
  return { type: 'array', itemType, value: items } as GgufValue;
}

/**
 * Opens a GGUF file (version 2 or 3): reads and checks its header, key/values and tensor infos,
 * not the tensor data. The checks are gguf.cpp's (magic and version, unique non-empty keys, a
 * power-of-2 `general.alignment` of type uint32, names under 64 bytes, at most 4 dimensions, rows
 * whole blocks of the type, each tensor's data right after the last one's, padded) plus ours:
 * every count and length is checked against the bytes left before anything is allocated, and
 * tensors against the read limits.
 */
export async function openGguf(source: ByteSource): Promise<GgufFile> {
  assertLittleEndianHost();
  const { name } = source;
  const bad = (message: string): MambaError => new MambaError(`${name}: ${message}`);
  if (source.size < 24)
    throw bad(`${source.size} bytes is too short for a GGUF file, whose fixed header alone is 24 bytes`);
  const reader = new HeaderReader(source, bad);
  const magic = await reader.u32('the magic');
  if (magic !== MAGIC) throw bad('it does not start with "GGUF": not a GGUF file');
  const version = await reader.u32('the version');
  if (version !== 2 && version !== 3)
    throw bad(
      version === 1
        ? 'GGUF version 1 is no longer read by llama.cpp or mamba-ts; convert the model again'
        : `GGUF version ${version} is not one this reader knows (2 and 3)`,
    );
  const tensorCount = await reader.count('the tensor count');
  const kvCount = await reader.count('the key/value count');
  if (kvCount * MIN_KV_BYTES + tensorCount * MIN_TENSOR_INFO_BYTES > reader.remaining)
    throw bad(
      `it claims ${kvCount} key/values and ${tensorCount} tensors, more than the ${reader.remaining} bytes left can hold: the file is truncated or damaged`,
    );

  const metadata = new Map<string, GgufValue>();
  for (let i = 0; i < kvCount; i++) {
    const key = await reader.string(`key ${i}`);
    if (key === '') throw bad(`key ${i} is empty`);
    if (metadata.has(key)) throw bad(`the key "${key}" is given twice`);
    metadata.set(key, await readValue(reader, key));
  }
  const alignment = alignmentOf(metadata, name);

  const raw: { name: string; type: GgmlType; dims: number[]; offset: number; bytes: number }[] = [];
  const names = new Set<string>();
  for (let i = 0; i < tensorCount; i++) {
    const tensorName = await reader.string(`tensor ${i}'s name`);
    const what = `tensor "${tensorName}"`;
    const nameBytes = utf8.encode(tensorName).byteLength;
    if (nameBytes >= MAX_NAME_BYTES)
      throw bad(`${what}: its name is ${nameBytes} bytes, over ggml's ${MAX_NAME_BYTES - 1}`);
    if (names.has(tensorName)) throw bad(`${what} is listed twice`);
    names.add(tensorName);
    const rank = await reader.u32(`${what}'s dimension count`);
    if (rank > MAX_DIMS) throw bad(`${what} has ${rank} dimensions; ggml tensors have at most ${MAX_DIMS}`);
    const dims: number[] = [];
    for (let d = 0; d < rank; d++) dims.push(await reader.count(`${what}'s dimension ${d}`));
    const typeId = await reader.u32(`${what}'s type`);
    const type = ggmlTypeById(typeId);
    if (!type) throw bad(`${what} has ggml type ${typeId}, which is unknown or was removed from GGUF`);
    const numel = numelOf(dims);
    if ((dims[0] ?? 1) % type.blockSize !== 0)
      throw bad(`${what}: its rows of ${dims[0]} elements are not whole ${type.name} blocks of ${type.blockSize}`);
    const bytes = (numel / type.blockSize) * type.blockBytes;
    checkTensorSize(numel, bytes, `${name}: ${what}`);
    raw.push({ name: tensorName, type, dims, offset: await reader.count(`${what}'s offset`), bytes });
  }

  const dataStart = reader.pos + paddingAfter(reader.pos, alignment);
  const tensors = new Map<string, GgufTensorInfo>();
  let expected = 0;
  for (const info of raw) {
    const what = `tensor "${info.name}"`;
    if (info.offset !== expected)
      throw bad(
        `${what}: its data offset is ${info.offset}, but the tensors before it end at ${expected}: each tensor's data follows the last one's, padded to ${alignment} bytes`,
      );
    const offset = dataStart + info.offset;
    if (offset + info.bytes > source.size)
      throw bad(
        `${what}: its data needs bytes ${offset}..${offset + info.bytes}, but the file ends at byte ${source.size}: it is truncated`,
      );
    expected += info.bytes + paddingAfter(info.bytes, alignment);
    const { type } = info;
    tensors.set(info.name, {
      name: info.name,
      type,
      dims: info.dims,
      shape: [...info.dims].reverse(),
      offset,
      bytes: info.bytes,
      read: async () => {
        const where = `${name}: ${what}`;
        if (!type.stored)
          throw new MambaError(`${where}: reading ${type.name} data is not supported; the plain types are read`);
        return decodeElements(await readExactly(source, offset, info.bytes, where), type.stored, where);
      },
    });
  }
  return { name, version, alignment, metadata, tensors };
}
