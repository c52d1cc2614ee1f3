import {
  buildSegmentationNetwork,
  parseSegmentationInfo,
  SEGMENTATION_MODEL_TYPES,
} from '../../models/segmentation-schema.js';
import { withoutInitialisation } from '../../nn/init.js';
import { MambaError } from '../../util/errors.js';
import { openWeights } from '../checkpoint.js';
import { fillModuleWeights } from '../module-weights.js';
import type { ModelTypeEntry } from './types.js';

/** U-Mamba and its U-Net baseline, as `mamba-ts train umamba|unet` writes them. */
export const segmentationEntry: ModelTypeEntry = {
  modelTypes: SEGMENTATION_MODEL_TYPES,
  task: 'segmentation',
  description: 'a segmentation network',
  accepts: (json) => (SEGMENTATION_MODEL_TYPES as readonly unknown[]).includes(json['model_type']),
  load: async (files, json, source) => {
    const info = parseSegmentationInfo(json, source);
    const net = withoutInitialisation(() => buildSegmentationNetwork(info.network));
    if (net.divisor !== info.preprocessing.divisor)
      throw new MambaError(
        `${source}: the preprocessing divisor ${info.preprocessing.divisor} does not match the network's ${net.divisor}`,
      );
    await fillModuleWeights(net, await openWeights(files));
    net.eval();
    return { task: 'segmentation', model: net, info };
  },
  summarise: (json, source) => {
    const info = parseSegmentationInfo(json, source);
    const { network, classNames, preprocessing } = info;
    const c = network.config;
    const blocks =
      network.type === 'umamba'
        ? `U-Mamba_${network.config.variant === 'bot' ? 'Bot' : 'Enc'}, Mamba layers (d_state ${network.config.dState}) after stage${network.config.mambaStages.length > 1 ? 's' : ''} ${network.config.mambaStages.join(', ')}`
        : `U-Net, ${network.config.convsPerStage} convolutions per stage`;
    const names = classNames.length <= 12 ? ` (${classNames.join(', ')})` : '';
    return {
      layout: network.type,
      config: info,
      sizes:
        `${blocks}, ${c.features.length} stages of ${c.features.join(', ')} channels, ${c.inChannels} input channel${c.inChannels > 1 ? 's' : ''}, ` +
        `${c.classes} classes${names}; inputs ${preprocessing.normalisation}-normalised and scaled by ${preprocessing.scale}`,
      repeated: [],
    };
  },
};
