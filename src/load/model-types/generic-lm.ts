import type { LanguageModel } from '../../models/language-model.js';
import { moeMambaConfigFromJson, MoEMambaLM, MOE_MAMBA_TYPE } from '../../models/moe-mamba.js';
import { transformerConfigFromJson, TransformerLM, TRANSFORMER_TYPE } from '../../models/transformer.js';
import { withoutInitialisation } from '../../nn/init.js';
import { mixerStateSize } from '../../ssm/mixer-config.js';
import { openWeights } from '../checkpoint.js';
import { fillModuleWeights } from '../module-weights.js';
import type { ModelSummary, ModelTypeEntry } from './types.js';

/**
 * The language models whose folder is their own config.json (LanguageModel.configJson) and
 * model.safetensors under the module's names: built from the config, then filled by name.
 */
function languageModelEntry<C extends object>(
  modelType: string,
  description: string,
  parse: (json: Record<string, unknown>, source: string) => C,
  build: (config: C) => LanguageModel,
  summarise: (config: C) => Omit<ModelSummary, 'layout' | 'config' | 'repeated'>,
): ModelTypeEntry {
  return {
    modelTypes: [modelType],
    task: 'language-model',
    description,
    accepts: (json) => json['model_type'] === modelType,
    load: async (files, json, source) => {
      const model = withoutInitialisation(() => build(parse(json, source)));
      await fillModuleWeights(model, await openWeights(files));
      return { task: 'language-model', model, layout: modelType };
    },
    summarise: (json, source) => {
      const config = parse(json, source);
      return { layout: modelType, config, repeated: [], ...summarise(config) };
    },
  };
}

export const moeMambaEntry = languageModelEntry(
  MOE_MAMBA_TYPE,
  'a MoE-Mamba language model',
  moeMambaConfigFromJson,
  (config) => new MoEMambaLM(config),
  ({ mamba, moe, pattern }) => {
    const mambaLayers = pattern.filter((kind) => kind === 'mamba').length;
    return {
      sizes:
        `d_model ${mamba.dModel}, ${pattern.length} layers (${mambaLayers} Mamba, ${pattern.length - mambaLayers} MoE), ` +
        `d_inner ${mamba.dInner}, d_state ${mamba.dState}, ${moe.experts} experts of width ${moe.dExpert} ` +
        `(top-${moe.topK}, capacity factor ${moe.capacityFactor}), vocab ${mamba.vocabSize}`,
      tiedHead: mamba.tieEmbeddings,
      state: { values: mambaLayers * mixerStateSize(mamba), per: 'sequence' },
    };
  },
);

export const transformerEntry = languageModelEntry(
  TRANSFORMER_TYPE,
  'a Transformer language model (the baseline)',
  transformerConfigFromJson,
  (config) => new TransformerLM(config),
  (c) => ({
    sizes: `d_model ${c.dModel}, ${c.nLayer} layers, ${c.nHead} heads, MLP width ${c.mlpRatio * c.dModel}, context ${c.maxLength} tokens, vocab ${c.vocabSize}`,
    tiedHead: true,
    // Each layer caches a key and a value of dModel values per token.
    state: { values: 2 * c.nLayer * c.dModel, per: 'token' },
  }),
);
