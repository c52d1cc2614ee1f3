import {
  buildSegmentationNetwork,
  parseSegmentationInfo,
  SEGMENTATION_MODEL_TYPES,
  type SegmentationNetworkSpec,
} from '../../models/segmentation-schema.js';
import { mixerParameters } from '../../models/mamba-config-json.js';
import { mambaMixerConfig } from '../../ssm/mixer-config.js';
import { checkWeightExtent, type WeightExtent } from '../weight-extent.js';
import { withoutInitialisation } from '../../nn/init.js';
import { MambaError } from '../../util/errors.js';
import { openWeights } from '../checkpoint.js';
import { fillModuleWeights } from '../module-weights.js';
import type { ModelTypeEntry } from './types.js';

/** The stages, blocks and widths of a U-Net or U-Mamba as its weights hold them. */
function segmentationExtent(spec: SegmentationNetworkSpec): WeightExtent {
  const { features, inChannels } = spec.config;
  const stages = { what: 'encoder stages', count: features.length, prefix: (s: number) => `encoder.${s}.` };
  const below = (s: number) => (s === 0 ? inChannels : features[s - 1]!);
  if (spec.type === 'unet') {
    return {
      shapes: features.map((f, s) => [`encoder.${s}.convs.0.conv.weight`, [f, below(s), 3, 3]] as const),
      parts: [
        stages,
        { what: 'convolutions per stage', count: spec.config.convsPerStage, prefix: (i) => `encoder.0.convs.${i}.` },
      ],
    };
  }
  const { encoderBlocks, decoderBlocks, mambaStages, dState, dConv, expand } = spec.config;
  return {
    shapes: [
      ...features.map((f, s) => [`encoder.${s}.blocks.0.conv1.weight`, [f, below(s), 3, 3]] as const),
      ...mambaStages.flatMap((s) =>
        mixerParameters(`encoder.${s}.mamba.mamba.`, mambaMixerConfig({ dModel: features[s]!, dState, dConv, expand })),
      ),
    ],
    parts: [
      stages,
      { what: 'decoder stages', count: decoderBlocks.length, prefix: (j) => `decoder.${j}.` },
      ...encoderBlocks.map((count, s) => ({
        what: `blocks in encoder stage ${s}`,
        count,
        prefix: (i: number) => `encoder.${s}.blocks.${i}.`,
      })),
      ...decoderBlocks.map((count, j) => ({
        what: `blocks in decoder stage ${j}`,
        count,
        prefix: (i: number) => `decoder.${j}.blocks.${i}.`,
      })),
    ],
  };
}

/** U-Mamba and its U-Net baseline, as `mamba-ts train umamba|unet` writes them. */
export const segmentationEntry: ModelTypeEntry = {
  modelTypes: SEGMENTATION_MODEL_TYPES,
  task: 'segmentation',
  description: 'a segmentation network',
  accepts: (json) => (SEGMENTATION_MODEL_TYPES as readonly unknown[]).includes(json['model_type']),
  load: async (files, json, source) => {
    const info = parseSegmentationInfo(json, source);
    const checkpoint = await openWeights(files);
    checkWeightExtent(segmentationExtent(info.network), checkpoint, source);
    const net = withoutInitialisation(() => buildSegmentationNetwork(info.network));
    if (net.divisor !== info.preprocessing.divisor)
      throw new MambaError(
        `${source}: the preprocessing divisor ${info.preprocessing.divisor} does not match the network's ${net.divisor}`,
      );
    await fillModuleWeights(net, checkpoint);
    net.eval();
    return { task: 'segmentation', model: net, info };
  },
  summarise: (json, source, checkpoint) => {
    const info = parseSegmentationInfo(json, source);
    checkWeightExtent(segmentationExtent(info.network), checkpoint, source);
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
