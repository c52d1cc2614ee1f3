import type { ByteSource } from '../formats/byte-source.js';
import type { TensorEntry } from '../formats/dtypes.js';
import { parseJson } from '../formats/json.js';
import { openSafetensors } from '../formats/safetensors.js';
import { openTorchCheckpoint } from '../formats/torch-zip.js';
import { MambaError } from '../util/errors.js';
import { WEIGHT_FILES } from '../util/model-repo.js';
import { locate, readTextFile, type ModelFiles } from './model-files.js';

export interface Checkpoint {
  /** The folder (or the file) that was opened: a path or a URL. */
  readonly source: string;
  readonly format: 'safetensors' | 'pytorch';
  /** The weight files (paths or URLs), in the order their tensors are listed. */
  readonly files: readonly string[];
  /**
   * Every tensor by name, read lazily: `entry.read()` is async and reads only that tensor. Names
   * are as stored (original layout `backbone.embedding.weight`, transformers layout
   * `backbone.embeddings.weight`); checkConfigAgainstWeights tells which layout a checkpoint has.
   */
  readonly tensors: Map<string, TensorEntry>;
}

/**
 * Opens the weights of a model folder as published on the Hugging Face hub: one of
 * model.safetensors, model.safetensors.index.json (shards), pytorch_model.bin (torch.save zip) or
 * pytorch_model.bin.index.json (shards). Headers are read and checked now; tensor data is read
 * when asked for.
 */
export async function openWeights(files: ModelFiles): Promise<Checkpoint> {
  for (const file of WEIGHT_FILES) {
    if (file.endsWith('.index.json')) {
      const text = await readTextFile(files, file);
      if (text !== null) return openIndex(files, file, text);
    } else {
      const source = await files.open(file);
      if (source) return { ...(await openWeightsSource(source)), source: files.name };
    }
  }
  throw new MambaError(
    `${files.name} holds no weights: expected one of ${WEIGHT_FILES.join(', ')}. Download the checkpoint's files into it (e.g. from state-spaces/mamba-130m or state-spaces/mamba-130m-hf)`,
  );
}

/** One weights file, by its name's extension: safetensors, or a torch.save zip (.bin, .pt, .pth). */
export async function openWeightsSource(source: ByteSource): Promise<Checkpoint> {
  if (source.name.endsWith('.safetensors'))
    return {
      source: source.name,
      format: 'safetensors',
      files: [source.name],
      tensors: (await openSafetensors(source)).tensors,
    };
  if (/\.(bin|pt|pth)$/.test(source.name))
    return {
      source: source.name,
      format: 'pytorch',
      files: [source.name],
      tensors: (await openTorchCheckpoint(source)).tensors,
    };
  throw new MambaError(
    `${source.name}: not a weights file mamba-ts knows (.safetensors, .bin, .pt, .pth or a *.index.json of shards)`,
  );
}

/**
 * A sharded checkpoint: the index `indexFile` (its text given) names each tensor's shard file. Every
 * tensor of every shard is listed (as transformers loads them), and the map must agree with the
 * shards.
 */
export async function openIndex(files: ModelFiles, indexFile: string, text: string): Promise<Checkpoint> {
  const indexPath = locate(files, indexFile);
  const index = parseJson(text, `${indexPath} (a shard index)`);
  const weightMap = (index as { weight_map?: unknown } | null)?.weight_map;
  if (typeof weightMap !== 'object' || weightMap === null || Array.isArray(weightMap)) {
    throw new MambaError(`${indexPath}: no "weight_map" object mapping tensor names to shard files`);
  }
  // A set, in first-mention order: a hostile index can map a million tensors to a million names.
  const named = new Set<string>();
  for (const [name, file] of Object.entries(weightMap)) {
    // The index comes from the network; a shard name must not lead outside the folder.
    if (typeof file !== 'string' || file === '' || file === '..' || file === '.' || /[/\\]/.test(file)) {
      throw new MambaError(
        `${indexPath}: tensor "${name}" maps to ${JSON.stringify(file)}, which is not a file name in this folder`,
      );
    }
    named.add(file);
  }
  const shardNames = [...named];
  if (shardNames.length === 0) throw new MambaError(`${indexPath}: the weight_map is empty`);
  const isSafetensors = indexFile.endsWith('.safetensors.index.json');
  const opened = await Promise.all(shardNames.map((name) => files.open(name)));
  const missing = shardNames.filter((_, i) => opened[i] === null);
  if (missing.length > 0)
    throw new MambaError(
      `${indexPath} lists the shard ${missing[0]}${missing.length > 1 ? ` and ${missing.length - 1} more` : ''}, which ${missing.length > 1 ? 'are' : 'is'} missing; download ${missing.length > 1 ? 'them' : 'it'} too`,
    );
  const sources = opened as ByteSource[];
  const shards = await Promise.all(
    sources.map((source) => (isSafetensors ? openSafetensors : openTorchCheckpoint)(source)),
  );
  const shardOf = new Map<string, string>();
  const tensors = new Map<string, TensorEntry>();
  shards.forEach((shard, i) => {
    for (const [name, entry] of shard.tensors) {
      const other = shardOf.get(name);
      if (other !== undefined)
        throw new MambaError(`${indexPath}: tensor "${name}" is stored in both ${other} and ${shardNames[i]}`);
      shardOf.set(name, shardNames[i]!);
      tensors.set(name, entry);
    }
  });
  for (const [name, file] of Object.entries(weightMap as Record<string, string>)) {
    const actual = shardOf.get(name);
    if (actual !== file) {
      throw new MambaError(
        `${indexPath} says tensor "${name}" is in ${file}, but ${actual !== undefined ? `it is in ${actual}` : 'no shard holds it'}`,
      );
    }
  }
  return {
    source: files.name,
    format: isSafetensors ? 'safetensors' : 'pytorch',
    files: sources.map((s) => s.name),
    tensors,
  };
}
