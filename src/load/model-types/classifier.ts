import {
  buildClassifier,
  CLASSIFIER_MODEL_TYPES,
  parseClassifierJson,
  type ClassifierNetwork,
} from '../../models/classifier-schema.js';
import { mixerParameters } from '../../models/mamba-config-json.js';
import { patchGrid, vimMixerConfig } from '../../models/vim.js';
import { checkWeightExtent, type WeightExtent } from '../weight-extent.js';
import { withoutInitialisation } from '../../nn/init.js';
import { openWeights } from '../checkpoint.js';
import { fillModuleWeights } from '../module-weights.js';
import type { ModelTypeEntry } from './types.js';

/** The widths and depth of a Vim or ViT as its weights hold them. */
function classifierExtent(network: ClassifierNetwork): WeightExtent {
  const c = network.config;
  const grid = patchGrid(c.imageSize, c.patchSize, c.stride);
  const image: WeightExtent['shapes'] = [
    ['patch_embed.proj.weight', [c.dModel, c.channels, c.patchSize, c.patchSize]],
    ['pos_embed', [1, grid * grid + 1, c.dModel]],
    ['head.weight', [c.numClasses, c.dModel]],
  ];
  if (network.modelType === 'vim') {
    return {
      shapes: [...image, ...mixerParameters('layers.0.mixer.', vimMixerConfig(network.config))],
      parts: [{ what: 'layers', count: c.depth, prefix: (i) => `layers.${i}.` }],
    };
  }
  return {
    shapes: [...image, ['blocks.0.mlp.fc1.weight', [network.config.mlpRatio * c.dModel, c.dModel]]],
    parts: [{ what: 'blocks', count: c.depth, prefix: (i) => `blocks.${i}.` }],
  };
}

/** Vision Mamba and its ViT baseline, as `mamba-ts train vim|vit` writes them. */
export const classifierEntry: ModelTypeEntry = {
  modelTypes: CLASSIFIER_MODEL_TYPES,
  task: 'image-classifier',
  description: 'an image classifier',
  accepts: (json) => (CLASSIFIER_MODEL_TYPES as readonly unknown[]).includes(json['model_type']),
  load: async (files, json, source) => {
    const { network, info } = parseClassifierJson(json, source);
    const checkpoint = await openWeights(files);
    checkWeightExtent(classifierExtent(network), checkpoint, source);
    const model = withoutInitialisation(() => buildClassifier(network));
    await fillModuleWeights(model, checkpoint);
    return { task: 'image-classifier', model, ...info };
  },
  summarise: (json, source, checkpoint) => {
    const { network, info } = parseClassifierJson(json, source);
    checkWeightExtent(classifierExtent(network), checkpoint, source);
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
