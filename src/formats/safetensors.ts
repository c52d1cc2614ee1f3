import { MambaError } from '../util/errors.js';
import {
  assertLittleEndianHost,
  checkTensorSize,
  decodeElements,
  dtypeRank,
  dtypeSize,
  encodeElements,
  isShape,
  isStoredDType,
  numelOf,
  type StoredDType,
  type FloatWriteDType,
  type TensorEntry,
  type WriteDType,
} from './dtypes.js';
import { readExactly, type ByteSink, type ByteSource } from './byte-source.js';
import { firstNonIntegerNumber, parseJson } from './json.js';

/** The reference implementation refuses larger headers; so do we, before allocating one. */
const MAX_HEADER_BYTES = 100_000_000;

export interface SafetensorsFile {
  /** The source's name. */
  readonly name: string;
  /** The header's `__metadata__` (string to string), if it has one. */
  readonly metadata: Readonly<Record<string, string>> | undefined;
  /** In the order of the data in the file. */
  readonly tensors: Map<string, TensorEntry>;
}

interface RawInfo {
  name: string;
  dtype: StoredDType;
  shape: number[];
  begin: number;
  end: number;
}

/**
 * Opens a .safetensors file: reads and checks its header, not its data. The checks are the
 * reference implementation's (the data offsets must tile the data section exactly, each
 * tensor's byte count must match its shape and dtype), so a file that passes them can be read
 * tensor by tensor with no further surprises short of the source changing.
 */
export async function openSafetensors(source: ByteSource): Promise<SafetensorsFile> {
  assertLittleEndianHost();
  const { name, size } = source;
  const bad = (message: string): MambaError => new MambaError(`${name}: ${message}`);
  if (size < 8)
    throw bad(`${size} bytes is too short for a safetensors file, which starts with an 8-byte header length`);
  const lengthBytes = await readExactly(source, 0, 8, name);
  const headerLength = Number(new DataView(lengthBytes.buffer, lengthBytes.byteOffset).getBigUint64(0, true));
  if (headerLength > MAX_HEADER_BYTES)
    throw bad(
      `header length ${headerLength} is over the 100 MB safetensors allows: not a safetensors file, or a damaged one`,
    );
  if (8 + headerLength > size)
    throw bad(
      `header length ${headerLength} runs past the end of the file (${size} bytes): not a safetensors file, or a truncated one`,
    );
  const header = await readExactly(source, 8, headerLength, name);
  let text: string;
  try {
    // The byte order mark is kept so that parseJson refuses it, as the reference reader does.
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(header);
  } catch {
    throw bad('the header is not UTF-8: not a safetensors file, or a damaged one');
  }
  const parsed = parseJson(text, `${name}: the header`);
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw bad('the header is not a JSON object: not a safetensors file, or a damaged one');
  }

  let metadata: Record<string, string> | undefined;
  const infos: RawInfo[] = [];
  for (const [name, value] of Object.entries(parsed)) {
    if (name === '__metadata__') {
      metadata = parseMetadata(value, bad);
      continue;
    }
    const info = value as { dtype?: unknown; shape?: unknown; data_offsets?: unknown } | null;
    if (typeof info !== 'object' || info === null) throw bad(`tensor "${name}": its header entry is not an object`);
    const { dtype, shape, data_offsets: offsets } = info;
    if (typeof dtype !== 'string' || !isStoredDType(dtype))
      throw bad(`tensor "${name}": unknown dtype ${JSON.stringify(dtype)}`);
    if (!isShape(shape))
      throw bad(`tensor "${name}": shape ${JSON.stringify(shape)} is not a list of non-negative integers`);
    if (!isShape(offsets) || offsets.length !== 2 || offsets[0] > offsets[1]) {
      throw bad(`tensor "${name}": data_offsets ${JSON.stringify(offsets)} is not a [begin, end] pair of byte offsets`);
    }
    const numel = numelOf(shape);
    checkTensorSize(numel, numel * dtypeSize(dtype), `${source.name}: tensor "${name}"`);
    const bytes = numel * dtypeSize(dtype);
    if (bytes !== offsets[1] - offsets[0]) {
      throw bad(
        `tensor "${name}": shape [${shape.join(', ')}] of ${dtype} needs ${bytes} bytes, but data_offsets [${offsets.join(', ')}] hold ${offsets[1] - offsets[0]}`,
      );
    }
    infos.push({ name, dtype, shape, begin: offsets[0], end: offsets[1] });
  }

  // JSON.parse reads 16.0 as 16, which the checks above then take for an integer;
  // the reference reader refuses it.
  const fraction = firstNonIntegerNumber(text);
  if (fraction !== undefined)
    throw bad(
      `the header holds the number ${fraction}, but shapes and data offsets are integers: the file is damaged or not written by a safetensors writer`,
    );

  infos.sort((a, b) => a.begin - b.begin || a.end - b.end);
  const dataStart = 8 + headerLength;
  const dataLength = size - dataStart;
  let covered = 0;
  let previous: RawInfo | undefined;
  for (const info of infos) {
    if (info.begin < covered)
      throw bad(
        `tensor "${info.name}": data_offsets [${info.begin}, ${info.end}] overlap those of tensor "${previous!.name}"`,
      );
    if (info.begin > covered) {
      throw bad(
        `tensor "${info.name}": data_offsets [${info.begin}, ${info.end}] leave bytes ${covered}..${info.begin} of the data section unused; the offsets must cover it exactly`,
      );
    }
    if (info.end > dataLength) {
      throw bad(
        `tensor "${info.name}": its data ends at byte ${info.end} of the data section, but the file holds only ${dataLength} bytes of data: the file is truncated or its offsets are wrong`,
      );
    }
    covered = info.end;
    previous = info;
  }
  if (covered !== dataLength)
    throw bad(
      `${dataLength - covered} bytes follow the last tensor's data; the data offsets must cover the data section exactly`,
    );

  const tensors = new Map<string, TensorEntry>();
  for (const info of infos) {
    const what = `${name}: tensor "${info.name}"`;
    tensors.set(info.name, {
      name: info.name,
      dtype: info.dtype,
      shape: info.shape,
      file: name,
      read: async () =>
        decodeElements(
          await readExactly(source, dataStart + info.begin, info.end - info.begin, what),
          info.dtype,
          what,
        ),
    });
  }
  return { name, metadata, tensors };
}

