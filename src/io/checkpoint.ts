import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { MambaError } from '../util/errors.js';
import { writeFileAtomic } from '../util/fs.js';
import type { FloatWriteDType, TensorEntry } from '../formats/dtypes.js';
import { openSafetensors, planSafetensors, writeSafetensors, type SafetensorsInput } from '../formats/safetensors.js';
import { openTorchCheckpoint } from '../formats/torch-zip.js';
import { fileSource, writeFileAtomicStreaming } from './files.js';

export interface Checkpoint {
  /** The folder (or the file) that was opened, as an absolute path. */
  readonly source: string;
  readonly format: 'safetensors' | 'pytorch';
  /** Absolute paths of the weight files, in the order their tensors are listed. */
  readonly files: readonly string[];
  /**
   * Every tensor by name, read lazily: `entry.read()` is async and reads only that tensor. Names
   * are as stored (original layout `backbone.embedding.weight`, transformers layout
   * `backbone.embeddings.weight`); checkConfigAgainstWeights tells which layout a checkpoint has.
   */
  readonly tensors: Map<string, TensorEntry>;
}

/** Weight files in the order transformers prefers them; the first one present is used. */
const WEIGHT_FILES = [
  'model.safetensors',
  'model.safetensors.index.json',
  'pytorch_model.bin',
  'pytorch_model.bin.index.json',
];

/**
 * Opens the weights of a checkpoint folder as published on the Hugging Face hub: one of
 * model.safetensors, model.safetensors.index.json (shards), pytorch_model.bin (torch.save zip) or
 * pytorch_model.bin.index.json (shards). A path to one such file (or to any .safetensors or
 * .bin/.pt/.pth file, or an *.index.json) opens just that. Headers are read and checked now;
 * tensor data is read when asked for.
 */
export async function openCheckpoint(path: string): Promise<Checkpoint> {
  const source = resolve(path);
  if (!existsSync(source))
    throw new MambaError(
      `${source} does not exist; pass a checkpoint folder (with model.safetensors or pytorch_model.bin) or a weights file`,
    );
  if (statSync(source).isFile()) return openWeightsFile(source, source);
  const found = WEIGHT_FILES.find((file) => existsSync(join(source, file)));
  if (!found) {
    throw new MambaError(
      `${source} holds no weights: expected one of ${WEIGHT_FILES.join(', ')}. Download the checkpoint's files into it (e.g. from state-spaces/mamba-130m or state-spaces/mamba-130m-hf)`,
    );
  }
  return openWeightsFile(source, join(source, found));
}

async function openWeightsFile(source: string, file: string): Promise<Checkpoint> {
  if (file.endsWith('.index.json')) return openIndex(source, file);
  if (file.endsWith('.safetensors')) {
    return {
      source,
      format: 'safetensors',
      files: [file],
      tensors: (await openSafetensors(await fileSource(file))).tensors,
    };
  }
  if (/\.(bin|pt|pth)$/.test(file))
    return {
      source,
      format: 'pytorch',
      files: [file],
      tensors: (await openTorchCheckpoint(await fileSource(file))).tensors,
    };
  throw new MambaError(
    `${file}: not a weights file mamba-ts knows (.safetensors, .bin, .pt, .pth or a *.index.json of shards)`,
  );
}

/**
 * A sharded checkpoint: the index's `weight_map` names each tensor's shard file. Every tensor of
 * every shard is listed (as transformers loads them), and the map must agree with the shards.
 */
async function openIndex(source: string, indexPath: string): Promise<Checkpoint> {
  let index: unknown;
  try {
    index = JSON.parse(await readFile(indexPath, 'utf8'));
  } catch (error) {
    throw new MambaError(`${indexPath}: not a JSON shard index (${(error as Error).message})`);
  }
  const weightMap = (index as { weight_map?: unknown } | null)?.weight_map;
  if (typeof weightMap !== 'object' || weightMap === null || Array.isArray(weightMap)) {
    throw new MambaError(`${indexPath}: no "weight_map" object mapping tensor names to shard files`);
  }
  const shardNames: string[] = [];
  for (const [name, file] of Object.entries(weightMap)) {
    // The index comes from the network; a shard name must not lead outside the folder.
    if (typeof file !== 'string' || file !== basename(file) || file === '..' || file === '.' || file.includes('\\')) {
      throw new MambaError(
        `${indexPath}: tensor "${name}" maps to ${JSON.stringify(file)}, which is not a file name in this folder`,
      );
    }
    if (!shardNames.includes(file)) shardNames.push(file);
  }
  if (shardNames.length === 0) throw new MambaError(`${indexPath}: the weight_map is empty`);
  const isSafetensors = indexPath.endsWith('.safetensors.index.json');
  const folder = dirname(indexPath);
  const files = shardNames.map((name) => join(folder, name));
  for (const file of files) {
    if (!existsSync(file))
      throw new MambaError(`${indexPath} lists the shard ${basename(file)}, which is missing; download it too`);
  }
  const shards = await Promise.all(
    files.map(async (file) => (isSafetensors ? openSafetensors : openTorchCheckpoint)(await fileSource(file))),
  );
  const tensors = new Map<string, TensorEntry>();
  for (const shard of shards) {
    for (const [name, entry] of shard.tensors) {
      const other = tensors.get(name);
      if (other)
        throw new MambaError(
          `${indexPath}: tensor "${name}" is stored in both ${basename(other.file)} and ${basename(entry.file)}`,
        );
      tensors.set(name, entry);
    }
  }
  for (const [name, file] of Object.entries(weightMap as Record<string, string>)) {
    const entry = tensors.get(name);
    if (!entry || basename(entry.file) !== file) {
      throw new MambaError(
        `${indexPath} says tensor "${name}" is in ${file}, but ${entry ? `it is in ${basename(entry.file)}` : 'no shard holds it'}`,
      );
    }
  }
  return { source, format: isSafetensors ? 'safetensors' : 'pytorch', files, tensors };
}

