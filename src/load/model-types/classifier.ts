import { CLASSIFIER_MODEL_TYPES, parseClassifier, parseClassifierJson } from '../../models/classifier-schema.js';
import { patchGrid } from '../../models/vim.js';
import { withoutInitialisation } from '../../nn/init.js';
import { openWeights } from '../checkpoint.js';
import { fillModuleWeights } from '../module-weights.js';
import type { ModelTypeEntry } from './types.js';

/** Vision Mamba and its ViT baseline, as `mamba-ts train vim|vit` writes them. */
export const classifierEntry: ModelTypeEntry = {
  modelTypes: CLASSIFIER_MODEL_TYPES,
  task: 'image-classifier',
  description: 'an image classifier',
  accepts: (json) => (CLASSIFIER_MODEL_TYPES as readonly unknown[]).includes(json['model_type']),
  load: async (files, json, source) => {
    const { model, info } = withoutInitialisation(() => parseClassifier(json, source));
    await fillModuleWeights(model, await openWeights(files));
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