function parseMetadata(value: unknown, bad: (message: string) => MambaError): Record<string, string> {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw bad('__metadata__ is not a JSON object');
  for (const [key, v] of Object.entries(value)) {
    if (typeof v !== 'string')
      throw bad(`__metadata__.${key} is not a string (safetensors metadata maps strings to strings)`);
  }
  return value as Record<string, string>;
}

/** One tensor to write. Float data is written as F32 unless `dtype` (or the caller's default) asks for F16 or BF16. */
export interface SafetensorsInput {
  readonly name: string;
  readonly shape: readonly number[];
  readonly data: Float32Array | Int32Array;
  readonly dtype?: FloatWriteDType;
}

export interface PlannedTensor {
  input: SafetensorsInput;
  dtype: WriteDType;
  bytes: number;
}

/** Checks the inputs and settles each tensor's dtype and byte count; `name` (the destination) is for messages. */
export function planSafetensors(
  name: string,
  inputs: readonly SafetensorsInput[],
  floatDtype: FloatWriteDType = 'F32',
): PlannedTensor[] {
  const seen = new Set<string>();
  return inputs.map((input) => {
    const what = `${name}: tensor "${input.name}"`;
    if (input.name === '__metadata__') throw new MambaError(`${what}: that name is reserved for the header's metadata`);
    if (seen.has(input.name)) throw new MambaError(`${what} is given twice`);
    seen.add(input.name);
    if (!isShape(input.shape))
      throw new MambaError(`${what}: shape ${JSON.stringify(input.shape)} is not a list of non-negative integers`);
    if (numelOf(input.shape) !== input.data.length) {
      throw new MambaError(
        `${what}: shape [${input.shape.join(', ')}] holds ${numelOf(input.shape)} elements but the data has ${input.data.length}`,
      );
    }
    if (input.data instanceof Int32Array) {
      if (input.dtype) throw new MambaError(`${what}: Int32Array data is written as I32, not ${input.dtype}`);
      return { input, dtype: 'I32', bytes: input.data.length * 4 };
    }
    const dtype = input.dtype ?? floatDtype;
    if (dtype !== 'F32' && dtype !== 'F16' && dtype !== 'BF16')
      throw new MambaError(`${what}: cannot write dtype ${dtype}; use F32, F16 or BF16`);
    return { input, dtype, bytes: input.data.length * dtypeSize(dtype) };
  });
}

