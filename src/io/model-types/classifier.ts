import { classifierConfigJson, type ClassifierInfo } from '../../models/classifier-schema.js';
import type { ImageClassifier } from '../../models/vim.js';
import { writeModelFolder } from '../model-folder.js';

/**
 * Writes a Vim or ViT folder: config.json (model_type "vim" or "vit", the model's config, the class
 * names and the input normalisation) and model.safetensors with the reference parameter names.
 */
export async function saveVisionModel(model: ImageClassifier, folder: string, info: ClassifierInfo): Promise<string[]> {
  return await writeModelFolder(folder, model, classifierConfigJson(model, info));
}
