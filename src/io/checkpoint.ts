import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { MambaError } from '../util/errors.js';
import { writeFileAtomic } from '../util/fs.js';
import type { FloatWriteDType } from '../formats/dtypes.js';
import { planSafetensors, writeSafetensors, type SafetensorsInput } from '../formats/safetensors.js';
import { openIndex, openWeights, openWeightsSource, type Checkpoint } from '../load/checkpoint.js';
import { fileSource, writeFileAtomicStreaming } from './files.js';
import { folderFiles } from './folder-files.js';

export type { Checkpoint } from '../load/checkpoint.js';

/**
 * Opens the weights of a checkpoint folder (see load/checkpoint.ts openWeights), or of one weights
 * file: a path to any .safetensors or .bin/.pt/.pth file, or to an *.index.json of shards, opens
 * just that. Headers are read and checked now; tensor data is read when asked for.
 */
export async function openCheckpoint(path: string): Promise<Checkpoint> {
  const source = resolve(path);
  if (!existsSync(source))
    throw new MambaError(
      `${source} does not exist; pass a checkpoint folder (with model.safetensors or pytorch_model.bin) or a weights file`,
    );
  if (!statSync(source).isFile()) return openWeights(folderFiles(source));
  if (source.endsWith('.index.json'))
    return openIndex(folderFiles(dirname(source)), basename(source), await readFile(source, 'utf8'));
  return openWeightsSource(await fileSource(source));
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