export interface SaveOptions {
  /** On-disk dtype of float tensors (default F32); a tensor's own `dtype` overrides it. */
  readonly dtype?: FloatWriteDType;
  /** Extra `__metadata__` entries; `format: "pt"` is always set, as transformers requires it. */
  readonly metadata?: Readonly<Record<string, string>>;
  /**
   * Split into shards of at most this many bytes of tensor data (a tensor larger than that gets
   * a shard of its own), in the order the tensors are given, named like transformers' (`model-00001-of-00003.safetensors`) with an index
   * `model.safetensors.index.json`. When everything fits in one shard, one plain file is written.
   */
  readonly maxShardBytes?: number;
}

/**
 * Writes tensors as `path` (which must end in .safetensors), sharded when `maxShardBytes` asks.
 * Each file is written atomically, the index last. Files of an earlier save to the same name that
 * would shadow or contradict this one (a stale index, a stale single file, stale shards) are
 * removed afterwards, as transformers' save_pretrained does. Returns the files written.
 */
export async function saveSafetensors(
  path: string,
  tensors: readonly SafetensorsInput[],
  options: SaveOptions = {},
): Promise<string[]> {
  const target = resolve(path);
  if (!target.endsWith('.safetensors'))
    throw new MambaError(`${target}: a safetensors checkpoint's file name must end in .safetensors`);
  const metadata = { ...options.metadata, format: 'pt' };
  const folder = dirname(target);
  const stem = basename(target, '.safetensors');
  const indexPath = `${target}.index.json`;
  const planned = planSafetensors(target, tensors, options.dtype);
  const limit = options.maxShardBytes;
  if (limit !== undefined && !(Number.isSafeInteger(limit) && limit > 0))
    throw new MambaError(`maxShardBytes must be a positive integer, got ${limit}`);

  const groups: SafetensorsInput[][] = [[]];
  let groupBytes = 0;
  for (const t of planned) {
    const current = groups[groups.length - 1];
    if (limit !== undefined && current.length > 0 && groupBytes + t.bytes > limit) {
      groups.push([]);
      groupBytes = 0;
    }
    groups[groups.length - 1].push({ ...t.input, dtype: t.dtype === 'I32' ? undefined : t.dtype });
    groupBytes += t.bytes;
  }

  const written: string[] = [];
  const write = (file: string, group: readonly SafetensorsInput[]): Promise<void> =>
    writeFileAtomicStreaming(file, (out) => writeSafetensors(out, group, { metadata }));
  if (groups.length === 1) {
    await write(target, groups[0]);
    written.push(target);
  } else {
    const weightMap: [string, string][] = [];
    for (const [i, group] of groups.entries()) {
      const name = `${stem}-${String(i + 1).padStart(5, '0')}-of-${String(groups.length).padStart(5, '0')}.safetensors`;
      await write(join(folder, name), group);
      written.push(join(folder, name));
      for (const t of group) weightMap.push([t.name, name]);
    }
    weightMap.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const totalSize = planned.reduce((sum, t) => sum + t.bytes, 0);
    writeFileAtomic(
      indexPath,
      `{\n  "metadata": {\n    "total_size": ${totalSize}\n  },\n  "weight_map": {\n${weightMap
        .map(([name, file]) => `    ${JSON.stringify(name)}: ${JSON.stringify(file)}`)
        .join(',\n')}\n  }\n}\n`,
    );
    written.push(indexPath);
  }
  removeStale(folder, stem, written);
  return written;
}

function removeStale(folder: string, stem: string, written: readonly string[]): void {
  const shard = new RegExp(`^${stem.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}-\\d{5}-of-\\d{5}\\.safetensors$`);
  for (const name of readdirSync(folder)) {
    const stale = name === `${stem}.safetensors` || name === `${stem}.safetensors.index.json` || shard.test(name);
    if (stale && !written.includes(join(folder, name))) rmSync(join(folder, name), { force: true });
  }
}