const utf8 = new TextEncoder();

/** The reference writer sorts names as Rust strings compare: by their UTF-8 bytes, which UTF-16 order can differ from. */
function compareUtf8(a: string, b: string): number {
  const x = utf8.encode(a);
  const y = utf8.encode(b);
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return x.length - y.length;
}

function order(planned: readonly PlannedTensor[]): PlannedTensor[] {
  return [...planned].sort(
    (a, b) => dtypeRank(b.dtype) - dtypeRank(a.dtype) || compareUtf8(a.input.name, b.input.name),
  );
}

/**
 * The 8-byte length and the JSON header exactly as the reference writer makes them: compact JSON
 * with `__metadata__` first and the tensors in data order, padded with spaces to a multiple of 8
 * bytes so every tensor's data starts aligned. Built by hand because JSON.stringify would move
 * integer-like tensor names to the front.
 */
function serializeHeader(
  ordered: readonly PlannedTensor[],
  metadata: Readonly<Record<string, string>> | undefined,
): Uint8Array {
  const parts: string[] = [];
  if (metadata) {
    const keys = Object.keys(metadata).sort();
    parts.push(`"__metadata__":{${keys.map((k) => `${JSON.stringify(k)}:${JSON.stringify(metadata[k])}`).join(',')}}`);
  }
  let offset = 0;
  for (const t of ordered) {
    const shape = `[${t.input.shape.join(',')}]`;
    parts.push(
      `${JSON.stringify(t.input.name)}:{"dtype":"${t.dtype}","shape":${shape},"data_offsets":[${offset},${offset + t.bytes}]}`,
    );
    offset += t.bytes;
  }
  const json = utf8.encode(`{${parts.join(',')}}`);
  const padded = json.byteLength + ((8 - (json.byteLength % 8)) % 8);
  const out = new Uint8Array(8 + padded).fill(0x20, 8 + json.byteLength);
  new DataView(out.buffer).setBigUint64(0, BigInt(padded), true);
  out.set(json, 8);
  return out;
}

/** Elements converted per step, so that converting a large tensor to F16 needs little extra memory. */
const CHUNK = 1 << 20;

/**
 * Writes tensors as one .safetensors file into `sink`, tensor by tensor. The layout is the
 * reference writer's: tensors sorted by dtype (widest first) then name, so the same inputs always
 * give the same bytes.
 */
export async function writeSafetensors(
  sink: ByteSink,
  inputs: readonly SafetensorsInput[],
  options: { dtype?: FloatWriteDType; metadata?: Readonly<Record<string, string>> } = {},
): Promise<void> {
  assertLittleEndianHost();
  for (const [key, value] of Object.entries(options.metadata ?? {})) {
    if (typeof value !== 'string')
      throw new MambaError(
        `${sink.name}: metadata "${key}" must be a string; safetensors metadata maps strings to strings`,
      );
  }
  const ordered = order(planSafetensors(sink.name, inputs, options.dtype));
  await sink.write(serializeHeader(ordered, options.metadata));
  for (const { input, dtype } of ordered) {
    for (let start = 0; start < input.data.length; start += CHUNK) {
      await sink.write(encodeElements(input.data, dtype, start, Math.min(CHUNK, input.data.length - start)));
    }
  }
}
