import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import jpeg from 'jpeg-js';
import { MemorySink } from '../../src/formats/byte-source.js';
import { writeGguf } from '../../src/formats/gguf.js';
import { decodeNifti, encodeNifti, niftiLike } from '../../src/formats/nifti.js';
import { FORMATS, SHARD_INDEX, type FormatName } from './readers.js';
import { MODEL_FOLDER_TYPES, tinyModelFolders, type FolderBytes, type ModelFolderType } from './model-folders.js';

/** A valid file of one format, which the mutator starts from. */
export interface Seed {
  name: string;
  bytes: Uint8Array;
}

/** What the readers and the corpus are built from: valid files of every format and the folders beside them. */
export interface FuzzMaterial {
  /** A tiny saved model of every model type (config.json + model.safetensors). */
  folders: Record<ModelFolderType, FolderBytes>;
  /** The torch shards test/fixtures/io/mamba-orig-sharded's index points at. */
  shards: FolderBytes;
  seeds: Record<FormatName, Seed[]>;
}

const fixturePath = (path: string): string => fileURLToPath(new URL(`../../../test/fixtures/${path}`, import.meta.url));
export const fixture = (path: string): Uint8Array => new Uint8Array(readFileSync(fixturePath(path)));
const seedsOf = (...paths: string[]): Seed[] => paths.map((path) => ({ name: path, bytes: fixture(path) }));

/** An IDX file of unsigned bytes: `dims` big-endian, then the values. */
export function idxBytes(dims: number[], values: Uint8Array): Uint8Array {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header[2] = 0x08;
  header[3] = dims.length;
  dims.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([header, values]);
}

/** A tiny uint8 NIfTI on the grid of the fixture le-float32.nii.gz: the base of the NIfTI cases. */
export function tinyNifti(): Uint8Array {
  const like = decodeNifti(fixture('segmentation/le-float32.nii.gz'), 'le-float32.nii.gz');
  const values = Float32Array.from(like.data, (_, i) => i % 7);
  return encodeNifti(niftiLike(like, values, 'uint8'));
}

/** A small JPEG written by jpeg-js. */
export function tinyJpeg(): Uint8Array {
  const data = Buffer.alloc(8 * 8 * 4, 0x80);
  return new Uint8Array(jpeg.encode({ width: 8, height: 8, data }, 90).data);
}

/** A small GGUF with metadata of several types (a string list among them) and two F32 tensors. */
export async function tinyGguf(): Promise<Uint8Array> {
  const sink = new MemorySink('tiny.gguf');
  await writeGguf(
    sink,
    new Map([
      ['general.architecture', { type: 'string', value: 'mamba' }],
      ['mamba.block_count', { type: 'uint32', value: 1 }],
      ['mamba.attention.layer_norm_rms_epsilon', { type: 'float32', value: 1e-5 }],
      ['tokenizer.ggml.tokens', { type: 'array', itemType: 'string', value: ['a', 'b', 'Ġc'] }],
      ['tokenizer.ggml.token_type', { type: 'array', itemType: 'int32', value: [1, 1, 3] }],
    ]),
    [
      { name: 'token_embd.weight', shape: [3, 4], data: Float32Array.from({ length: 12 }, (_, i) => i / 4) },
      { name: 'blk.0.ssm_d', shape: [5], data: new Float32Array(5).fill(1) },
    ],
  );
  return sink.bytes();
}

export async function fuzzMaterial(): Promise<FuzzMaterial> {
  const folders = await tinyModelFolders();
  const sharded = 'io/mamba-orig-sharded';
  const shards = Object.fromEntries(
    readdirSync(fixturePath(sharded))
      .filter((f) => f !== SHARD_INDEX && f !== 'config.json')
      .map((f) => [f, fixture(`${sharded}/${f}`)]),
  );
  const idx = idxBytes(
    [3, 2, 2],
    Uint8Array.from({ length: 12 }, (_, i) => i * 20),
  );
  const nifti = tinyNifti();
  const seeds: Record<FormatName, Seed[]> = {
    safetensors: seedsOf('io/dtypes.safetensors', 'io/mixed.safetensors'),
    'shard-index': seedsOf(`${sharded}/${SHARD_INDEX}`),
    'torch-zip': seedsOf('io/torch-deflate.bin', 'io/torch-zip64.bin', 'io/mamba-orig-f16/pytorch_model.bin'),
    gguf: [{ name: 'tiny.gguf', bytes: await tinyGguf() }],
    ...(Object.fromEntries(
      MODEL_FOLDER_TYPES.map((type) => [
        `config-${type}`,
        [{ name: `${type}/config.json`, bytes: folders[type]['config.json']! }],
      ]),
    ) as Record<`config-${ModelFolderType}`, Seed[]>),
    tokenizer: [{ name: 'tokenizer.json', bytes: new TextEncoder().encode(tinyTokenizerJson()) }],
    nifti: [
      ...seedsOf('segmentation/be-int16-scaled.nii', 'segmentation/le-float32.nii.gz'),
      { name: 'uint8.nii', bytes: nifti },
    ],
    idx: [
      { name: 'images.idx3', bytes: idx },
      { name: 'images.idx3.gz', bytes: new Uint8Array(gzipSync(idx)) },
    ],
    image: [
      ...seedsOf('png/gray8.png', 'png/palette4.png', 'png/rgba8-adam7.png'),
      { name: 'tiny.jpg', bytes: tinyJpeg() },
    ],
  };
  for (const format of FORMATS) if (!seeds[format]?.length) throw new Error(`no fuzz seed for ${format}`);
  return { folders, shards, seeds };
}

/** GPT-2's byte-level alphabet: printable bytes stand for themselves, the rest for code points from 256 up. */
function byteLevelAlphabet(): string[] {
  const printable = (b: number): boolean => (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || b >= 174;
  let next = 256;
  return Array.from({ length: 256 }, (_, b) => String.fromCodePoint(printable(b) ? b : next++));
}

/** A byte-level BPE tokenizer.json of 256 byte tokens, a few merges and one special token, as tokenizers writes it. */
export function tinyTokenizerJson(): string {
  const alphabet = byteLevelAlphabet();
  const merges = ['l l', 'e ll', 'h ell', 'o r', 'w or'];
  const vocab: Record<string, number> = {};
  alphabet.forEach((token, id) => (vocab[token] = id));
  for (const merge of merges) vocab[merge.replace(' ', '')] = Object.keys(vocab).length;
  const eos = Object.keys(vocab).length;
  const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };
  return JSON.stringify({
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [
      {
        id: eos,
        content: '<|endoftext|>',
        single_word: false,
        lstrip: false,
        rstrip: false,
        normalized: false,
        special: true,
      },
    ],
    normalizer: null,
    pre_tokenizer: byteLevel,
    post_processor: null,
    decoder: byteLevel,
    model: { type: 'BPE', dropout: null, unk_token: null, fuse_unk: false, byte_fallback: false, vocab, merges },
  });
}
