import { loadMambaWeights, type LoadedMamba } from '../../load/model-types/mamba.js';
import type { LoadProgress } from '../../load/model-types/types.js';
import type { MambaConfig } from '../../models/mamba-config.js';
import { parseMambaConfig, transformersConfigJson } from '../../models/mamba-config-json.js';
import type { MambaLM } from '../../models/mamba-lm.js';
import { folderFiles } from '../folder-files.js';
import { configPath, readConfigJson, writeModelFolder } from '../model-folder.js';

export type { LoadedMamba } from '../../load/model-types/mamba.js';

/** Reads and parses config.json of either published layout from a checkpoint folder, or the config file at `path`. */
export async function readMambaConfig(path: string): Promise<MambaConfig> {
  return parseMambaConfig(readConfigJson(path), configPath(path));
}

/**
 * Loads a Mamba LM from a folder in either published layout (config.json plus safetensors,
 * sharded safetensors or a PyTorch pytorch_model.bin), onto the current backend, float32.
 * Tensor by tensor, so that peak memory stays near the model's size.
 */
export async function loadMambaLM(folder: string, onProgress?: LoadProgress): Promise<LoadedMamba> {
  return loadMambaWeights(folderFiles(folder), await readMambaConfig(folder), onProgress);
}

export interface SaveMambaOptions {
  /** On-disk float type (default F32). */
  dtype?: 'F32' | 'F16' | 'BF16';
  /** Shard the weights into files of at most this many bytes. */
  maxShardBytes?: number;
}

/**
 * Saves in the transformers layout (config.json + model.safetensors, the tied head omitted as
 * transformers does), so that MambaForCausalLM.from_pretrained loads it and PyTorch can keep
 * training. Every file is written atomically. Returns the files written.
 */
export async function saveMambaLM(model: MambaLM, folder: string, options: SaveMambaOptions = {}): Promise<string[]> {
  const torchDtype = options.dtype === 'F16' ? 'float16' : options.dtype === 'BF16' ? 'bfloat16' : 'float32';
  return await writeModelFolder(folder, model, transformersConfigJson(model.config, { torchDtype }), {
    ...(options.dtype && { dtype: options.dtype }),
    ...(options.maxShardBytes && { maxShardBytes: options.maxShardBytes }),
  });
}
