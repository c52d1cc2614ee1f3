import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { classifierConfigJson, parseClassifier, type ClassifierInfo } from '../models/classifier-schema.js';
import type { ImageClassifier, Vim } from '../models/vim.js';
import type { ViT } from '../models/vit.js';
import { withoutInitialisation } from '../nn/init.js';
import { writeFileAtomic } from '../util/fs.js';
import { readConfigJson } from './moe-mamba-model.js';
import { loadModuleWeights, saveModuleWeights } from './module-weights.js';

/** An image classifier of either kind, with what it takes to feed it images and name its outputs. */
export interface LoadedVisionModel extends ClassifierInfo {
  kind: 'vim' | 'vit';
  model: Vim | ViT;
}

/**
 * Writes a Vim or ViT folder: config.json (model_type "vim" or "vit", the model's config, the class
 * names and the input normalisation) and model.safetensors with the reference parameter names.
 */
export async function saveVisionModel(model: ImageClassifier, folder: string, info: ClassifierInfo): Promise<string[]> {
  const config = classifierConfigJson(model, info);
  mkdirSync(folder, { recursive: true });
  const weights = await saveModuleWeights(model, join(folder, 'model.safetensors'));
  const configPath = join(folder, 'config.json');
  writeFileAtomic(configPath, config);
  return [...weights, configPath];
}

/** Loads a folder written by saveVisionModel (or by `mamba-ts train vim|vit`). */
export async function loadVisionModel(folder: string): Promise<LoadedVisionModel> {
  const { model, info } = withoutInitialisation(() => parseClassifier(readConfigJson(folder), join(folder, 'config.json')));
  await loadModuleWeights(model, folder);
  return { kind: model.modelType, model, ...info };
}
