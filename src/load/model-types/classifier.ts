import { CLASSIFIER_MODEL_TYPES, parseClassifier } from '../../models/classifier-schema.js';
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
};
