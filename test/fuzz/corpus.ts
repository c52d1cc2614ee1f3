import { crc32 } from '../../src/formats/crc32.js';
import { archiveBytes, bytes, PROTO2, statePickle, STOP, zip } from '../formats/torch-archive.js';
import type { FormatName } from './readers.js';
import type { FuzzMaterial } from './seeds.js';
import { idxBytes, tinyJpeg, tinyNifti } from './seeds.js';
import type { ModelFolderType } from './model-folders.js';
import { gzipOfZeros, zlibOfZeros } from './zero-streams.js';

/** What a reader must do with a file: every hostile case of the corpus must be refused cleanly. */
export type Expected = 'ok' | 'error';

/** One hostile file of issue 14, written by code, with the outcome the reader owes it. */
export interface CorpusCase {
  name: string;
  format: FormatName;
  expect: Expected;
  bytes: (material: FuzzMaterial) => Uint8Array;
}

const GIB = 2 ** 30;
const DEEP = 200_000;
const text = (s: string): Uint8Array => new TextEncoder().encode(s);
/** 200,000 nested arrays: JSON.parse and any recursive walk over the result overflow the stack. */
const deepArray = '['.repeat(DEEP) + ']'.repeat(DEEP);
/** Stands in a config for deepArray until the text is written. */
const DEEP_MARK = '"__deep__"';

/** A model type's valid config.json with `edit` applied (a returned value replaces the whole JSON). */
function config(type: ModelFolderType, edit: (json: Record<string, any>) => unknown) {
  return (material: FuzzMaterial): Uint8Array => {
    const json = JSON.parse(new TextDecoder().decode(material.folders[type]['config.json']));
    const replaced = edit(json);
    return text(JSON.stringify(replaced === undefined ? json : replaced).replace(DEEP_MARK, deepArray));
  };
}

/** Sets `fields` of a Mamba config and drops the inner width, so that the fields alone decide it. */
function inner(json: Record<string, unknown>, fields: Record<string, number>): void {
  delete json['intermediate_size'];
  delete json['d_inner'];
  Object.assign(json, fields);
}

/** A safetensors file: 8-byte header length, the header text as given, then the data. */
function safetensors(header: string, data = new Uint8Array(16)): Uint8Array {
  const head = text(header);
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(head.length));
  return Buffer.concat([length, head, data]);
}

/** The tiny tokenizer with one vocabulary entry's id replaced by `id` (raw JSON text). */
function tokenizerId(id: string) {
  return (material: FuzzMaterial): Uint8Array => {
    const spec = new TextDecoder().decode(material.seeds.tokenizer[0]!.bytes);
    return text(spec.replace('"h":', `"h":${id},"__was_h":`));
  };
}

/** A PNG chunk: length, type, data, CRC over type and data. */
function pngChunk(type: string, data: Uint8Array): Buffer {
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const frame = Buffer.alloc(4);
  frame.writeUInt32BE(data.length);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body) >>> 0);
  return Buffer.concat([frame, body, crc]);
}

/** An 8-bit grayscale PNG whose IHDR says width x height over `idat` (a zlib stream). */
function grayPng(width: number, height: number, idat: Uint8Array): Uint8Array {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth; colour type 0 (gray), deflate, filter 0, no interlace
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return Buffer.concat([signature, pngChunk('IHDR', ihdr), pngChunk('IDAT', idat), pngChunk('IEND', new Uint8Array())]);
}

/** The tiny JPEG with its frame header (SOF0) claiming width x height. */
function jpegClaiming(width: number, height: number): Uint8Array {
  const bytes = Buffer.from(tinyJpeg());
  const sof = bytes.indexOf(Buffer.from([0xff, 0xc0]));
  bytes.writeUInt16BE(height, sof + 5);
  bytes.writeUInt16BE(width, sof + 7);
  return bytes;
}

/** The tiny NIfTI's 348-byte header (+ 4 bytes of extension flag) with dim[1..3] set, little-endian. */
function niftiHeader(dims: [number, number, number]): Uint8Array {
  const header = Buffer.from(tinyNifti().subarray(0, 352));
  header.writeInt16LE(3, 40);
  dims.forEach((d, i) => header.writeInt16LE(d, 42 + 2 * i));
  return header;
}

/** A torch.save zip whose data.pkl is `pickle`, deflated (so a huge pickle is a small file). */
function torchWithPickle(pickle: Uint8Array): Uint8Array {
  return zip([
    ['archive/data.pkl', pickle, { deflate: true }],
    ['archive/byteorder', Buffer.from('little')],
    ['archive/version', Buffer.from('3\n')],
  ]);
}

