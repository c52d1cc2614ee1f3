import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Normalisation } from '../data/images.js';
import { Vim, vimConfig, type VimConfig } from '../models/vim.js';
import { ViT, vitConfig, type VitConfig } from '../models/vit.js';
import { withoutInitialisation } from '../nn/init.js';
import { MambaError } from '../util/errors.js';
import { writeFileAtomic } from '../util/fs.js';
import { readConfigJson } from './moe-mamba-model.js';
import { loadModuleWeights, saveModuleWeights } from './module-weights.js';

/** An image classifier of either kind, with what it takes to feed it images and name its outputs. */
export interface LoadedVisionModel {
  kind: 'vim' | 'vit';
  model: Vim | ViT;
  /** Class index -> name. */
  classNames: string[];
  /** The per-channel normalisation the model was trained with. */
  normalisation: Normalisation;
}

/**
 * Writes a Vim or ViT folder: config.json (model_type "vim" or "vit", the model's config, the class
 * names and the input normalisation) and model.safetensors with the reference parameter names.
 */
export async function saveVisionModel(model: Vim | ViT, folder: string, info: { classNames: string[]; normalisation: Normalisation }): Promise<string[]> {
  if (info.classNames.length !== model.config.numClasses) {
    throw new MambaError(`saveVisionModel: ${info.classNames.length} class names for a model with ${model.config.numClasses} classes`);
  }
  mkdirSync(folder, { recursive: true });
  const weights = await saveModuleWeights(model, join(folder, 'model.safetensors'));
  const configPath = join(folder, 'config.json');
  const kind = model instanceof Vim ? 'vim' : 'vit';
  writeFileAtomic(configPath, JSON.stringify({ model_type: kind, ...model.config, classNames: info.classNames, normalisation: info.normalisation }, null, 2) + '\n');
  return [...weights, configPath];
}

function numbers(value: unknown, length: number): value is number[] {
  return Array.isArray(value) && value.length === length && value.every((v) => typeof v === 'number' && Number.isFinite(v));
}

/** Loads a folder written by saveVisionModel (or by `mamba-ts train vim|vit`). */
export async function loadVisionModel(folder: string): Promise<LoadedVisionModel> {
  const json = readConfigJson(folder);
  const source = join(folder, 'config.json');
  const { model_type: kind, classNames, normalisation, ...config } = json as Record<string, unknown> & { model_type?: unknown; classNames?: unknown; normalisation?: Normalisation };
  if (kind !== 'vim' && kind !== 'vit') {
    throw new MambaError(`${source} describes a ${typeof kind === 'string' ? `'${kind}'` : 'model without a model_type'}, not an image classifier; give a folder written by mamba-ts train vim (or vit)`);
  }
  let model: Vim | ViT;
  try {
    model = withoutInitialisation(() => (kind === 'vim' ? new Vim(vimConfig(config as unknown as VimConfig)) : new ViT(vitConfig(config as unknown as VitConfig))));
  } catch (error) {
    if (error instanceof MambaError) throw new MambaError(`${source}: ${error.message}`);
    throw error;
  }
  const classes = model.config.numClasses;
  const channels = model.config.channels;
  if (!Array.isArray(classNames) || classNames.length !== classes || !classNames.every((n) => typeof n === 'string')) {
    throw new MambaError(`${source}: "classNames" must list the names of the ${classes} classes`);
  }
  if (!normalisation || !numbers(normalisation.mean, channels) || !numbers(normalisation.std, channels) || normalisation.std.some((s) => s <= 0)) {
    throw new MambaError(`${source}: "normalisation" must hold the mean and (positive) std of each of the ${channels} input channels`);
  }
  await loadModuleWeights(model, folder);
  return { kind, model, classNames, normalisation: { mean: normalisation.mean, std: normalisation.std } };
}
