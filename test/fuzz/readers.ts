import { decodeImage } from '../../src/formats/images.js';
import { decodeNifti } from '../../src/formats/nifti.js';
import { openGguf } from '../../src/formats/gguf.js';
import { openSafetensors } from '../../src/formats/safetensors.js';
import { openTorchCheckpoint } from '../../src/formats/torch-zip.js';
import { bytesSource } from '../../src/formats/byte-source.js';
import type { TensorEntry } from '../../src/formats/dtypes.js';
import { readIdx } from '../../src/data/images.js';
import { openWeights } from '../../src/load/checkpoint.js';
import { memoryFiles } from '../../src/load/model-files.js';
import { loadModelFiles } from '../../src/load/registry.js';
import { tokenizerFromJson } from '../../src/load/tokenizer.js';
import { Module } from '../../src/nn/module.js';
import { MODEL_FOLDER_TYPES, type FolderBytes, type ModelFolderType } from './model-folders.js';

/** The fuzzed index's name: the shards beside it are test/fixtures/io/mamba-orig-sharded's torch zips. */
export const SHARD_INDEX = 'pytorch_model.bin.index.json';

/** Reads one file as a user's command would, all the way: every tensor, every pixel, the whole model. */
export type Reader = (bytes: Uint8Array) => Promise<unknown>;

/** Every format the fuzz suite feeds: one reader per name. */
export const FORMATS = [
  'safetensors',
  'shard-index',
  'torch-zip',
  'gguf',
  ...MODEL_FOLDER_TYPES.map((type) => `config-${type}` as const),
  'tokenizer',
  'nifti',
  'idx',
  'image',
] as const;
export type FormatName = (typeof FORMATS)[number];

/** Reads every tensor's data, so that what a header declares is really materialised. */
async function readAll(tensors: Map<string, TensorEntry>): Promise<number> {
  let elements = 0;
  for (const entry of tensors.values()) elements += (await entry.read()).length;
  return elements;
}

/**
 * The readers, given the files they need beside the fuzzed one: the shards a fuzzed index points
 * at, and the weights a fuzzed config.json of each model type is loaded with.
 */
export function fuzzReaders(
  folders: Record<ModelFolderType, FolderBytes>,
  shards: FolderBytes,
): Record<FormatName, Reader> {
  const configReader =
    (type: ModelFolderType): Reader =>
    async (bytes) => {
      const loaded = await loadModelFiles(memoryFiles({ ...folders[type], 'config.json': bytes }, `fuzz/${type}`));
      if (loaded.model instanceof Module) loaded.model.dispose();
      return loaded.task;
    };
  return {
    safetensors: async (bytes) => readAll((await openSafetensors(bytesSource(bytes, 'fuzz.safetensors'))).tensors),
    'shard-index': async (bytes) =>
      readAll((await openWeights(memoryFiles({ ...shards, [SHARD_INDEX]: bytes }, 'fuzz'))).tensors),
    'torch-zip': async (bytes) => readAll((await openTorchCheckpoint(bytesSource(bytes, 'fuzz.bin'))).tensors),
    gguf: async (bytes) => {
      const file = await openGguf(bytesSource(bytes, 'fuzz.gguf'));
      let elements = 0;
      for (const info of file.tensors.values()) elements += (await info.read()).length;
      return elements;
    },
    ...(Object.fromEntries(MODEL_FOLDER_TYPES.map((type) => [`config-${type}`, configReader(type)])) as Record<
      `config-${ModelFolderType}`,
      Reader
    >),
    tokenizer: async (bytes) => {
      const tokenizer = tokenizerFromJson(new TextDecoder().decode(bytes), null, 'fuzz/tokenizer.json');
      return tokenizer.decode(tokenizer.encode('Hello, fuzzed world! 123'));
    },
    nifti: async (bytes) => decodeNifti(bytes, 'fuzz.nii').data.length,
    idx: async (bytes) => readIdx(bytes, 'fuzz-images-idx3-ubyte').data.length,
    image: async (bytes) => decodeImage(bytes, 'fuzz-image').data.length,
  };
}
