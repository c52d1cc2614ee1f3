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
};
