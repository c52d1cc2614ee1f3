import {
  classifierConfigJson,
  CLASSIFIER_MODEL_TYPES,
  parseClassifier,
  parseClassifierJson,
  type ClassifierInfo,
} from '../../models/classifier-schema.js';
import { patchGrid, type ImageClassifier } from '../../models/vim.js';
import { withoutInitialisation } from '../../nn/init.js';
import { writeModelFolder } from '../model-folder.js';
import { loadModuleWeights } from '../module-weights.js';
import type { ModelTypeEntry } from './types.js';

/**
 * Writes a Vim or ViT folder: config.json (model_type "vim" or "vit", the model's config, the class
 * names and the input normalisation) and model.safetensors with the reference parameter names.
 */
export async function saveVisionModel(model: ImageClassifier, folder: string, info: ClassifierInfo): Promise<string[]> {
  return await writeModelFolder(folder, model, classifierConfigJson(model, info));
}

/** Vision Mamba and its ViT baseline, as `mamba-ts train vim|vit` writes them. */
export const classifierEntry: ModelTypeEntry = {
  modelTypes: CLASSIFIER_MODEL_TYPES,
  task: 'image-classifier',
  description: 'an image classifier',
  accepts: (json) => (CLASSIFIER_MODEL_TYPES as readonly unknown[]).includes(json['model_type']),
  load: async (folder, json, source) => {
    const { model, info } = withoutInitialisation(() => parseClassifier(json, source));
    await loadModuleWeights(model, folder);
    return { task: 'image-classifier', model, ...info };
  },
  summarise: (json, source) => {
    const { network, info } = parseClassifierJson(json, source);
    const c = network.config;
    const grid = patchGrid(c.imageSize, c.patchSize, c.stride);
    const blocks =
      network.modelType === 'vim'
        ? `d_state ${network.config.dState}, expand ${network.config.expand}`
        : `${network.config.nHead} heads, MLP width ${network.config.mlpRatio * c.dModel}`;
    const names = info.classNames.length <= 12 ? ` (${info.classNames.join(', ')})` : '';
    return {
      layout: network.modelType,
      config: { ...c, classNames: info.classNames, normalisation: info.normalisation },
      sizes:
        `${c.channels}x${c.imageSize}x${c.imageSize} images, ${c.patchSize}-pixel patches at stride ${c.stride} (${grid}x${grid}), ` +
        `d_model ${c.dModel}, depth ${c.depth}, ${blocks}, ${c.numClasses} classes${names}`,
      repeated: [],
    };
  },
};
