import type { MambaConfig } from '../../models/mamba-config.js';
import { checkConfigAgainstWeights, MAMBA_TYPE, parseMambaConfig } from '../../models/mamba-config-json.js';
import { MambaLM } from '../../models/mamba-lm.js';
import { withoutInitialisation } from '../../nn/init.js';
import { mixerStateSize } from '../../ssm/mixer-config.js';
import { MambaError } from '../../util/errors.js';
import { openWeights } from '../checkpoint.js';
import type { ModelFiles } from '../model-files.js';
import type { LoadProgress, ModelTypeEntry } from './types.js';

export interface LoadedMamba {
  model: MambaLM;
  config: MambaConfig;
  /** Which published layout the weights were in. */
  layout: 'original' | 'transformers';
  /** The weight files read. */
  files: readonly string[];
}

/**
 * The Mamba LM a parsed config describes, filled from the folder's weights in whichever published
 * layout they are (safetensors, sharded safetensors or a PyTorch pytorch_model.bin), onto the
 * current backend, float32. Tensor by tensor, so that peak memory stays near the model's size.
 */
export async function loadMambaWeights(
  files: ModelFiles,
  config: MambaConfig,
  onProgress?: LoadProgress,
): Promise<LoadedMamba> {
  const checkpoint = await openWeights(files);
  const { layout, embedding, lmHead } = checkConfigAgainstWeights(config, checkpoint.tensors, checkpoint.source);
  if (!config.tieEmbeddings && !lmHead) {
    throw new MambaError(
      `${checkpoint.source}: the config says the head is not tied to the embedding, but there is no lm_head.weight`,
    );
  }
  const model = withoutInitialisation(() => new MambaLM(config));
  const targets = [...model.stateDict()].filter(([name]) => !(name === 'lm_head.weight' && config.tieEmbeddings));
  let done = 0;
  for (const [name, param] of targets) {
    const stored = name === 'backbone.embeddings.weight' ? embedding : name;
    const entry = checkpoint.tensors.get(stored);
    if (!entry) throw new MambaError(`${checkpoint.source}: tensor ${stored} is missing`);
    param.write(await entry.read());
    onProgress?.(++done, targets.length);
  }
  return { model, config, layout, files: checkpoint.files };
}

/** Mamba (S6) language models: transformers' model_type "mamba", or state-spaces' original layout, which has no model_type. */
export const mambaEntry: ModelTypeEntry = {
  modelTypes: [MAMBA_TYPE],
  task: 'language-model',
  description: 'a Mamba language model',
  accepts: (json) =>
    json['model_type'] === MAMBA_TYPE ||
    (json['model_type'] === undefined && (json['d_model'] !== undefined || json['n_layer'] !== undefined)),
  load: async (files, json, source, onProgress) => {
    const { model, layout } = await loadMambaWeights(files, parseMambaConfig(json, source), onProgress);
    return { task: 'language-model', model, layout };
  },
  summarise: (json, source, checkpoint) => {
    const config = parseMambaConfig(json, source);
    const { layout } = checkConfigAgainstWeights(config, checkpoint.tensors, checkpoint.source);
    return {
      layout,
      config,
      sizes: `d_model ${config.dModel}, ${config.nLayer} layers, d_inner ${config.dInner}, d_state ${config.dState}, d_conv ${config.dConv}, dt_rank ${config.dtRank}, vocab ${config.vocabSize}`,
      repeated: config.tieEmbeddings && checkpoint.tensors.has('lm_head.weight') ? ['lm_head.weight'] : [],
      tiedHead: config.tieEmbeddings,
      state: { values: config.nLayer * mixerStateSize(config), per: 'sequence' },
    };
  },
};
