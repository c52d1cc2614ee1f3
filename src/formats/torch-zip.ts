import { MambaError } from '../util/errors.js';
import {
  assertLittleEndianHost,
  checkTensorSize,
  decodeElements,
  dtypeSize,
  isFloatDType,
  numelOf,
  type ReadArray,
  type TensorEntry,
} from './dtypes.js';
import type { ByteSource } from './byte-source.js';
import { parseTorchStateDict, type PickledTensor } from './pickle.js';
import { readZipDirectory, readZipEntry, type ZipEntry } from './zip.js';

export interface TorchCheckpoint {
  /** The source's name. */
  readonly name: string;
  /** In the state dict's order. Tensors that share a storage (a tied lm_head) are listed under each name. */
  readonly tensors: Map<string, TensorEntry>;
}

/** torch.save's data.pkl of a large model is tens of KB; this bound only stops a hostile size. */
const MAX_PICKLE_BYTES = 1 << 28;

/**
 * Opens a torch.save zip checkpoint (`pytorch_model.bin`): reads the zip directory and the
 * pickle, which describes each tensor (dtype, shape, strides, which storage record), and checks
 * that every tensor lies inside a storage record of the right size. No data is read, and
 * nothing in the pickle is executed (see pickle.ts).
 */
export async function openTorchCheckpoint(source: ByteSource): Promise<TorchCheckpoint> {
  assertLittleEndianHost();
  const entries = await readZipDirectory(source);
  const pickles = [...entries.keys()].filter((name) => /^[^/]+\/data\.pkl$/.test(name));
  if (pickles.length !== 1) {
    throw new MambaError(
      pickles.length === 0
        ? `${source.name}: a zip without <archive>/data.pkl is not a torch.save checkpoint`
        : `${source.name}: the zip holds ${pickles.length} archives (${pickles.join(', ')}); torch.save writes one`,
    );
  }
  const archive = pickles[0].slice(0, -'/data.pkl'.length);
  const byteorder = entries.get(`${archive}/byteorder`);
  // Older torch versions wrote no byteorder record, and only ever wrote little-endian data.
  if (byteorder) {
    const order = new TextDecoder().decode(await readZipEntry(source, byteorder, source.name)).trim();
    if (order === 'big')
      throw new MambaError(
        `${source.name} was saved on a big-endian machine; mamba-ts reads little-endian checkpoints only (re-save it on a little-endian machine)`,
      );
    if (order !== 'little') throw new MambaError(`${source.name}: unknown byteorder record ${JSON.stringify(order)}`);
  }
  const pickle = entries.get(pickles[0])!;
  if (pickle.size > MAX_PICKLE_BYTES)
    throw new MambaError(`${source.name}: a ${pickle.size}-byte data.pkl is too large to be a state dict`);
  const tensors = parseTorchStateDict(
    await readZipEntry(source, pickle, source.name),
    `${source.name} (${pickles[0]})`,
  );

  const out = new Map<string, TensorEntry>();
  for (const t of tensors) {
    const recordName = `${archive}/data/${t.storageKey}`;
    const record = entries.get(recordName);
    const what = `${source.name}: tensor "${t.name}"`;
    if (!record)
      throw new MambaError(
        `${what}: its storage record ${recordName} is missing from the archive; the file is damaged`,
      );
    const itemSize = dtypeSize(t.dtype);
    if (record.size !== t.storageNumel * itemSize) {
      throw new MambaError(
        `${what}: storage ${recordName} should hold ${t.storageNumel} ${t.dtype} elements (${t.storageNumel * itemSize} bytes) but has ${record.size} bytes`,
      );
    }
    const last = lastElement(t);
    if (last >= t.storageNumel) {
      throw new MambaError(
        `${what}: size [${t.shape.join(', ')}], stride [${t.stride.join(', ')}] at offset ${t.storageOffset} reach element ${last} of a storage of ${t.storageNumel}`,
      );
    }
    // read() copies the view out, so a stride-0 view of one stored element with a huge shape
    // would allocate its full size: it is held to the limits like any other tensor.
    checkTensorSize(numelOf(t.shape), (last - t.storageOffset + 1) * itemSize, what);
    out.set(t.name, {
      name: t.name,
      dtype: t.dtype,
      shape: t.shape,
      file: source.name,
      read: () => readTensor(source, record, t, what),
    });
  }
  return { name: source.name, tensors: out };
}

/** The largest storage index the tensor touches (strides are non-negative), or -1 when it is empty. */
function lastElement(t: PickledTensor): number {
  if (numelOf(t.shape) === 0) return -1;
  return t.shape.reduce((last, size, i) => last + (size - 1) * t.stride[i], t.storageOffset);
}

async function readTensor(source: ByteSource, record: ZipEntry, t: PickledTensor, what: string): Promise<ReadArray> {
  const numel = numelOf(t.shape);
  if (numel === 0) return isFloatDType(t.dtype) ? new Float32Array(0) : new Int32Array(0);
  const itemSize = dtypeSize(t.dtype);
  const span = lastElement(t) - t.storageOffset + 1;
  const bytes = await readZipEntry(source, record, what, t.storageOffset * itemSize, span * itemSize);
  const values = decodeElements(bytes, t.dtype, what);
  return isRowMajor(t.shape, t.stride) ? values : gather(values, t.shape, t.stride);
}

/** Whether the strides are those of a contiguous row-major tensor (a size-1 dimension's stride is free). */
function isRowMajor(shape: readonly number[], stride: readonly number[]): boolean {
  let expected = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    if (shape[d] !== 1 && stride[d] !== expected) return false;
    expected *= shape[d];
  }
  return true;
}

/** Copies a strided view (transposed, sliced, or broadcast with stride 0) into a row-major array. */
function gather(values: ReadArray, shape: readonly number[], stride: readonly number[]): ReadArray {
  const numel = numelOf(shape);
  const out = values instanceof Float32Array ? new Float32Array(numel) : new Int32Array(numel);
  const rank = shape.length;
  const index = new Array<number>(rank).fill(0);
  let source = 0;
  for (let i = 0; i < numel; i++) {
    out[i] = values[source];
    for (let d = rank - 1; d >= 0; d--) {
      index[d]++;
      source += stride[d];
      if (index[d] < shape[d]) break;
      source -= stride[d] * shape[d];
      index[d] = 0;
    }
  }
  return out;
}