/** A GGUF header: magic, version 3, the tensor and key/value counts, then `rest`. */
function ggufHeader(tensors: bigint, kvs: bigint, ...rest: Uint8Array[]): Uint8Array {
  const head = Buffer.alloc(24);
  head.write('GGUF', 0, 'latin1');
  head.writeUInt32LE(3, 4);
  head.writeBigUInt64LE(tensors, 8);
  head.writeBigUInt64LE(kvs, 16);
  return Buffer.concat([head, ...rest, Buffer.alloc(64)]);
}

export const CORPUS: readonly CorpusCase[] = [
  // --- Unbounded work from small files ---
  {
    name: 'gguf: 88 bytes claiming 2^40 key/values and 2^40 tensors',
    format: 'gguf',
    expect: 'error',
    bytes: () => ggufHeader(2n ** 40n, 2n ** 40n),
  },
  {
    name: 'gguf: a string array of 2^40 items in a 113-byte file',
    format: 'gguf',
    expect: 'error',
    bytes: () => {
      const kv = Buffer.alloc(8 + 1 + 4 + 4 + 8);
      kv.writeBigUInt64LE(1n, 0);
      kv.write('k', 8, 'latin1');
      kv.writeUInt32LE(9, 9); // array
      kv.writeUInt32LE(8, 13); // of strings
      kv.writeBigUInt64LE(2n ** 40n, 17);
      return ggufHeader(0n, 1n, kv);
    },
  },
  {
    name: 'torch: data.pkl of 20M EMPTY_DICT opcodes (a 20 KB file)',
    format: 'torch-zip',
    expect: 'error',
    bytes: () => torchWithPickle(bytes(PROTO2, Buffer.alloc(20_000_000, '}'), STOP)),
  },
  {
    name: 'torch: stride-0 tensor of 2^40 elements over an 8-element storage',
    format: 'torch-zip',
    expect: 'error',
    bytes: () => archiveBytes(statePickle({ size: [2 ** 20, 2 ** 20], stride: [0, 0] })),
  },
  {
    name: 'torch: stride-0 tensor of 3e8 elements (1.2 GB materialised)',
    format: 'torch-zip',
    expect: 'error',
    bytes: () => archiveBytes(statePickle({ size: [300_000_000], stride: [0] })),
  },
  {
    name: 'nifti: .nii.gz holding 1 GiB of zeros',
    format: 'nifti',
    expect: 'error',
    bytes: () => gzipOfZeros(niftiHeader([1024, 1024, 1024]), 352 + GIB),
  },
  {
    name: 'idx: .gz holding 1 GiB of zeros',
    format: 'idx',
    expect: 'error',
    bytes: () => gzipOfZeros(idxBytes([1024, 1024, 1024], new Uint8Array()), 16 + GIB),
  },
  {
    name: 'image: PNG of 20000x20000 zeros (400 KB)',
    format: 'image',
    expect: 'error',
    bytes: () => grayPng(20000, 20000, zlibOfZeros(new Uint8Array(), 20000 * 20001)),
  },
  {
    name: 'image: 2 KB JPEG whose header claims 10000x9999',
    format: 'image',
    expect: 'error',
    bytes: () => jpegClaiming(10000, 9999),
  },
  {
    name: 'image: PNG header width 2^24 over 9x7 pixel data',
    format: 'image',
    expect: 'error',
    bytes: () => grayPng(2 ** 24, 7, zlibOfZeros(new Uint8Array(), 7 * 10)),
  },
  // --- Deep JSON ---
  {
    name: 'safetensors: 200k-deep JSON in data_offsets',
    format: 'safetensors',
    expect: 'error',
    bytes: () => safetensors(`{"w":{"dtype":"F32","shape":[4],"data_offsets":${deepArray}}}`),
  },
  {
    name: 'shard index: 200k-deep JSON in weight_map',
    format: 'shard-index',
    expect: 'error',
    bytes: () => text(`{"metadata":{},"weight_map":{"backbone.embedding.weight":${deepArray}}}`),
  },
  {
    name: 'config: 200k-deep JSON in a field (mamba d_model)',
    format: 'config-mamba',
    expect: 'error',
    bytes: config('mamba', (json) => void (json['d_model'] = JSON.parse(DEEP_MARK))),
  },
  // --- Wrongly accepted ---
  ...(
    [
      ['a string', '"5"'],
      ['a float', '1.5'],
      ['negative', '-3'],
      ['over u32', '4294967296'],
    ] as const
  ).map(([what, id]): CorpusCase => ({
    name: `tokenizer: a vocabulary id that is ${what}`,
    format: 'tokenizer',
    expect: 'error',
    bytes: tokenizerId(id),
  })),
  {
    name: 'torch: zip with two entries of the same name',
    format: 'torch-zip',
    expect: 'error',
    bytes: () =>
      zip([
        ['archive/data.pkl', statePickle()],
        ['archive/byteorder', Buffer.from('little')],
        ['archive/data/0', new Uint8Array(Float32Array.from({ length: 8 }, (_, i) => i).buffer)],
        ['archive/data/0', new Uint8Array(Float32Array.from({ length: 8 }, (_, i) => -i).buffer)],
        ['archive/version', Buffer.from('3\n')],
      ]),
  },
  {
    name: 'safetensors: header starting with a byte order mark',
    format: 'safetensors',
    expect: 'error',
    bytes: () => safetensors('\ufeff{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}'),
  },
  {
    name: 'safetensors: float data offsets (16.0)',
    format: 'safetensors',
    expect: 'error',
    bytes: () => safetensors('{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16.0]}}'),
  },
  {
    name: 'nifti: scl_slope 3.4e38 (voxels become Infinity)',
    format: 'nifti',
    expect: 'error',
    bytes: () => {
      const file = Buffer.from(tinyNifti());
      file.writeFloatLE(3.4e38, 112);
      return file;
    },
  },
  {
    name: 'idx: images of zero size',
    format: 'idx',
    expect: 'error',
    bytes: () => idxBytes([10, 0, 0], new Uint8Array()),
  },
  // --- Model configs not validated before building ---
  {
    name: 'config: vim depth 1e6',
    format: 'config-vim',
    expect: 'error',
    bytes: config('vim', (json) => void (json['depth'] = 1e6)),
  },
  {
    name: 'config: unet convsPerStage 1e9',
    format: 'config-unet',
    expect: 'error',
    bytes: config('unet', (json) => void (json['network']['convsPerStage'] = 1e9)),
  },
  {
    name: 'config: moe-mamba experts 1e7',
    format: 'config-moe_mamba',
    expect: 'error',
    bytes: config('moe_mamba', (json) => void (json['moe']['experts'] = 1e7)),
  },
  {
    name: 'config: mamba 200k layers',
    format: 'config-mamba',
    expect: 'error',
    bytes: config('mamba', (json) => void (json['n_layer'] = json['num_hidden_layers'] = 200_000)),
  },
  {
    name: 'config: umamba encoderBlocks [1e6, 1]',
    format: 'config-umamba',
    expect: 'error',
    bytes: config('umamba', (json) => void (json['network']['encoderBlocks'] = [1e6, 1])),
  },
  {
    name: 'config: umamba encoderBlocks not an array',
    format: 'config-umamba',
    expect: 'error',
    bytes: config('umamba', (json) => void (json['network']['encoderBlocks'] = 2)),
  },
  {
    name: 'config: vit normEps -1',
    format: 'config-vit',
    expect: 'error',
    bytes: config('vit', (json) => void (json['normEps'] = -1)),
  },
  {
    name: 'config: vim normEps "NaN"',
    format: 'config-vim',
    expect: 'error',
    bytes: config('vim', (json) => void (json['normEps'] = 'NaN')),
  },
  {
    name: 'config: unet preprocessing.scale 0',
    format: 'config-unet',
    expect: 'error',
    bytes: config('unet', (json) => void (json['preprocessing']['scale'] = 0)),
  },
  {
    name: 'config: mamba expand 1e308',
    format: 'config-mamba',
    expect: 'error',
    bytes: config('mamba', (json) => void inner(json, { expand: 1e308 })),
  },
  {
    name: 'config: mamba hidden_size 2^53-1',
    format: 'config-mamba',
    expect: 'error',
    bytes: config(
      'mamba',
      (json) => void inner(json, { hidden_size: Number.MAX_SAFE_INTEGER, d_model: Number.MAX_SAFE_INTEGER }),
    ),
  },
  {
    name: 'config: mamba time_step_min > time_step_max',
    format: 'config-mamba',
    expect: 'error',
    bytes: config('mamba', (json) => void Object.assign(json, { time_step_min: 0.5, time_step_max: 0.01 })),
  },
  {
    name: 'config: transformer config.json that is null',
    format: 'config-transformer',
    expect: 'error',
    bytes: config('transformer', () => null),
  },
];
